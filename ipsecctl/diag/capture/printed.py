"""Printed captures (placeholder until the readers land)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ipsecctl.diag.packets.reader import CaptureInfo, Segment
from ipsecctl.errors import InputFileError


def printed_segments(
    fh: BinaryIO, path: Path, info: CaptureInfo, fmt: str | None, head: bytes
) -> Iterator[Segment]:
    raise InputFileError(
        f"{path} is not a pcap or pcapng capture (magic {head[:4].hex() or 'empty'})",
        hint="write captures with tcpdump -w or dumpcap",
    )
