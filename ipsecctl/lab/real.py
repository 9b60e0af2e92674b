"""Real gateways for ``ipsecctl lab up --real``: strongSwan and libreswan in namespaces.

What it builds (root and the packages needed; otherwise it says exactly what is missing and
the simulated lab runs alone):

* ``gw-sa`` and ``gw-sb``: two strongSwan gateways (charon + swanctl), IKEv2 with ESP --
  kernel ESP where the kernel has it, charon's user-space kernel-libipsec (ESP in UDP/4500)
  otherwise -- and traffic flowing between their inside addresses (a pinger in ``gw-sa``);
* ``gw-la`` (strongSwan) and ``gw-lb`` (libreswan/pluto): a real libreswan-to-strongSwan IKEv2
  negotiation; its Child SA needs kernel ESP, so on a kernel without it the IKE SA is up and
  ``real["libreswan_esp"]`` says why no IPsec SA could be installed.

Each gateway gets its own OpenSSH server on 127.0.0.x whose sessions run in the gateway's
namespace, so the product manages them like any Linux gateway. Everything lives under the
lab's ``real/`` directory; ``real.json`` there records the namespaces and daemons the moment
they exist, so :func:`cleanup` removes them even when the lab process was killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from ipsecctl.lab.errors import LabError
from ipsecctl.lab.gateway import DeviceEndpoint
from ipsecctl.lab.libreswan import LibreswanPair, libreswan_missing
from ipsecctl.lab.netns import kernel_esp_missing, run
from ipsecctl.lab.runtime import RouterInfo
from ipsecctl.lab.sshd_gateway import sshd_missing
from ipsecctl.lab.strongswan import NetnsLab, Tunnel, strongswan_missing

RECORD = "real.json"

_TRAFFIC = r"""
import socket, struct, sys, time
src, dst = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind((src, 0))
s.settimeout(0.5)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF
seq = 0
while True:
    seq = (seq + 1) & 0xFFFF
    body = bytes(56)
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x1AB, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + body), 0x1AB, seq) + body, (dst, 0))
    try:
        s.recvfrom(2048)
    except OSError:
        pass
    time.sleep(1.0)
