"""The pcapng writer, the memory bound of the replay statistics, and the streamed document's
schema constant."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ipsecctl.diag.packets import replay
from ipsecctl.diag.packets.pcap import PcapngWriter, write_pcapng
from ipsecctl.diag.packets.reader import open_capture
from ipsecctl.diag.packets.replay import ReplayWindow, SaReplayStats
from tests.diag.packets.builders import frame, icmp_echo, ipv4

IP = ipv4("10.1.0.1", "10.2.0.1", 1, icmp_echo(seq=7))


def test_pcapng_writer_mixes_link_types_and_keeps_times(tmp_path: Path) -> None:
    out = tmp_path / "cap.pcapng"
    frames = [(1_700_000_000.123456, 1, frame(1, IP)), (1_700_000_001.5, 101, IP),
              (1_700_000_002.000001, 1, frame(1, IP))]  # fmt: skip
    assert write_pcapng(out, frames) == 3
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    got = list(open_capture(out))
    assert [(f.linktype, f.data) for f in got] == [(lt, d) for _, lt, d in frames]
    assert [round(f.time, 6) for f in got] == [t for t, _, _ in frames]
    assert all(f.ip is not None and f.ip.src == "10.1.0.1" for f in got)
    if shutil.which("tshark"):
        res = subprocess.run(["tshark", "-n", "-r", str(out), "-T", "fields", "-e",
                              "frame.interface_id", "-e", "icmp.seq"],
                             capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
        assert res.stdout.split("\n")[:3] == ["0\t7", "1\t7", "0\t7"]


def test_pcapng_writer_tightens_an_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "old.pcapng"
    out.write_text("old")
    out.chmod(0o644)
    with PcapngWriter(out) as w:
        w.write(1.0, 101, IP)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and w.count == 1


def test_replay_statistics_fold_old_runs_to_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other number missing: one run per packet. Past the limit the oldest runs fold,
    the gap count stays exact and memory stays at the limit."""
    monkeypatch.setattr(replay, "MAX_INTERVALS", 16)
    st = SaReplayStats(ReplayWindow(64))
    for seq in range(1, 2001, 2):  # 1, 3, 5, ... 1999: 999 gaps of one number
        st.record(seq)
    assert len(st.starts) <= 17
    ranges, missing = st.gaps()
    assert missing == 999 and ranges[:3] == [[2, 2], [4, 4], [6, 6]]
    st.record(2)  # a late packet inside a folded gap: not a duplicate, not a filled gap
    assert st.duplicates == 0 and st.untracked == 1
    st.record(1998)  # a late packet in a gap still tracked: fills it
    assert st.gaps()[1] == 998 and st.max_depth == 1


def test_stream_schema_is_the_models_schema() -> None:
    from ipsecctl.diag.packets.stream import SCHEMA
    from ipsecctl.models import SCHEMA as MODELS_SCHEMA

    assert SCHEMA == MODELS_SCHEMA


def test_json_with_write_decrypted_streams_both(tmp_path: Path) -> None:
    import json

    from tests.diag.packets.test_corpus import run_cli

    fix = Path(__file__).resolve().parents[2] / "fixtures" / "pcap"
    cap, keys = fix / "02-sunrise-sunset-esp.pcap", fix / "esp1-secrets.txt"
    out = tmp_path / "plain.pcap"
    code, stdout, stderr = run_cli(str(cap), "--keys", str(keys), "--json",
                                   "--write-decrypted", str(out))  # fmt: skip
    assert code == 0 and "wrote 8 decrypted packets" in stderr
    _, plain_run, _ = run_cli(str(cap), "--keys", str(keys), "--json")
    assert json.loads(stdout) == json.loads(plain_run)
    inner = list(open_capture(out))
    # esp1.out (tcpdump): every packet is ICMP 192.0.2.1 > 192.0.1.1 inside the tunnel
    assert len(inner) == 8 and all((f.ip.src, f.ip.dst, f.ip.proto) == ("192.0.2.1",
                                   "192.0.1.1", 1) for f in inner)  # fmt: skip
