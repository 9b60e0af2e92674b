"""Test-side printers: frames of a real capture printed the way the devices print them.

Used to check that a dump pasted into a ticket decodes like the capture it came from. The
layouts follow the device outputs in tests/fixtures/printed (column widths, offsets, ASCII
column); what the device prints is never produced by ipsecctl itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

Frame = tuple[float, bytes]  # (time, Ethernet frame bytes)


def _ascii(data: bytes, mask: bool = False) -> str:
    out = []
    for b in data:
        c = b & 0x7F if mask else b
        out.append(chr(c) if 32 <= c < 127 else ".")
    return "".join(out)


def ios_classic(frames: list[Frame], base: int = 0x0D98B868) -> str:
    """``show monitor capture buffer NAME dump`` (IOS 12.4-15.x), as in ios-dump-snmp.txt:
    16 bytes per line at 16-aligned addresses, the first line blank up to the packet start
    (``base`` keeps that start on a 4-byte group, as in the fixtures)."""
    lines = []
    lead = base & 0xF
    for ts, data in frames:
        dt = datetime.fromtimestamp(ts, UTC)
        lines.append(f"{dt:%H:%M:%S}.{dt.microsecond // 1000:03d} UTC {dt:%b} {dt.day} {dt:%Y}"
                     " : IPv4 LES CEF    : Gi0/0 None")  # fmt: skip
        lines.append("")
        padded = [None] * lead + list(data)
        for row in range(0, len(padded), 16):
            cells = padded[row : row + 16]
            groups = []
            for g in range(0, 16, 4):
                part = [b for b in cells[g : g + 4] if b is not None]
                groups.append(bytes(part).hex().upper().ljust(8))
            text = "".join(" " if b is None else _ascii(bytes((b,)), True) for b in cells)
            addr = (base & ~0xF) + row
            lines.append(f"{addr:08X}: {' '.join(groups)}  {text}")
        lines.append("")
    return "\n".join(lines) + "\n"


def iosxe16(frames: list[Frame]) -> str:
    """IOS-XE 16 ``show monitor capture CAP buffer dump``, as in iosxe16-dump-icmp.txt."""
    lines = []
    for i, (_ts, data) in enumerate(frames):
        lines.append(str(i))
        for off in range(0, len(data), 16):
            chunk = data[off : off + 16]
            groups = " ".join(chunk[g : g + 4].hex().upper() for g in range(0, len(chunk), 4))
            lines.append(f"  {off:04X}:  {groups.ljust(35)}   {_ascii(chunk)}")
        lines.append("")
    return "\n".join(lines) + "\n"


def asa(frames: list[Frame]) -> str:
    """ASA ``show capture NAME dump``, as in asa-dump-icmp.txt (time of day only)."""
    lines = [f"{len(frames)} packets captured", ""]
    for i, (ts, data) in enumerate(frames, 1):
        dt = datetime.fromtimestamp(ts, UTC)
        lines.append(f"{i:4d}: {dt:%H:%M:%S}.{dt.microsecond:06d}       a > b: summary")
        for off in range(0, len(data), 16):
            chunk = data[off : off + 16]
            groups = " ".join(chunk[g : g + 2].hex() for g in range(0, len(chunk), 2))
            lines.append(f"0x{off:04x} {groups.ljust(39)} {_ascii(chunk)}")
    lines.append(f"{len(frames)} packets shown")
    return "\n".join(lines) + "\n"


def wireshark_hex(frames: list[Frame]) -> str:
    """Wireshark "Copy as Hex Dump" / IOS-XE 17 dump, as in iosxe17-dump-tcp.txt."""
    lines = []
    for _ts, data in frames:
        for off in range(0, len(data), 16):
            chunk = data[off : off + 16]
            lines.append(f"{off:04x}  {' '.join(f'{b:02x}' for b in chunk).ljust(47)}   "
                         f"{_ascii(chunk)}")  # fmt: skip
        lines.append("")
    return "\n".join(lines) + "\n"


def tcpdump_xx(frames: list[Frame]) -> str:
    """``tcpdump -xx`` text: a summary line with the time, then ``\\t0x0000:  4500 0054``."""
    lines = []
    for ts, data in frames:
        dt = datetime.fromtimestamp(ts, UTC)
        lines.append(f"{dt:%H:%M:%S}.{dt.microsecond:06d} IP a > b: summary")
        for off in range(0, len(data), 16):
            chunk = data[off : off + 16]
            groups = " ".join(chunk[g : g + 2].hex() for g in range(0, len(chunk), 2))
            lines.append(f"\t0x{off:04x}:  {groups}")
    return "\n".join(lines) + "\n"


def iosxe_detailed(frames: list[Frame]) -> str:
    """IOS-XE ``buffer detailed`` with the whole frame in its hex dump (no decode lines)."""
    lines = []
    for i, (ts, data) in enumerate(frames, 1):
        n = len(data)
        lines.append(f"Frame {i}: {n} bytes on wire ({n * 8} bits), {n} bytes captured "
                     f"({n * 8} bits) on interface /tmp/epc_ws/wif_to_ts_pipe, id 0")  # fmt: skip
        lines.append("    Encapsulation type: Ethernet (1)")
        lines.append(f"    Epoch Time: {ts:.9f} seconds")
        lines.append("")
        for off in range(0, n, 16):
            chunk = data[off : off + 16]
            lines.append(f"{off:04x}  {' '.join(f'{b:02x}' for b in chunk).ljust(47)}   "
                         f"{_ascii(chunk)}")  # fmt: skip
        lines.append("")
    return "\n".join(lines) + "\n"