"""


def real_missing() -> list[str]:
    """What stops the strongSwan gateways here (empty when they can run)."""
    return strongswan_missing() + sshd_missing()


def _prefix(workdir: Path) -> str:
    """A namespace prefix unique to this lab (so clean-up never touches another lab's)."""
    return "il" + hashlib.sha256(str(workdir.resolve()).encode()).hexdigest()[:5]


class RealGateways:
    """The real gateways of one lab (see the module docstring)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pairs: list[NetnsLab] = []
        self.record: dict[str, Any] = {"namespaces": [], "pids": [], "prefix": _prefix(workdir)}

    def _save(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for pair in self.pairs:
            for ns in pair.namespaces:
                if ns not in self.record["namespaces"]:
                    self.record["namespaces"].append(ns)
            for srv in pair.servers:
                entry = {"pid": srv.proc.pid, "mark": str(srv.directory)}
                if entry not in self.record["pids"]:
                    self.record["pids"].append(entry)
        (self.workdir / RECORD).write_text(json.dumps(self.record))

    def up(self) -> tuple[list[tuple[RouterInfo, dict[str, Any]]], dict[str, Any], list[str]]:
        """Build what can be built: (inventory entries, what ``lab status`` says, the
        gateways' known_hosts lines). Never raises: a failure is reported in the info."""
        info: dict[str, Any] = {"gateways": [], "missing": real_missing()}
        gateways: list[tuple[RouterInfo, dict[str, Any]]] = []
        known: list[str] = []
        if info["missing"]:
            return gateways, info, known
        cleanup(self.workdir)  # leftovers of a lab killed in this directory
        self.workdir.mkdir(parents=True, exist_ok=True)
        no_esp = kernel_esp_missing()
        info["esp"] = "kernel-libipsec (user-space ESP in UDP/4500)" if no_esp else "kernel"
        if no_esp:
            info["kernel_esp"] = no_esp
        try:
            self._strongswan_pair(no_esp is None, gateways, info)
        except (LabError, OSError) as exc:
            info["error"] = f"strongSwan gateways: {exc}"
        lsw = libreswan_missing()
        if lsw:
            info["missing_libreswan"] = lsw
        else:
            try:
                self._libreswan_pair(no_esp, gateways, info)
            except (LabError, OSError) as exc:
                info["error_libreswan"] = f"libreswan gateway: {exc}"
        self._save()
        for pair in self.pairs:
            with contextlib.suppress(OSError):
                known += (pair.files / "known_hosts").read_text().splitlines()
        info["gateways"] = [g.name for g, _h in gateways]
        return gateways, info, known

    def _add(
        self, gateways: list[tuple[RouterInfo, dict[str, Any]]], ep: DeviceEndpoint, scenario: str
    ) -> None:
        host = ep.inventory_host(expected_up=True)
        gateways.append((RouterInfo(ep.name, ep.hostname, ep.port, ep.platform, scenario), host))

    def _strongswan_pair(
        self,
        kernel_esp: bool,
        gateways: list[tuple[RouterInfo, dict[str, Any]]],
        info: dict[str, Any],
    ) -> None:
        pair = NetnsLab(
            Tunnel(name="lab", ike_proposals="aes256-sha256-modp2048", esp_proposals="aes256gcm16"),
            prefix=self.record["prefix"] + "s",
            workdir=self.workdir,
            keep_files=False,
            kernel_esp=kernel_esp,
        )
        self.pairs.append(pair)
        pair.up()
        self._save()
        with contextlib.suppress(LabError):
            pair.initiate(timeout=10)
        for which, name in (("a", "gw-sa"), ("b", "gw-sb")):
            self._add(gateways, pair.ssh_device(which, name=name), "healthy")
        self._save()
        assert pair.a is not None and pair.b is not None
        pair.spawn(
            "a",
            [sys.executable, "-c", _TRAFFIC, pair.a.inside, pair.b.inside],
            pair.files / "traffic.log",
        )
        info["strongswan"] = {
            "a": pair.a.wan.split("/")[0],
            "b": pair.b.wan.split("/")[0],
            "inside_a": pair.a.inside_net,
            "inside_b": pair.b.inside_net,
        }

    def _libreswan_pair(
        self,
        no_esp: str | None,
        gateways: list[tuple[RouterInfo, dict[str, Any]]],
        info: dict[str, Any],
    ) -> None:
        pair = LibreswanPair(
            Tunnel(name="lab", ike_proposals="aes256-sha256-modp2048", esp_proposals="aes256gcm16"),
            prefix=self.record["prefix"] + "l",
            workdir=self.workdir,
            keep_files=False,
            kernel_esp=no_esp is None,
        )
        self.pairs.append(pair)
        pair.up()
        self._save()
        with contextlib.suppress(LabError):
            pair.initiate(timeout=10)
        self._add(gateways, pair.ssh_device("a", name="gw-la"), "healthy")
        scenario = "healthy" if no_esp is None else "no_kernel_esp"
        ep = pair.ssh_device_b("gw-lb")
        assert isinstance(ep, DeviceEndpoint)
        self._add(gateways, ep, scenario)
        self._save()
        assert pair.a is not None and pair.b is not None
        info["libreswan"] = {
            "ike": "negotiated with strongSwan (gw-la)",
            "a": pair.a.wan.split("/")[0],
            "b": pair.b.wan.split("/")[0],
        }
        if no_esp:
            info["libreswan"]["esp"] = (
                "no IPsec SA: pluto installs ESP only in the kernel, and " + no_esp
            )

    def down(self) -> None:
        for pair in reversed(self.pairs):
            pair.down()
        self.pairs.clear()
        cleanup(self.workdir)


def _kill_recorded(pid: int, mark: str) -> None:
    """Kill a recorded daemon's process group, only if it is still that daemon."""
    try:
        cmd = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return
    if mark not in cmd:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(OSError):
            os.killpg(pid, sig)


def cleanup(workdir: Path) -> None:
    """Remove the namespaces, daemons and files a lab's real gateways left (never raises)."""
    record: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        record = json.loads((workdir / RECORD).read_text())
    for entry in record.get("pids", []):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            _kill_recorded(int(entry["pid"]), str(entry["mark"]))
    names = set(record.get("namespaces", []))
    pre = record.get("prefix") or _prefix(workdir)
    with contextlib.suppress(LabError, OSError, ValueError):
        listed = json.loads(run(["ip", "-j", "netns", "list"], check=False).stdout or "[]")
        names |= {n["name"] for n in listed if str(n.get("name", "")).startswith(pre)}
    for ns in sorted(names):
        with contextlib.suppress(LabError, OSError):
            pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            run(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(workdir, ignore_errors=True)
