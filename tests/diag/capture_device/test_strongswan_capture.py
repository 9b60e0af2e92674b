"""``diag capture --keys-from-device`` on real strongSwan gateways in namespaces, over SSH:
tcpdump streamed back, the keys charon prints during the capture, a re-key seen on the wire,
ESP and IKEv2 decrypted -- and tshark, given the keys the command wrote, decrypts the same
packets. Nothing is left on the gateway. (Root, strongSwan, sshd, tshark; CI=true: must.)"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

from ipsecctl.lab.gateway import DeviceEndpoint


def _ssh(ep: DeviceEndpoint, command: str) -> str:
    """A command on the gateway through its own sshd (the view the product has)."""
    proc = subprocess.run(
        ["ssh", "-i", str(ep.key_file), "-p", str(ep.port), "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={ep.known_hosts}", "-o", "StrictHostKeyChecking=yes",
         f"{ep.username}@{ep.hostname}", command],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return proc.stdout


def _tshark(pcap: Path, keys: Path, display: str, *fields: str) -> list[list[str]]:
    args = ["tshark", "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE", "-Y",
            display, "-T", "fields"]  # fmt: skip
    for f in fields:
        args += ["-e", f]
    env = {"WIRESHARK_CONFIG_DIR": str(keys), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, env=env)
    return [line.split("\t") for line in out.stdout.splitlines() if line.strip()]


def test_keys_from_charon_decrypt_a_rekey_on_the_wire(
    tmp_path: Path, netns_sshd_ok: None, netns_tshark_ok: None
) -> None:
    from ipsecctl.lab.strongswan import NetnsLab, Tunnel

    home = tmp_path / "home"
    home.mkdir()
    pcap, keys = tmp_path / "capture.pcapng", tmp_path / "keys"
    with NetnsLab(Tunnel(), prefix="ipscd") as lab:
        lab.up()
        lab.initiate()
        ep = lab.ssh_device("a")
        inventory = lab.write_inventory(which=("a",))
        assert lab.a is not None and lab.b is not None
        peer = lab.b.wan.split("/")[0]
        before = lab.list_sas("a")
        stop = threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                lab.ping(count=2)

        pinger = threading.Thread(target=traffic)
        pinger.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPSECCTL_")}
        env.update(IPSECCTL_STATE_DIR=str(home / "state"), IPSECCTL_DATA_DIR=str(home / "data"),
                   HOME=str(home), NO_COLOR="1")  # fmt: skip
        try:
            run = subprocess.run(
                [sys.executable, "-m", "ipsecctl", "-i", str(inventory), "diag", "capture",
                 "gw-a", "--peer", peer, "--seconds", "8", "--keys-from-device", "--yes",
                 "--json", "--write", str(pcap), "--write-keys", str(keys),
                 "--save-raw", str(tmp_path / "raw")],
                capture_output=True, text=True, env=env, timeout=120, cwd=home,
            )  # fmt: skip
        finally:
            stop.set()
            pinger.join()
        after = lab.list_sas("a")
        # nothing left on the gateway: no tcpdump, no drop-in, no key log, no extra level
        leftovers = _ssh(ep, "pgrep -af 'tcpdum[p]'; ls /etc/strongswan.d; ls -d /run/ipsecctl-*")
        log_b = lab.b.log.read_text(errors="replace")

    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["ok"] is True and doc["packets"] > 0
    assert leftovers.strip() == "", leftovers
    # the keys never reach the document nor the terminal
    keylines = [ln.split("=>")[0] for ln in log_b.splitlines() if "Sk_ei secret" in ln]
    assert keylines
    assert "Sk_" not in run.stdout and "Sk_" not in run.stderr
    saved = [p.read_text(errors="replace") for p in (tmp_path / "raw").rglob("*.txt")]
    assert saved and not [t for t in saved if "Sk_" in t or "initiator key" in t]

    # the re-key on the wire: CREATE_CHILD_SA exchanges, and the SPIs before and after
    spi_before = {int(s, 16) for s in _spis(before)}
    spi_after = {int(s, 16) for s in _spis(after)}
    assert spi_before and spi_after and not spi_before & spi_after
    creates = [m for m in doc["ike"] if m["exchange"] == "CREATE_CHILD_SA"]
    assert len(creates) >= 4  # IKE SA and CHILD_SA re-keys, request and response each
    by_spi = {e["spi"]: e for e in doc["esp"]}
    assert spi_after <= set(by_spi), (spi_after, by_spi.keys())
    for spi in spi_after:  # keys charon printed during the capture decrypt the new SAs
        e = by_spi[spi]
        assert e["known"] == "current" and e["packets"] > 0
        assert e["decrypted"] == e["icv_ok"] == e["packets"] and e["icv_bad"] == 0
        assert e["first_seq"] == 1
    for spi in spi_before & set(by_spi):  # the old SAs: headers only, not an error
        assert by_spi[spi]["replaced_during_capture"] is True
        assert by_spi[spi]["decrypted"] == 0
    assert not [f for f in doc["findings"] if f["severity"] in ("error", "critical")]
    # the CHILD_SA re-key (under the new IKE SA) is decrypted: its payloads are seen
    assert any(m["icv"] == "ok" and "TSi" in m["encrypted_payloads"] for m in creates)

    # the files: 0600; tshark decrypts the same ESP packets with the keys written
    assert stat.S_IMODE(pcap.stat().st_mode) == 0o600
    assert {p.name for p in keys.iterdir()} == {"esp_sa", "ikev2_decryption_table"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in keys.iterdir())
    rows = _tshark(pcap, keys, "icmp", "esp.spi")
    theirs: dict[int, int] = {}
    for (spi,) in rows:
        theirs[int(spi, 16)] = theirs.get(int(spi, 16), 0) + 1
    ours = {e["spi"]: e["decrypted"] for e in doc["esp"] if e["decrypted"]}
    assert ours and theirs == ours, (theirs, ours)
    tsi = _tshark(pcap, keys, "isakmp.exchangetype == 36 && isakmp.ts.start_ipv4", "frame.number")
    assert len(tsi) == sum(1 for m in creates if "TSi" in m["encrypted_payloads"])


def _spis(list_sas: str) -> list[str]:
    import re

    return [s for pair in re.findall(r"spi-in=([0-9a-f]{8}) spi-out=([0-9a-f]{8})", list_sas)
            for s in pair]  # fmt: skip
