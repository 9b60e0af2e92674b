"""Network namespaces for the real lab: create, address, connect, run in, and always clean up.

Why a module of its own: the real gateways of ``ipsecctl lab up --real``, the strongSwan and
libreswan gateway pairs and the IKE probe tests all need the same thing -- a few namespaces
joined by veth pairs on addresses the host does not already use. Everything here shells out
to ``ip`` (iproute2); no sockets.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from ipsecctl.errors import UsageError
from ipsecctl.lab.errors import LabError

#: Second octets the lab may use: 10.N.0.0/16 with N in this range.
LAB_OCTETS = range(200, 251)


def prerequisites_missing() -> list[str]:
    """What stops the namespace lab here (empty when it can run); tests skip on this."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    for tool in ("ip", "unshare", "mount"):
        if shutil.which(tool) is None:
            missing.append(tool)
    return missing


def run(
    args: Sequence[str], *, check: bool = True, timeout: float = 20.0, input_: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one command; on failure raise LabError naming the command and its stderr."""
    try:
        proc = subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, input=input_, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"lab command failed: {' '.join(args)}: {exc}") from exc
    if check and proc.returncode != 0:
        raise LabError(
            f"lab command failed ({proc.returncode}): {' '.join(args)}: "
            f"{proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc


def host_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Networks configured on the host (all namespaces we can see from here: the current one)."""
    out = run(["ip", "-j", "addr"]).stdout
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for link in json.loads(out or "[]"):
        for addr in link.get("addr_info", []):
            try:
                nets.append(
                    ipaddress.ip_network(f"{addr['local']}/{addr['prefixlen']}", strict=False)
                )
            except (KeyError, ValueError):
                continue
    return nets


def overlapping(
    candidate: ipaddress.IPv4Network,
    existing: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> list[str]:
    """Host networks that overlap *candidate* (pure: used to refuse clashing lab ranges)."""
    return [str(n) for n in existing if n.version == 4 and n.overlaps(candidate)]


def pick_lab_net(
    existing: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
    rng: random.Random | None = None,
) -> ipaddress.IPv4Network:
    """A random 10.N.0.0/16 (N in 200..250) that overlaps nothing the host has."""
    rng = rng or random.Random()
    octets = list(LAB_OCTETS)
    rng.shuffle(octets)
    for n in octets:
        net = ipaddress.IPv4Network(f"10.{n}.0.0/16")
        if not overlapping(net, existing):
            return net
    raise LabError(
        "no free 10.200-250.0.0/16 range for the lab: every one overlaps a host "
        "address (see `ip -j addr`)"
    )


def check_free(net: ipaddress.IPv4Network) -> None:
    """Refuse a lab range the host already uses: traffic there would leave the lab."""
    clash = overlapping(net, host_networks())
    if clash:
        raise UsageError(
            f"lab range {net} overlaps host networks {', '.join(clash)}",
            hint="choose another range or let the lab pick one",
        )


@dataclass
class Namespaces:
    """Namespaces and links this process created, torn down in reverse by :meth:`destroy`."""

    names: list[str] = field(default_factory=list)

    def add(self, name: str) -> str:
        if name in existing_namespaces():
            raise LabError(
                f"network namespace {name} already exists",
                hint=f"remove it with `ip netns del {name}` if it is stale",
            )
        run(["ip", "netns", "add", name])
        self.names.append(name)
        self.exec(name, ["ip", "link", "set", "lo", "up"])
        return name

    def exec(
        self, ns: str, args: Sequence[str], *, check: bool = True, timeout: float = 20.0
    ) -> subprocess.CompletedProcess[str]:
        return run(["ip", "netns", "exec", ns, *args], check=check, timeout=timeout)

    def veth(self, ns_a: str, if_a: str, addr_a: str, ns_b: str, if_b: str, addr_b: str) -> None:
        """Join two namespaces with a veth pair and address both ends (CIDR strings)."""
        tmp_a, tmp_b = (
            f"v{os.getpid() % 100000}a{len(self.names)}",
            f"v{os.getpid() % 100000}b{len(self.names)}",
        )
        run(["ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b])
        try:
            run(["ip", "link", "set", tmp_a, "netns", ns_a, "name", if_a])
            run(["ip", "link", "set", tmp_b, "netns", ns_b, "name", if_b])
        except LabError:
            run(["ip", "link", "del", tmp_a], check=False)
            raise
        for ns, ifname, addr in ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)):
            self.exec(ns, ["ip", "addr", "add", addr, "dev", ifname])
            self.exec(ns, ["ip", "link", "set", ifname, "up"])

    def inside(self, ns: str, addr: str) -> None:
        """The 'inside' address of a gateway, as a /32 on lo (this kernel has no dummy links)."""
        self.exec(ns, ["ip", "addr", "add", f"{addr}/32", "dev", "lo"])

    def destroy(self) -> None:
        """Delete every namespace we made (veths die with them); never raises."""
        while self.names:
            name = self.names.pop()
            pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid), 9)
            run(["ip", "netns", "del", name], check=False)


def existing_namespaces() -> set[str]:
    out = run(["ip", "-j", "netns", "list"], check=False).stdout
    try:
        return {n["name"] for n in json.loads(out or "[]")}
    except (ValueError, KeyError, TypeError):
        return set()


def kernel_esp_missing() -> str | None:
    """Why this kernel cannot carry ESP in XFRM (None when it can).

    Probed, not guessed: an ESP state is added in a throw-away namespace. A kernel built
    without ESP (no ``CONFIG_INET_ESP``, no modules) answers "Requested type not found"; then
    daemons that need kernel ESP (libreswan) negotiate IKE but cannot install IPsec SAs, and
    strongSwan uses its user-space ESP instead.
    """
    name = f"ipsecctl-esp-probe-{os.getpid()}"
    created = run(["ip", "netns", "add", name], check=False)
    if created.returncode != 0:
        return f"cannot create a network namespace: {created.stderr.strip()}"
    try:
        proc = run(
            [
                "ip",
                "netns",
                "exec",
                name,
                "ip",
                "xfrm",
                "state",
                "add",
                "src",
                "10.0.0.1",
                "dst",
                "10.0.0.2",
                "proto",
                "esp",
                "spi",
                "0x1000",
                "mode",
                "tunnel",
                "enc",
                "cbc(aes)",
                "0x" + "00" * 16,
                "auth",
                "hmac(sha256)",
                "0x" + "00" * 32,
            ],
            check=False,
        )
        if proc.returncode == 0:
            return None
        return (
            "this kernel has no ESP for XFRM: `ip xfrm state add ... proto esp` fails with "
            f'"{proc.stderr.strip()}"'
        )
    finally:
        run(["ip", "netns", "del", name], check=False)
