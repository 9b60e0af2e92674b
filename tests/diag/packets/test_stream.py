"""The streamed/parallel `diag esp --json` path must say exactly what the sequential one says.

The capture mixes what makes chunking hard: replays and reordering that straddle chunk
boundaries, an SA first seen in a later chunk, a wrong-key SA, an unknown SPI, IKE and NAT
keepalives. Both paths are run over it and the parsed documents compared field by field.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import random
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecctl.diag.packets.esp import EspCipher
from ipsecctl.diag.packets.keys import load_keys
from ipsecctl.diag.packets.report import Options, _iso, analyse, problems
from ipsecctl.diag.packets.stream import write_json
from ipsecctl.models import envelope
from tests.diag.packets.builders import frame, icmp_echo, ipv4, udp, write_capture

_K1, _K2, _A2, _K3 = (
    bytes(range(20)).hex(),
    bytes(range(16)).hex(),
    bytes(range(40, 60)).hex(),
    bytes(range(36)).hex(),
)
KEYS = f"""sas:
  - {{spi: 0x1001, dst: 172.16.2.2, encryption: aes128gcm16, enc_key: '{_K1}', integrity: null}}
  - {{spi: 0x2002, dst: 172.16.1.1, encryption: aes128, enc_key: '{_K2}', integrity: sha1,
     auth_key: '{_A2}'}}
  - {{spi: 0x3003, dst: 172.16.2.2, encryption: aes256gcm16, enc_key: '{_K3}', integrity: null}}
"""


def _capture(tmp: Path, n: int = 400, fmt: str = "pcap") -> tuple[Path, Path]:
    keys = tmp / "k.yaml"
    keys.write_text(KEYS)
    sa1, sa2, sa3 = load_keys(keys)
    c1, c2 = EspCipher(sa1), EspCipher(sa2)
    wrong = EspCipher(sa3)
    wrong._aead = type(wrong._aead)(bytes(32))  # type: ignore[misc]  # the sender's key differs
    rnd = random.Random(5)
    seqs = list(range(1, n + 1))
    for i in range(0, n - 40, 37):  # reorder within a 64-packet window
        j = i + rnd.choice((3, 20))
        seqs[i], seqs[j] = seqs[j], seqs[i]
    seqs[100], seqs[190] = seqs[190], seqs[100]  # 90 apart: one lands behind the window
    seqs[150:150] = [seqs[149], seqs[10]]  # a replay, and one too old
    frames = []
    for k, s in enumerate(seqs):
        inner = ipv4("10.1.0.1", "10.2.0.1", 1, icmp_echo(seq=s & 0xFFFF))
        frames.append(frame(1, ipv4("172.16.1.1", "172.16.2.2", 50, c1.seal(s, inner, 4))))
        if k % 9 == 0:
            back = ipv4("10.2.0.1", "10.1.0.1", 1, icmp_echo(seq=k))
            esp = c2.seal(k // 9 + 1, back, 4)
            frames.append(frame(1, ipv4("172.16.2.2", "172.16.1.1", 17, udp(4500, 4500, esp))))
        if k == 300:  # first seen late: lands in a later chunk only
            frames.append(frame(1, ipv4("172.16.1.1", "172.16.2.2", 50,
                                        wrong.seal(1, b"x" * 30, 59))))  # fmt: skip
            frames.append(frame(1, ipv4("172.16.1.1", "172.16.2.2", 50,
                                        c1.seal(7, b"y", 59)[:8] + bytes(4))))  # fmt: skip
            frames.append(frame(1, ipv4("172.16.1.1", "172.16.2.2", 17, udp(4500, 4500, b"\xff"))))
        if k == 5:
            ike = bytes(16) + bytes((33, 0x20, 34, 8)) + bytes(4) + (28).to_bytes(4, "big")
            frames.append(frame(1, ipv4("172.16.1.1", "172.16.2.2", 17, udp(500, 500, ike))))
    return write_capture(tmp / f"mix.{fmt}", 1, frames, fmt), keys


def _stream(cap: Path, keys: Path, workers: int, seg: int = 4096, **opts: Any) -> dict[str, Any]:
    """The streamed document, cut into segments of about ``seg`` bytes (many, on purpose)."""
    out = io.StringIO()
    sas = load_keys(keys)
    if workers > 1:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            write_json(cap, sas, Options(**opts), out, executor=pool, workers=workers,
                       segment_bytes=seg)  # fmt: skip
    else:
        write_json(cap, sas, Options(**opts), out, segment_bytes=seg)
    doc = json.loads(out.getvalue())
    assert doc.pop("warnings") == []
    return doc


def _want(seq: Any) -> dict[str, Any]:
    return json.loads(json.dumps(envelope("diag esp", packets=seq.packets, summary=seq.summary)))


@pytest.mark.parametrize(("workers", "seg"), [(1, 4096), (1, 1 << 20), (2, 4096), (3, 20000)])
def test_stream_equals_sequential(tmp_path: Path, workers: int, seg: int) -> None:
    cap, keys = _capture(tmp_path)
    seq = analyse(cap, load_keys(keys))
    got = _stream(cap, keys, workers, seg)
    assert got == _want(seq)
    s = got["summary"]
    assert isinstance(s, dict)
    # the capture really exercises what chunking could break
    assert s["replayed"] >= 1 and s["too_old"] >= 1 and s["icv_bad"] == 1
    assert s["ike"] == 1 and s["nat_keepalive"] == 1 and s["malformed"] >= 1
    assert problems(s) == seq.problems > 0


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_stream_window_off_and_small_window(tmp_path: Path, fmt: str) -> None:
    cap, keys = _capture(tmp_path, 200, fmt)
    for window in (0, 8):
        seq = analyse(cap, load_keys(keys), Options(replay_window=window))
        assert _stream(cap, keys, 2, replay_window=window) == _want(seq)


def test_summary_only_has_the_same_summary(tmp_path: Path) -> None:
    cap, keys = _capture(tmp_path, 300)
    out = io.StringIO()
    write_json(cap, load_keys(keys), Options(), out, summary_only=True, segment_bytes=4096)
    doc = json.loads(out.getvalue())
    assert "packets" not in doc
    assert doc["summary"] == _want(analyse(cap, load_keys(keys)))["summary"]


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_iso_cache_matches_datetime(ts: float) -> None:
    want = datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    assert _iso(ts) == want
