"""Real strongSwan (charon + swanctl) in network namespaces: tunnels, traffic, captures, keys.

Why this shape: charon's pid file (/var/run/charon.pid) is compiled in, so two daemons on one
host need two views of /run. Each charon therefore runs under ``ip netns exec`` + ``unshare
--mount`` with a private directory bind-mounted on /run, and its own strongswan.conf through
``STRONGSWAN_CONF``. Where the kernel has no ESP (this project's test machines), charon uses
kernel-libipsec (user-space ESP, UDP-encapsulated tunnel mode only) and every connection forces
``encap = yes``.

Keys come from charon's own log (``ike 4`` prints SK_* secrets, ``chd 4`` the CHILD_SA keys)
and SPIs from ``swanctl --list-sas --raw``, so the same gateways serve the packet decoders'
tests (captures with keys) and ``ipsecctl lab up --real`` (:mod:`~ipsecctl.lab.real`), where
the product manages them over SSH like any Linux gateway. On a kernel with ESP,
``kernel_esp=True`` drops kernel-libipsec and lets charon use XFRM.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from ipsecctl.lab.errors import LabError
from ipsecctl.lab.gateway import DeviceEndpoint, expose, write_inventory
from ipsecctl.lab.netns import (
    Namespaces,
    check_free,
    existing_namespaces,
    host_networks,
    pick_lab_net,
    prerequisites_missing,
    run,
)
from ipsecctl.lab.sshd_gateway import OpenSshServer

CHARON = "/usr/lib/ipsec/charon"

PLUGINS = (
    "random nonce openssl aes sha1 sha2 md5 hmac gcm ccm ctr chapoly curve25519 gmp "
    "pem pkcs1 x509 pubkey kdf kernel-libipsec kernel-netlink socket-default vici "
    "updown xcbc cmac"
)


def strongswan_missing() -> list[str]:
    """What stops a strongSwan namespace lab here; empty when it can run."""
    missing = prerequisites_missing()
    if not Path(CHARON).exists():
        missing.append("charon (strongswan-charon)")
    if shutil.which("swanctl") is None:
        missing.append("swanctl (strongswan-swanctl)")
    if not Path("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so").exists():
        missing.append("kernel-libipsec (libcharon-extra-plugins)")
    if not Path("/dev/net/tun").exists():
        missing.append("/dev/net/tun")
    return missing


@dataclass(frozen=True)
class Tunnel:
    """One connection between the two gateways; proposals in strongSwan syntax."""

    name: str = "lab"
    version: int = 2
    ike_proposals: str = "aes256-sha256-modp2048"
    esp_proposals: str = "aes256gcm16"
    psk: str = "ipsecctl-lab-psk-not-secret"
    aggressive: bool = False
    fragmentation: str = "yes"
    """swanctl ``fragmentation``: yes | accept | force | no (RFC 7383 / IKEv1 fragments)."""
    fragment_size: int = 0
    """charon ``fragment_size`` in bytes (0: charon's default, 1280); small values force
    encrypted messages such as IKE_AUTH into several SKF fragments."""
    start_action: str = "none"
    """swanctl ``start_action`` of the CHILD_SA: none | start | trap."""


def _dropins(gw: Gateway) -> str:
    """Shell (ending in ``&&``) binding the gateway's own strongswan.d on /etc/strongswan.d in
    a private mount namespace, so a drop-in written there reaches this charon only."""
    d = gw.workdir / "strongswan.d"
    return f"{{ [ ! -d /etc/strongswan.d ] || mount --bind {d} /etc/strongswan.d; }} &&"


@dataclass
class Gateway:
    """One namespace with a charon: its addresses and private files."""

    ns: str
    wan: str
    inside: str  # address of the inside (dummy) interface
    inside_net: str
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def vici(self) -> str:
        return f"unix://{self.workdir / 'run' / 'charon.vici'}"

    @property
    def log(self) -> Path:
        return self.workdir / "charon.log"

    @property
    def conf(self) -> Path:
        return self.workdir / "strongswan.conf"


def strongswan_conf(logfile: Path, fragment_size: int = 0, kernel_esp: bool = False) -> str:
    """A charon configuration that logs the keys (ike/chd 4) and uses user-space ESP
    (kernel-libipsec), or the kernel's ESP where ``kernel_esp``."""
    frag = f"fragment_size = {fragment_size}" if fragment_size else ""
    plugins = PLUGINS.replace("kernel-libipsec ", "") if kernel_esp else PLUGINS
    return f"""charon {{
    {frag}
    load_modular = no
    load = {plugins}
    install_virtual_ip = no
    retransmit_tries = 2
    retransmit_timeout = 1.0
    filelog {{
        lab {{
            path = {logfile}
            default = 1
            ike = 4
            chd = 4
            cfg = 2
            net = 2
            flush_line = yes
            append = no
            ike_name = yes
            time_format = %H:%M:%S
        }}
    }}
    syslog {{
        daemon {{
            default = -1
        }}
    }}
    plugins {{
        kernel-libipsec {{
            allow_peer_ts = no
        }}
    }}
}}
# drop-ins, as a distribution's strongswan.conf has them (the gateway's own folder is bound
# on /etc/strongswan.d for its charon and its SSH sessions: see start_charon, ssh_device)
include /etc/strongswan.d/*.conf
"""


def swanctl_conf(
    tunnel: Tunnel,
    me: Gateway,
    peer: Gateway,
    *,
    my_id: str,
    peer_id: str,
    kernel_esp: bool = False,
) -> str:
    """A swanctl.conf for one side; both ends share the PSK and mirror the selectors."""
    aggr = "yes" if tunnel.aggressive else "no"
    return f"""connections {{
    {tunnel.name} {{
        version = {tunnel.version}
        local_addrs = {me.wan.split("/")[0]}
        remote_addrs = {peer.wan.split("/")[0]}
        proposals = {tunnel.ike_proposals}
        encap = {"no" if kernel_esp else "yes"}
        aggressive = {aggr}
        fragmentation = {tunnel.fragmentation}
        rekey_time = 0
        dpd_delay = 0
        local {{
            auth = psk
            id = {my_id}
        }}
        remote {{
            auth = psk
            id = {peer_id}
        }}
        children {{
            {tunnel.name} {{
                local_ts = {me.inside_net}
                remote_ts = {peer.inside_net}
                esp_proposals = {tunnel.esp_proposals}
                mode = tunnel
                rekey_time = 0
                start_action = {tunnel.start_action}
            }}
        }}
    }}
}}
secrets {{
    ike-lab {{
        id-a = {my_id}
        id-b = {peer_id}
        secret = "{tunnel.psk}"
    }}
}}
"""


# -- key extraction from charon's log ------------------------------------------------------

_KEY_LINE = re.compile(
    r"(Sk_\w+ secret|(?:encryption|integrity) (?:initiator|responder) key)"
    r" => (\d+) bytes"
)

_IKE_NAMES = {
    "Sk_d secret": "sk_d",
    "Sk_ai secret": "sk_ai",
    "Sk_ar secret": "sk_ar",
    "Sk_ei secret": "sk_ei",
    "Sk_er secret": "sk_er",
    "Sk_pi secret": "sk_pi",
    "Sk_pr secret": "sk_pr",
}
_CHILD_NAMES = {
    "encryption initiator key": "encr_i",
    "encryption responder key": "encr_r",
    "integrity initiator key": "integ_i",
    "integrity responder key": "integ_r",
}


def parse_key_log(text: str) -> tuple[list[dict[str, bytes]], list[dict[str, bytes]]]:
    """IKE key sets and CHILD_SA key sets, in log order, from a charon ``ike 4``/``chd 4`` log.

    charon prints each secret as ``<label> => N bytes @ 0x...`` followed by hex-dump lines; a
    new ``Sk_d`` starts a new IKE key set and a new ``encryption initiator key`` a new child.
    """
    ike: list[dict[str, bytes]] = []
    child: list[dict[str, bytes]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _KEY_LINE.search(lines[i])
        if not m:
            i += 1
            continue
        label, size = m.group(1), int(m.group(2))
        data = bytearray()
        i += 1
        while len(data) < size and i < len(lines):
            hm = re.search(r"\s\d+: ((?:[0-9A-F]{2} ){1,16})", lines[i] + " ")
            if not hm:
                break
            data += bytes.fromhex(hm.group(1).replace(" ", ""))
            i += 1
        value = bytes(data[:size])
        if label in _IKE_NAMES:
            key = _IKE_NAMES[label]
            if key == "sk_d" or not ike or key in ike[-1]:
                ike.append({})
            ike[-1][key] = value
        elif label in _CHILD_NAMES:
            key = _CHILD_NAMES[label]
            if not child or key in child[-1]:
                child.append({})
            child[-1][key] = value
    return ike, child


_PINGER = r"""
import os, socket, struct, sys, time
src, dst, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind((src, 0))
s.settimeout(2.0)
ident = os.getpid() & 0xFFFF
def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF
ok = 0
for seq in range(1, count + 1):
    body = bytes(range(8, 64))
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, seq) + body
    s.sendto(pkt, (dst, 0))
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (data[0] & 15) * 4
        t, _, _, i, q = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if t == 0 and i == ident and q == seq:
            ok += 1
            break
    time.sleep(0.1)
print(ok)
"""


def _algs(raw: str) -> dict[str, Any]:
    """encr_alg / encr_keysize / integ_alg from a ``swanctl --list-sas --raw`` fragment."""
    out: dict[str, Any] = {}
    for key in ("encr-alg", "encr-keysize", "integ-alg", "prf-alg", "dh-group"):
        m = re.search(rf"\b{key}=(\S+)", raw)
        if m:
            val: Any = m.group(1)
            out[key.replace("-", "_")] = int(val) if key == "encr-keysize" else val
    return out


# -- the lab -------------------------------------------------------------------------------


@dataclass
class Capture:
    """A running dumpcap in a namespace; stop() waits until the file is complete."""

    path: Path
    proc: subprocess.Popen[bytes]

    def stop(self, settle: float = 1.0) -> Path:
        """Finish the file. dumpcap hands packets over in blocks (libpcap's buffer timeout)
        and drops what is still in the kernel ring when interrupted, so packets sent just
        before stop() are lost unless it waits one block timeout first."""
        if self.proc.poll() is None:
            time.sleep(settle)
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.path


@dataclass
class NetnsLab:
    """Two gateways (``a`` initiates, ``b`` responds) in namespaces joined by a veth pair.

    Usage::

        with NetnsLab(Tunnel(esp_proposals="aes128-sha1")) as lab:
            lab.up(); cap = lab.capture(); lab.initiate(); lab.ping(); cap.stop(); lab.keys()

    Everything (daemons, captures, namespaces, temporary files) is removed by :meth:`down`,
    which ``__exit__`` always calls, also after a failure.
    """

    tunnel: Tunnel = field(default_factory=Tunnel)
    start_a: bool = True
    start_b: bool = True
    prefix: str = "ipsl"
    net: ipaddress.IPv4Network | None = None
    workdir: Path | None = None
    keep_files: bool = False
    kernel_esp: bool = False
    """ESP in the kernel (XFRM) instead of charon's user-space kernel-libipsec."""
    a: Gateway | None = None
    b: Gateway | None = None
    _ns: Namespaces = field(default_factory=Namespaces)
    _tmp: Path | None = None
    _captures: list[Capture] = field(default_factory=list)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _servers: list[OpenSshServer] = field(default_factory=list)
    _endpoints: dict[str, DeviceEndpoint] = field(default_factory=dict)

    def __enter__(self) -> NetnsLab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    # -- setup -----------------------------------------------------------------------------

    def up(self) -> NetnsLab:
        missing = strongswan_missing()
        if missing:
            raise LabError(
                f"strongSwan namespace lab unavailable: missing {', '.join(missing)}",
                hint="run as root with strongswan-charon, strongswan-swanctl and "
                "libcharon-extra-plugins installed",
            )
        if self.net is None:
            self.net = pick_lab_net(host_networks())
        else:
            check_free(self.net)
        base = self.net.network_address.packed[1]
        self._tmp = Path(tempfile.mkdtemp(prefix="ipsecctl-netns-", dir=self.workdir))
        taken = existing_namespaces()
        tag = f"{self.prefix}{base}"
        suffix = 0
        while f"{tag}-{suffix}a" in taken or f"{tag}-{suffix}b" in taken:
            suffix += 1
        n = f"10.{base}"
        gws = []
        for side, wan, inside, inside_net in (
            ("a", f"{n}.0.1/30", f"{n}.11.1", f"{n}.11.0/24"),
            ("b", f"{n}.0.2/30", f"{n}.12.1", f"{n}.12.0/24"),
        ):
            ns = f"{tag}-{suffix}{side}"
            wd = self._tmp / side
            (wd / "run").mkdir(parents=True)
            (wd / "swanctl").mkdir()
            (wd / "strongswan.d").mkdir()
            gws.append(Gateway(ns=ns, wan=wan, inside=inside, inside_net=inside_net, workdir=wd))
        self.a, self.b = gws
        for gw in gws:
            self._ns.add(gw.ns)
        self._ns.veth(self.a.ns, "wan", self.a.wan, self.b.ns, "wan", self.b.wan)
        for gw in gws:
            self._ns.inside(gw.ns, gw.inside)
        for gw, peer, me_id, peer_id in (
            (self.a, self.b, "a.lab", "b.lab"),
            (self.b, self.a, "b.lab", "a.lab"),
        ):
            gw.conf.write_text(strongswan_conf(gw.log, self.tunnel.fragment_size, self.kernel_esp))
            (gw.workdir / "swanctl" / "swanctl.conf").write_text(
                swanctl_conf(
                    self.tunnel, gw, peer, my_id=me_id, peer_id=peer_id, kernel_esp=self.kernel_esp
                )
            )
        if self.start_a:
            self.start_charon(self.a)
        if self.start_b:
            self.start_charon(self.b)
        return self

    def start_charon(self, gw: Gateway) -> None:
        """Start a private charon in *gw*'s namespace and load its connections."""
        run_dir = gw.workdir / "run"
        script = (
            f"mount --bind {run_dir} /run && {_dropins(gw)} "
            f"exec env STRONGSWAN_CONF={gw.conf} {CHARON}"
        )
        out = open(gw.workdir / "charon.stderr", "wb")  # noqa: SIM115 - lives with the daemon
        gw.proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                gw.ns,
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self._procs.append(gw.proc)
        deadline = time.monotonic() + 10
        sock = run_dir / "charon.vici"
        while not sock.exists():
            if gw.proc.poll() is not None or time.monotonic() > deadline:
                err = (gw.workdir / "charon.stderr").read_text(errors="replace")[-500:]
                raise LabError(f"charon did not start in {gw.ns}: {err.strip()}")
            time.sleep(0.05)
        self.swanctl(gw, "--load-all", "--file", str(gw.workdir / "swanctl" / "swanctl.conf"))

    def swanctl(
        self, gw: Gateway, command: str, *args: str, timeout: float = 20.0, check: bool = True
    ) -> str:
        """Run swanctl against *gw*'s charon (swanctl wants its command option first)."""
        proc = run(
            [
                "ip",
                "netns",
                "exec",
                gw.ns,
                "env",
                f"STRONGSWAN_CONF={gw.conf}",
                "swanctl",
                command,
                *args,
                "--uri",
                gw.vici,
            ],
            timeout=timeout,
            check=check,
        )
        return proc.stdout

    # -- actions ---------------------------------------------------------------------------

    def _gw(self, which: str) -> Gateway:
        gw = self.a if which == "a" else self.b
        if gw is None:
            raise LabError("the lab is not up: call up() first")
        return gw

    def initiate(self, child: str | None = None, timeout: int = 15) -> str:
        """Bring the tunnel up from gateway a; raises LabError if it does not establish."""
        gw = self._gw("a")
        return self.swanctl(
            gw,
            "--initiate",
            "--child",
            child or self.tunnel.name,
            "--timeout",
            str(timeout),
            timeout=timeout + 5,
        )

    def ping(self, count: int = 3, *, src: str = "a") -> int:
        """ICMP echo from the near inside address to the far one, through the tunnel.

        Returns how many replies came back. A small raw-socket pinger runs in the namespace
        because the lab must not depend on iputils being installed.
        """
        me, peer = (self._gw("a"), self._gw("b")) if src == "a" else (self._gw("b"), self._gw("a"))
        proc = self._ns.exec(
            me.ns,
            [sys.executable, "-c", _PINGER, me.inside, peer.inside, str(count)],
            check=False,
            timeout=10 + 3 * count,
        )
        try:
            return int(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise LabError(f"pinger failed in {me.ns}: {proc.stderr.strip()[-300:]}") from exc

    def exec(
        self, which: str, args: Sequence[str], *, timeout: float = 30.0, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside one of the lab's namespaces (a or b)."""
        return self._ns.exec(self._gw(which).ns, args, timeout=timeout, check=check)

    def capture(self, which: str = "a", iface: str = "wan", name: str = "lab.pcapng") -> Capture:
        """Start dumpcap on *iface* in a namespace; stop() the result to finish the file."""
        gw = self._gw(which)
        assert self._tmp is not None
        path = self._tmp / name
        errfile = self._tmp / f"{name}.stderr"
        with open(errfile, "wb") as err_out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", gw.ns, "dumpcap", "-q", "-i", iface, "-w", str(path)],
                stdout=subprocess.DEVNULL,
                stderr=err_out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        # dumpcap writes the file header before the interface is open; "Capturing on" is
        # the sign that packets from now on are recorded.
        while "Capturing on" not in errfile.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise LabError(
                    f"dumpcap did not start in {gw.ns}: "
                    f"{errfile.read_text(errors='replace').strip()}"
                )
            time.sleep(0.05)
        time.sleep(0.1)
        cap = Capture(path, proc)
        self._captures.append(cap)
        return cap

    def list_sas(self, which: str = "a") -> str:
        return self.swanctl(self._gw(which), "--list-sas", "--raw")

    def keys(self, which: str = "a") -> dict[str, Any]:
        """IKE and CHILD_SA keys of the current SAs: from charon's log and swanctl's SPIs.

        Returns ``{"ike": [{spi_i, spi_r, sk_ei, ...hex}], "child": [{spi_in, spi_out,
        encr_i, ...hex}], "sas": raw list-sas text}``; keys pair with SAs in log order.
        """
        gw = self._gw(which)
        ike, child = parse_key_log(gw.log.read_text(errors="replace"))
        raw = self.list_sas(which)
        ike_part, _, child_part = raw.partition("child-sas")
        ike_spis = re.findall(r"initiator-spi=([0-9a-f]{16}) responder-spi=([0-9a-f]{16})", raw)
        child_spis = re.findall(r"spi-in=([0-9a-f]{8}) spi-out=([0-9a-f]{8})", raw)
        ike_out = []
        for (spi_i, spi_r), keys in zip(
            ike_spis, ike[-len(ike_spis) :] if ike_spis else [], strict=False
        ):
            ike_out.append(
                {
                    "spi_i": spi_i,
                    "spi_r": spi_r,
                    **_algs(ike_part),
                    **{k: v.hex() for k, v in keys.items()},
                }
            )
        child_out = []
        for (spi_in, spi_out), keys in zip(
            child_spis, child[-len(child_spis) :] if child_spis else [], strict=False
        ):
            child_out.append(
                {
                    "spi_in": int(spi_in, 16),
                    "spi_out": int(spi_out, 16),
                    **_algs(child_part),
                    **{k: v.hex() for k, v in keys.items()},
                }
            )
        return {"ike": ike_out, "child": child_out, "sas": raw}

    @property
    def namespaces(self) -> list[str]:
        return list(self._ns.names)

    @property
    def servers(self) -> list[OpenSshServer]:
        return list(self._servers)

    def spawn(self, which: str, args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        """A long-running process in a gateway's namespace, stopped by :meth:`down`."""
        with log.open("ab") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self._gw(which).ns, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._procs.append(proc)
        return proc

    @property
    def files(self) -> Path:
        if self._tmp is None:
            raise LabError("the lab is not up: call up() first")
        return self._tmp

    # -- SSH-managed devices -----------------------------------------------------------------

    def ssh_device(
        self,
        which: str = "a",
        *,
        name: str | None = None,
        address: str | None = None,
        prelude: str = "",
        platform: str = "strongswan",
    ) -> DeviceEndpoint:
        """Expose gateway *which* as an SSH device (OpenSSH on 127.0.0.x in the root namespace,
        every command run in the gateway's namespace and /run view); idempotent per gateway.

        The endpoint's ``known_hosts`` is the lab's own file (``files/known_hosts``), holding
        every exposed gateway's host key; :meth:`down` stops the servers.
        """
        if which in self._endpoints:
            return self._endpoints[which]
        gw = self._gw(which)
        endpoint, server = expose(
            name or f"gw-{which}",
            gw.ns,
            gw.workdir / "run",
            self.files / "sshd" / which,
            self.files / "known_hosts",
            address=address,
            prelude=f"{_dropins(gw)} {prelude}",
            platform=platform,
        )
        self._servers.append(server)
        self._endpoints[which] = endpoint
        return endpoint

    def write_inventory(
        self,
        path: Path | None = None,
        which: Sequence[str] = ("a", "b"),
        *,
        expected_up: bool | None = True,
    ) -> Path:
        """A single-file inventory for the gateways in *which* (exposing them if needed)."""
        endpoints = [self.ssh_device(w) for w in which]
        return write_inventory(
            path or self.files / "inventory.yaml", endpoints, expected_up=expected_up
        )

    def stop_charon(self, which: str = "a", timeout: float = 5.0) -> None:
        """Stop one gateway's charon (SIGTERM: it removes its vici socket on the way out)."""
        gw = self._gw(which)
        proc = gw.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)

    # -- teardown --------------------------------------------------------------------------

    def down(self) -> None:
        """Stop captures and daemons this lab started, delete its namespaces; never raises."""
        for cap in self._captures:
            with contextlib.suppress(OSError):
                cap.stop()
        for server in self._servers:
            server.stop()
        self._servers.clear()
        self._endpoints.clear()
        for proc in self._procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=3)
                except (OSError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait(timeout=3)
                    except (OSError, subprocess.TimeoutExpired):
                        pass
        self._procs.clear()
        self._ns.destroy()
        if self._tmp is not None and not self.keep_files:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
