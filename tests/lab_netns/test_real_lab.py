"""``lab up --real``: real strongSwan and libreswan gateways managed by the product over SSH.

What the product reports is checked against the wire (ESP SPIs in a capture taken in the
gateway's namespace, read by tcpdump) and against the daemons themselves (``ipsec whack
--status`` read with plain regexes here), never against the product's own parser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab import LabHandle, start_lab
from ipsecctl.lab.libreswan import libreswan_missing, prefix
from tests.helpers import CliRun, need, run_cli

pytestmark = pytest.mark.netns
ESP_LINE = re.compile(r"ESP\(spi=0x([0-9a-f]+),seq=0x[0-9a-f]+\)")


@dataclass
class RealLab:
    handle: LabHandle
    home: Path

    def cli(self, *args: str) -> CliRun:
        return run_cli(
            "-i",
            str(self.handle.inventory_path),
            *args,
            home=self.home,
            env={"IPSECCTL_STATE_DIR": str(self.home / "state")},
            timeout=90,
        )

    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.handle.dir / "real" / "real.json").read_text())
        return data

    def ns(self, suffix: str) -> str:
        """The namespace of a pair's gateway (pair 's' strongSwan / 'l' libreswan, a|b)."""
        pre = self.record()["prefix"] + suffix[0]
        return next(
            n for n in self.record()["namespaces"] if n.startswith(pre) and n.endswith(suffix[1])
        )


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealLab]:
    from ipsecctl.lab.real import real_missing

    missing = real_missing() + libreswan_missing()
    if shutil.which("tcpdump") is None:
        missing.append("tcpdump")
    need(not missing, f"real lab prerequisites missing: {', '.join(missing)}")
    home = tmp_path_factory.mktemp("real-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IPSECCTL_STATE_DIR", str(home / "state"))
        handle = start_lab(tmp_path_factory.mktemp("real") / "lab", devices=3, real=True)
        try:
            yield RealLab(handle, home)
        finally:
            handle.stop()


def wire_spis(lab: RealLab, seconds: float = 3.5) -> set[int]:
    """ESP SPIs seen on gateway sa's WAN during ``seconds`` (tcpdump in its namespace)."""
    pcap = lab.home / f"cap-{time.monotonic_ns()}.pcap"
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            lab.ns("sa"),
            "tcpdump",
            "-U",
            "-n",
            "-i",
            "wan",
            "-w",
            str(pcap),
            "udp port 4500 or esp",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    text = subprocess.run(
        ["tcpdump", "-n", "-r", str(pcap)], capture_output=True, text=True, check=False
    ).stdout
    return {int(m.group(1), 16) for m in ESP_LINE.finditer(text)}


def test_status_lists_the_real_gateways(real: RealLab) -> None:
    st = real.cli("lab", "status", "--json")
    doc = json.loads(st.out)
    platforms = {r["name"]: r["platform"] for r in doc["routers"]}
    assert {k: platforms[k] for k in ("gw-sa", "gw-sb", "gw-la", "gw-lb")} == {
        "gw-sa": "strongswan",
        "gw-sb": "strongswan",
        "gw-la": "strongswan",
        "gw-lb": "libreswan",
    }
    assert doc["real"]["missing"] == []


def test_strongswan_gateways_polled_rekeyed_and_cleared_on_the_wire(real: RealLab) -> None:
    info = real.handle.real["strongswan"]
    peer = info["b"]
    run = real.cli("tunnels", "gw-sa", "--json")
    assert run.code == 0, run
    [tunnel] = run.json["tunnels"]
    assert tunnel["state"] == "up" and tunnel["peer"] == peer
    before = {sa["spi"] for sa in tunnel["sas"]}
    seen = wire_spis(real)
    assert seen and seen <= before  # traffic flows on the SAs the product reports
    far = real.cli("tunnels", "gw-sb", "--json").json["tunnels"]
    assert {sa["spi"] for t in far for sa in t["sas"]} == before  # mirrored

    rekey = real.cli("rekey", "gw-sa", "--peer", peer, "--yes", "--json")
    assert rekey.code == 0, rekey
    new = set(rekey.json["new_spis"])
    assert rekey.json["ok"] is True and new and not new & before
    time.sleep(1.5)
    after = wire_spis(real)
    assert after and after <= new  # the SPIs changed on the wire

    clear = real.cli("clear", "gw-sa", "--peer", peer, "--yes", "--json")
    assert clear.code == 0, clear
    assert clear.json["ok"] is True
    assert real.cli("tunnels", "gw-sa", "--json").json["tunnels"] == []
    assert wire_spis(real, 2.5) == set()


def _whack_status(real: RealLab) -> str:
    root = prefix()
    assert root is not None
    ns = real.ns("lb")
    ctl = next(Path(real.handle.dir / "real").rglob("pluto.ctl"))
    return subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            str(root / "usr/libexec/ipsec/whack"),
            "--ctlsocket",
            str(ctl),
            "--status",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def test_libreswan_gateway_ike_with_strongswan_and_its_clear(real: RealLab) -> None:
    states = re.findall(r"#(\d+): \"lab\":\d+ (STATE_V2_ESTABLISHED_IKE_SA)", _whack_status(real))
    assert states, "pluto has no IKE SA with strongSwan"
    run = real.cli("ike", "gw-lb", "--json")
    assert run.code == 0, run
    [sa] = run.json["ike_sas"]
    assert (sa["version"], sa["state"], sa["status"], sa["conn_id"]) == (
        2,
        "STATE_V2_ESTABLISHED_IKE_SA",
        "up",
        int(states[0][0]),
    )
    assert (sa["local"], sa["remote"]) == (
        real.handle.real["libreswan"]["b"],
        real.handle.real["libreswan"]["a"],
    )
    la = real.cli("ike", "gw-la", "--json").json["ike_sas"]
    assert [x["state"] for x in la] == ["ESTABLISHED"]
    peer = sa["remote"]
    clear = real.cli("clear", "gw-lb", "--peer", peer, "--yes", "--json")
    assert clear.code in (0, 1), clear
    assert clear.json["commands"] == [f"ipsec whack --deletestate {states[0][0]}"]
    assert "STATE_V2_ESTABLISHED_IKE_SA" not in _whack_status(real)


def test_down_leaves_nothing_even_after_kill_9(tmp_path: Path) -> None:
    from ipsecctl.lab.real import real_missing

    need(not real_missing(), "real lab prerequisites missing")
    home = tmp_path / "home"
    env = {"IPSECCTL_STATE_DIR": str(home / "state")}
    d = tmp_path / "lab"
    up = run_cli("lab", "up", "--dir", str(d), "-n", "2", "--real", home=home, env=env, timeout=200)
    assert up.code == 0, up
    record = json.loads((d / "real" / "real.json").read_text())
    pid = json.loads((d / "state.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    down = run_cli("lab", "down", home=home, env=env, timeout=120)
    assert down.code == 0, down
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [n for n in record["namespaces"] if n in names]
    for entry in record["pids"]:
        assert _ended(entry["pid"]), entry
    assert not d.exists()


def _ended(pid: int, wait: float = 5.0) -> bool:
    """Gone, or a zombie: the lab process that started the daemon was killed, so it is init's
    to reap, whenever init gets to it."""
    end = time.monotonic() + wait
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
