"""The device lines a tunnel was built from: what an operator checks a parsed value against.

Pure: a :class:`DeviceState` keeps the texts of its poll (``raw``, command -> output); for one
tunnel this picks, per command, the block that holds its SAs (block outputs such as ``show
crypto ipsec sa``, split where each peer's block starts and chosen by the tunnel's SPIs) or
the lines that name its peer (tables and logs), with their line numbers in the output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ipsecctl.models import DeviceState, Tunnel

# where one SA / session block starts in the block outputs of each platform
_BLOCK_START = re.compile(
    r"^\s*(?:protected vrf:|Crypto map tag:|interface:|Interface:|IKEv1 SA:|IKEv2 SA:"
    r"|\S+(?:\[\d+\])?: #\d+,|\S+\{\d+\}:|\d+: IKE Peer:|IKE Peer:|Session-id:)"
)
MAX_BLOCK_LINES = 80
MAX_LOG_LINES = 40


@dataclass
class Excerpt:
    """Lines of one command's output: (1-based line number, text)."""

    command: str
    lines: list[tuple[int, str]] = field(default_factory=list)
    cut: int = 0  # lines left out (a block longer than the limit, older log lines)


def peer_pattern(peer: str) -> re.Pattern[str]:
    """The peer address as a whole token (127.0.1.4 but not 127.0.1.40; '127.0.1.4:500')."""
    return re.compile(r"(?<![\w.:])" + re.escape(peer) + r"(?![\w.]|:[0-9a-fA-F]*:)")


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) line index ranges, one per block; one range when nothing starts a block."""
    starts = [i for i, line in enumerate(lines) if _BLOCK_START.match(line)]
    if len(starts) < 2:
        return [(0, len(lines))]
    bounds = [0, *starts[1:], len(lines)] if starts[0] > 0 else [*starts, len(lines)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def _spi_words(tunnel: Tunnel) -> list[str]:
    words = []
    for spi in tunnel.spis():
        words += [f"{spi:08x}", f"{spi:x}"]
    return [w for w in words if w.strip("0")]


def tunnel_excerpts(state: DeviceState | None, tunnel: Tunnel) -> list[Excerpt]:
    """Per command of the poll, the lines about ``tunnel`` (commands with none are left out)."""
    if state is None or not state.raw or not tunnel.peer:
        return []
    peer = peer_pattern(tunnel.peer)
    spis = _spi_words(tunnel)
    local = str(tunnel.local_ts.prefix).split("/")[0] if tunnel.local_ts else None
    out = []
    for command, text in state.raw.items():
        lines = text.splitlines()
        is_log = "logging" in command or command.startswith(("show log", "journalctl"))
        ranges = [] if is_log else _blocks(lines)
        excerpt = Excerpt(command)
        if len(ranges) > 1:
            chosen = [r for r in ranges if any(peer.search(ln) for ln in lines[r[0] : r[1]])]
            if spis and len(chosen) > 1:
                by_spi = [
                    r
                    for r in chosen
                    if any(w in ln.lower() for ln in lines[r[0] : r[1]] for w in spis)
                ]
                chosen = by_spi or chosen
            if local and len(chosen) > 1:
                by_ts = [r for r in chosen if any(local in ln for ln in lines[r[0] : r[1]])]
                chosen = by_ts or chosen
            for start, end in chosen:
                keep = min(end, start + MAX_BLOCK_LINES)
                excerpt.lines += [(n + 1, lines[n]) for n in range(start, keep)]
                excerpt.cut += end - keep
        else:
            hits = [(n + 1, ln) for n, ln in enumerate(lines) if peer.search(ln)]
            limit = MAX_LOG_LINES if is_log else MAX_BLOCK_LINES
            if len(hits) > limit:  # logs: the most recent lines
                excerpt.cut = len(hits) - limit
                hits = hits[-limit:]
            excerpt.lines = hits
        if excerpt.lines:
            out.append(excerpt)
    return out


def device_outputs(state: DeviceState | None) -> list[Excerpt]:
    """Every output of the device's last poll, whole (the device screen's raw tab)."""
    if state is None or not state.raw:
        return []
    return [
        Excerpt(cmd, [(n + 1, ln) for n, ln in enumerate(text.splitlines())])
        for cmd, text in state.raw.items()
    ]
