"""Captures as ``diag capture`` reads them: a file or device output, with a platform hint.

``diag capture --from FILE -p PLATFORM`` and the device side (which holds a capture's printed
output in memory after running ``show monitor capture ... dump`` or ``show capture NAME dump``)
both come here, so a saved file and a live capture are read by the same readers.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from ipsecctl.diag.capture.formats import check_format
from ipsecctl.diag.packets.pcap import Frame
from ipsecctl.diag.packets.reader import (
    CaptureInfo,
    Segment,
    iter_segment,
    read_segments,
    stream_segments,
)

PLATFORM_FORMATS: dict[str, tuple[str, ...]] = {
    "cisco_ios": ("ios-dump", "ios-detailed"),
    "cisco_iosxe": ("ios-dump", "ios-detailed"),
    "cisco_asa": ("asa-dump", "asa-detail"),
    "strongswan": ("pcap", "pcapng", "hex"),
    "libreswan": ("pcap", "pcapng", "hex"),
}
"""Printed formats each platform prints: they win when a text fits several formats."""


def _frames(segments: Iterator[Segment]) -> Iterator[Frame]:
    for seg in segments:
        yield from iter_segment(seg)


def frames_from_file(
    path: str | Path,
    *,
    platform: str | None = None,
    fmt: str | None = None,
    info: CaptureInfo | None = None,
) -> Iterator[Frame]:
    """Frames of a capture file (pcap, pcapng or printed); InputFileError as the readers."""
    prefer = PLATFORM_FORMATS.get(platform or "", ())
    return _frames(read_segments(path, info, fmt=check_format(fmt), prefer=prefer))


def frames_from_text(
    text: str,
    *,
    label: str = "device output",
    platform: str | None = None,
    fmt: str | None = None,
    info: CaptureInfo | None = None,
) -> Iterator[Frame]:
    """Frames of a printed capture held in memory (what a device printed over SSH)."""
    prefer = PLATFORM_FORMATS.get(platform or "", ())
    fh = io.BytesIO(text.encode("utf-8", "replace"))
    segs = stream_segments(fh, Path(label), info, fmt=check_format(fmt), prefer=prefer)
    return _frames(segs)
