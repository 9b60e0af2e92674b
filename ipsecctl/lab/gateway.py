"""A namespace gateway exposed as an SSH-managed device, and an inventory that points at it.

Why this shape: the product manages strongSwan gateways over SSH exec channels, so the lab's
charons must be reachable the same way, without any lab knowledge in the product. An OpenSSH
sshd listens in the root namespace on a 127.0.0.x address; its ``ForceCommand`` runs the
client's command line inside the gateway's network namespace, in a private mount namespace
with the gateway's own directory bound on /run -- exactly the view its charon has. A plain
``swanctl --list-sas --raw`` therefore reaches that charon's vici socket at
/var/run/charon.vici, as it would on a real gateway.
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ipsecctl.lab.sshd_gateway import OpenSshServer, SshdError, free_port, start_sshd

#: Loopback addresses the lab's device sshds may use: 127.0.0.N with N in this range.
LOOPBACK_HOSTS = range(100, 250)


@dataclass(frozen=True)
class DeviceEndpoint:
    """How to reach one lab gateway over SSH: exactly what an inventory host needs."""

    name: str
    hostname: str
    port: int
    username: str
    key_file: Path
    known_hosts: Path
    platform: str = "strongswan"

    def inventory_host(self, *, expected_up: bool | None = None) -> dict[str, Any]:
        """This device as a single-file-inventory ``hosts:`` entry."""
        data: dict[str, Any] = {"known_hosts": str(self.known_hosts), "lab": True}
        if expected_up is not None:
            data["expected_up"] = expected_up
        return {
            "hostname": self.hostname,
            "port": self.port,
            "username": self.username,
            "platform": self.platform,
            "key_file": str(self.key_file),
            "use_agent": False,
            "data": data,
        }


def forced_command(ns: str, run_dir: Path, prelude: str = "") -> str:
    """The shell script sshd runs for every session: the client's command in *ns* with
    *run_dir* on /run (a private mount namespace, so nothing leaks to the host). ``prelude``
    (shell, ending in ``&&``) prepares that view further, e.g. where a daemon expects its
    helpers."""
    inner = (
        f'mount --bind "$1" /run && {prelude} exec sh -c "${{SSH_ORIGINAL_COMMAND:-exec sh -i}}"'
    )
    return (
        "#!/bin/sh\n"
        "# ipsecctl lab: run the SSH client's command inside the gateway's namespace\n"
        f"exec ip netns exec {shlex.quote(ns)} unshare --mount --propagation private "
        f"sh -c {shlex.quote(inner)} ipsecctl-gw {shlex.quote(str(run_dir))}\n"
    )


def pick_loopback(rng: random.Random | None = None) -> tuple[str, int]:
    """A 127.0.0.N address (N in LOOPBACK_HOSTS) and a port free on it right now."""
    rng = rng or random.Random()
    hosts = list(LOOPBACK_HOSTS)
    rng.shuffle(hosts)
    last: OSError | None = None
    for n in hosts[:20]:
        address = f"127.0.0.{n}"
        try:
            return address, free_port(address)
        except OSError as exc:
            last = exc
    raise SshdError(
        f"no free loopback address in 127.0.0.{LOOPBACK_HOSTS.start}-"
        f"{LOOPBACK_HOSTS.stop - 1}: {last}"
    )


def expose(
    name: str,
    ns: str,
    run_dir: Path,
    directory: Path,
    known_hosts: Path,
    *,
    address: str | None = None,
    prelude: str = "",
    platform: str = "strongswan",
) -> tuple[DeviceEndpoint, OpenSshServer]:
    """Start an sshd whose sessions run in namespace *ns* with *run_dir* as /run.

    The server's host key is appended to *known_hosts* (the inventory's file), so clients
    verify it under the default ``reject`` policy. The caller owns the returned server and
    must stop it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "gateway-command.sh"
    script.write_text(forced_command(ns, run_dir, prelude))
    script.chmod(0o755)
    port: int | None = None
    if address is None:
        address, port = pick_loopback()
    server = start_sshd(directory, address=address, port=port, force_command=str(script))
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    with known_hosts.open("a") as fh:
        fh.write(server.known_hosts_line())
    endpoint = DeviceEndpoint(
        name=name,
        hostname=server.address,
        port=server.port,
        username=server.user,
        key_file=server.client_key,
        known_hosts=known_hosts,
        platform=platform,
    )
    return endpoint, server


def write_inventory(
    path: Path, endpoints: Sequence[DeviceEndpoint], *, expected_up: bool | None = None
) -> Path:
    """A single-file YAML inventory (``hosts:`` only) for *endpoints*; returns *path*."""
    hosts = {e.name: e.inventory_host(expected_up=expected_up) for e in endpoints}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# written by the ipsecctl namespace lab\n"
        + yaml.safe_dump({"hosts": hosts}, sort_keys=False)
    )
    path.chmod(0o600)
    return path
