"""The streamed/parallel `diag esp --json` path must say exactly what the sequential one says.

The capture mixes what makes chunking hard: replays and reordering that straddle chunk
boundaries, an SA first seen in a later chunk, a wrong-key SA, an unknown SPI, IKE and NAT
keepalives. Both paths are run over it and the parsed documents compared field by field.
"""

from __future__ import annotations

import io
import itertools
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecctl.diag.packets.esp import EspCipher
from ipsecctl.diag.packets.keys import load_keys
from ipsecctl.diag.packets.report import Options, _iso, analyse, problems
from ipsecctl.diag.packets.stream import plan_chunks, write_json
from ipsecctl.models import envelope
from tests.diag.packets.builders import frame, icmp_echo, ipv4, udp, write_capture

_K1, _K2, _A2, _K3 = (bytes(range(20)).hex(), bytes(range(16)).hex(),
                      bytes(range(40, 60)).hex(), bytes(range(36)).hex())
KEYS = f"""sas:
  - {{spi: 0x1001, dst: 172.16.2.2, encryption: aes128gcm16, enc_key: '{_K1}', integrity: null}}
  - {{spi: 0x2002, dst: 172.16.1.1, encryption: aes128, enc_key: '{_K2}', integrity: sha1,
     auth_key: '{_A2}'}}
  - {{spi: 0x3003, dst: 172.16.2.2, encryption: aes256gcm16, enc_key: '{_K3}', integrity: null}}
"""


def _capture(tmp: Path, n: int = 400) -> tuple[Path, Path]:
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
    return write_capture(tmp / "mix.pcap", 1, frames), keys


def _stream(cap: Path, keys: Path, workers: int, **opts: Any) -> dict[str, Any]:
    out = io.StringIO()
    write_json(cap, load_keys(keys), Options(**opts), out, workers, min_frames=0)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_stream_equals_sequential(tmp_path: Path, workers: int) -> None:
    cap, keys = _capture(tmp_path)
    seq = analyse(cap, load_keys(keys))
    want = json.loads(json.dumps(envelope("diag esp", packets=seq.packets, summary=seq.summary)))
    got = _stream(cap, keys, workers)
    assert got == want
    s = got["summary"]
    assert isinstance(s, dict)
    # the capture really exercises what chunking could break
    assert s["replayed"] >= 1 and s["too_old"] >= 1 and s["icv_bad"] == 1
    assert s["ike"] == 1 and s["nat_keepalive"] == 1 and s["malformed"] >= 1
    assert problems(s) == seq.problems > 0


def test_stream_window_off_and_small_window(tmp_path: Path) -> None:
    cap, keys = _capture(tmp_path, 200)
    for window in (0, 8):
        seq = analyse(cap, load_keys(keys), Options(replay_window=window))
        want = json.loads(json.dumps(envelope("diag esp", packets=seq.packets,
                                              summary=seq.summary)))  # fmt: skip
        assert _stream(cap, keys, 2, replay_window=window) == want


def test_plan_chunks_cover_every_frame() -> None:
    for frames in (1, 2, 5, 99, 100_001):
        for workers in (1, 2, 4):
            runs = plan_chunks(frames, workers)
            assert runs[0][0] == 1 and runs[-1][1] >= frames
            assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(runs))


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_iso_cache_matches_datetime(ts: float) -> None:
    want = datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    assert _iso(ts) == want
