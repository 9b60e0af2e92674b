"""Real libreswan (pluto) in a network namespace, paired with a strongSwan gateway.

Why this shape: Debian's libreswan conflicts with strongswan-charon (both provide
``ike-server``), so the lab runs pluto from a private prefix (the package unpacked with
``dpkg-deb -x``, as ``.ci/run`` does) or from a system install when there is one. Pluto looks
for its helpers in the compiled-in ``/usr/libexec/ipsec``: its own mount namespace gets a tmpfs
there with the prefix's helpers bound in, and, like charon, a private ``/run`` (its control
socket is ``/run/pluto/pluto.ctl``). Its configuration, secrets and NSS database live in the
gateway's directory. The SSH device of the gateway sets up the same view, so a plain
``ipsec status`` or ``ipsec trafficstatus`` reaches that pluto, as on a real host.

ESP: pluto has only the kernel's XFRM for IPsec SAs. On a kernel without ESP
(:func:`~ipsecctl.lab.netns.kernel_esp_missing`) the IKE SA is negotiated for real and the
Child SA fails to install (pluto logs ``netlink response for Add SA ... Function not
implemented``); :attr:`LibreswanPair.esp_blocked` says so.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ipsecctl.lab.errors import LabError
from ipsecctl.lab.strongswan import Gateway, NetnsLab, strongswan_missing

#: where .ci/run unpacks the Debian package when the system has strongSwan installed
PRIVATE_PREFIX = Path("/opt/ipsecctl/libreswan")
PREFIX_ENV = "IPSECCTL_LIBRESWAN_PREFIX"


def prefix() -> Path | None:
    """The libreswan installation to use: $IPSECCTL_LIBRESWAN_PREFIX, the system's, or the
    private prefix; None when there is none."""
    for cand in (os.environ.get(PREFIX_ENV), "/", str(PRIVATE_PREFIX)):
        if cand and (Path(cand) / "usr/libexec/ipsec/pluto").exists():
            return Path(cand)
    return None


def libreswan_missing() -> list[str]:
    """What stops a libreswan gateway here (empty when it can run)."""
    missing = strongswan_missing()
    if prefix() is None:
        missing.append(
            f"pluto (libreswan: apt-get download libreswan && dpkg-deb -x "
            f"libreswan_*.deb {PRIVATE_PREFIX})"
        )
    if shutil.which("certutil") is None:
        missing.append("certutil (libnss3-tools)")
    return missing


def mount_prelude(root: Path) -> str:
    """Shell that gives a private mount namespace pluto's helper directory (``&&``-ended)."""
    if root == Path("/"):
        return ""
    helpers = shlex.quote(str(root / "usr/libexec/ipsec"))
    sbin = shlex.quote(str(root / "usr/sbin"))
    return (
        f"mount -t tmpfs ipsecctl-libexec /usr/libexec && mkdir /usr/libexec/ipsec && "
        f"mount --bind {helpers} /usr/libexec/ipsec && export PATH={sbin}:$PATH "
        f"IPSEC_SBINDIR={sbin} &&"
    )


def ipsec_conf(
    conn: str, me: Gateway, peer: Gateway, *, my_id: str, peer_id: str, ike: str, esp: str
) -> str:
    return f"""config setup
    logfile={me.workdir / "pluto.log"}
    plutodebug=none

conn {conn}
    left={me.wan.split("/")[0]}
    leftid=@{my_id}
    leftsubnet={me.inside_net}
    right={peer.wan.split("/")[0]}
    rightid=@{peer_id}
    rightsubnet={peer.inside_net}
    authby=secret
    ikev2=insist
    ike={ike}
    esp={esp}
    encapsulation=yes
    auto=add
"""


@dataclass
class LibreswanPair(NetnsLab):
    """Gateway ``a`` runs strongSwan (charon, initiator), gateway ``b`` libreswan (pluto).

    Same addressing, identities and key as :class:`NetnsLab`; the libreswan side's proposals
    are the strongSwan ones in libreswan syntax.
    """

    conn: str = "lab"
    esp_blocked: str | None = None

    def __post_init__(self) -> None:
        self.start_b = False

    def up(self) -> LibreswanPair:
        missing = libreswan_missing()
        if missing:
            raise LabError(f"libreswan gateway unavailable: missing {', '.join(missing)}")
        super().up()
        self.start_pluto()
        return self

    def start_pluto(self) -> None:
        gw = self._gw("b")
        root = prefix()
        assert root is not None
        nss = gw.workdir / "nss"
        nss.mkdir(exist_ok=True)
        subprocess.run(
            ["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        (gw.workdir / "ipsec.d").mkdir(exist_ok=True)
        (gw.workdir / "run" / "pluto").mkdir(parents=True, exist_ok=True)
        conf = gw.workdir / "ipsec.conf"
        conf.write_text(
            ipsec_conf(
                self.conn,
                gw,
                self._gw("a"),
                my_id="b.lab",
                peer_id="a.lab",
                ike="aes256-sha2_256;modp2048",
                esp="aes_gcm256",
            )
        )
        secrets = gw.workdir / "ipsec.secrets"
        secrets.write_text(f'@b.lab @a.lab : PSK "{self.tunnel.psk}"\n')
        secrets.chmod(0o600)
        pluto = (
            f"mount --bind {shlex.quote(str(gw.workdir / 'run'))} /run && "
            f"{mount_prelude(root)} exec /usr/libexec/ipsec/pluto --nofork --config "
            f"{shlex.quote(str(conf))} --rundir /run/pluto --nssdir "
            f"{shlex.quote(str(nss))} --secretsfile {shlex.quote(str(secrets))} "
            f"--ipsecdir {shlex.quote(str(gw.workdir / 'ipsec.d'))}"
        )
        out = open(gw.workdir / "pluto.stderr", "wb")  # noqa: SIM115 - lives with the daemon
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
                pluto,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        self._procs.append(gw.proc)
        ctl = gw.workdir / "run" / "pluto" / "pluto.ctl"
        deadline = time.monotonic() + 15
        while not ctl.exists():
            if gw.proc.poll() is not None or time.monotonic() > deadline:
                err = (gw.workdir / "pluto.stderr").read_text(errors="replace")[-500:]
                raise LabError(f"pluto did not start in {gw.ns}: {err.strip()}")
            time.sleep(0.05)
        time.sleep(0.3)  # pluto loads the connection right after opening its socket

    def whack(self, *args: str, timeout: float = 20.0) -> str:
        """``ipsec whack ARGS`` against gateway b's pluto (as its SSH device runs it)."""
        gw = self._gw("b")
        root = prefix()
        assert root is not None
        whack = root / "usr/libexec/ipsec/whack"
        proc = self._ns.exec(
            gw.ns,
            [str(whack), "--ctlsocket", str(gw.workdir / "run" / "pluto" / "pluto.ctl"), *args],
            check=False,
            timeout=timeout,
        )
        return proc.stdout + proc.stderr

    def ssh_device_b(self, name: str, address: str | None = None) -> object:
        root = prefix()
        assert root is not None
        return self.ssh_device(
            "b", name=name, address=address, prelude=mount_prelude(root), platform="libreswan"
        )

    def pluto_log(self) -> str:
        path = self._gw("b").workdir / "pluto.log"
        return path.read_text(errors="replace") if path.exists() else ""
