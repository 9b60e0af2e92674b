"""Capture format names accepted by ``--format`` (the readers detect them when not given)."""

from __future__ import annotations

from ipsecctl.errors import UsageError

BINARY_FORMATS = ("pcap", "pcapng")
PRINTED_FORMATS = ("ios-dump", "ios-detailed", "asa-dump", "asa-detail", "hex")
FORMATS = ("auto", *BINARY_FORMATS, *PRINTED_FORMATS)
FORMAT_CHOICES = ", ".join(FORMATS)


def check_format(fmt: str | None) -> str | None:
    """``fmt`` normalised (None or ``auto``: detect); UsageError naming the choices."""
    if fmt is None:
        return None
    norm = fmt.strip().lower().replace("_", "-")
    if norm not in FORMATS:
        raise UsageError(f"unknown capture format {fmt!r}", hint=f"one of: {FORMAT_CHOICES}")
    return None if norm == "auto" else norm
