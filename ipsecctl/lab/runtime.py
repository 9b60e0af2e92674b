"""An in-process lab: plan, state, SSH servers and the files that describe it.

:class:`Lab` is what both the background server process and the tests run; it binds every
router, then writes ``inventory/`` (nornir SimpleInventory form), ``known_hosts`` and
``state.json`` into the lab directory, so a client finds everything it needs in one place.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ipsecctl.errors import UsageError
from ipsecctl.lab.errors import LabError
from ipsecctl.lab.sshd import Credentials, RouterServer, SshFleetServer, load_or_create_host_key
from ipsecctl.lab.state import Fleet
from ipsecctl.lab.topology import plan

DEFAULT_PORT = 2222
STATE_FILE = "state.json"
LOG_FILE = "lab.log"
USERNAME = "admin"
INVENTORY_FILES = ("hosts.yaml", "groups.yaml", "defaults.yaml")


@dataclass
class RouterInfo:
    """What a client needs to reach one lab router (no secrets)."""

    name: str
    address: str
    port: int
    platform: str
    scenario: str
    expected_up: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """The keys ``state.json`` and ``lab status --json`` publish (a documented contract:
        ``expected_up`` lives in the inventory, not here)."""
        return {
            "name": self.name,
            "address": self.address,
            "port": self.port,
            "platform": self.platform,
            "scenario": self.scenario,
        }


def _write_private(path: Path, text: str) -> None:
    """Files holding credentials are created 0600 before any byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _bind_test(address: str, port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class LabDir:
    """The layout of a lab directory, shared by the process that writes it (:class:`Lab`) and
    the clients that find it (``manage.LabHandle``), so the two can never disagree on where a
    file lives or on what ``lab down`` removes."""

    dir: Path
    routers: list[RouterInfo]

    @property
    def inventory_path(self) -> Path:
        return self.dir / "inventory"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def state_path(self) -> Path:
        return self.dir / STATE_FILE

    @property
    def log_path(self) -> Path:
        return self.dir / LOG_FILE

    def router(self, name: str) -> RouterInfo:
        for r in self.routers:
            if r.name == name:
                return r
        raise KeyError(name)

    def remove_files(self, keep_identity: bool = True) -> None:
        """What ``lab down`` removes: everything the lab wrote. With ``keep_identity`` (a
        lab in the user's state directory) the host keys and the log stay, so a restarted lab
        keeps its identity; elsewhere the directory is left as the user made it."""
        for p in (self.state_path, self.known_hosts):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        for name in INVENTORY_FILES:
            with contextlib.suppress(FileNotFoundError):
                (self.inventory_path / name).unlink()
        with contextlib.suppress(OSError):
            self.inventory_path.rmdir()
        shutil.rmtree(self.dir / "real", ignore_errors=True)
        if keep_identity:
            return
        shutil.rmtree(self.dir / "keys", ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()
        with contextlib.suppress(OSError):
            self.dir.rmdir()  # only when nothing of the user's is left in it


class Lab(LabDir):
    """A running fleet of simulated routers in this process (threads)."""

    def __init__(
        self,
        dir: Path,
        devices: int = 12,
        seed: int = 1,
        time_scale: float = 1.0,
        port: int | None = None,
        asa: int | None = None,
    ) -> None:
        if devices < 1:
            raise UsageError(f"--devices {devices}: a lab needs at least 1 router")
        if time_scale <= 0:
            raise UsageError(f"--time-scale {time_scale}: must be a positive number")
        self.dir = Path(dir).resolve()
        self.devices = devices
        self.seed = seed
        self.time_scale = time_scale
        self.requested_port = port
        self.plan = plan(devices, seed, asa)
        self.fleet = Fleet(self.plan, seed=seed, time_scale=time_scale)
        self.creds = Credentials(
            username=USERNAME,
            password=secrets.token_urlsafe(12),
            enable_secret=secrets.token_urlsafe(12),
        )
        self.routers: list[RouterInfo] = []
        self.gateways: list[tuple[RouterInfo, dict[str, Any]]] = []  # real ones: inventory host
        self.real: dict[str, Any] = {}
        self.gateway_known_hosts: list[str] = []
        self._server: SshFleetServer | None = None
        self.started_at: float | None = None

    # ------------------------------------------------------------------ lifecycle
    def _addresses(self) -> list[tuple[str, int]]:
        """Own loopback address per router; 127.0.0.1 with distinct ports where that fails."""
        base = self.requested_port
        own = [r.address for r in self.plan.routers]
        if _bind_test(own[0], 0):
            candidates = [base] if base is not None else [DEFAULT_PORT, 0]
            for cand in candidates:
                port = cand or self._free_port(own[0])
                if all(_bind_test(a, port) for a in own):
                    return [(a, port) for a in own]
            if base is not None:
                raise LabError(
                    f"--port {base}: in use on the lab addresses",
                    hint="choose another port, or omit --port for a free one",
                )
            for _ in range(20):
                port = self._free_port(own[0])
                if all(_bind_test(a, port) for a in own):
                    return [(a, port) for a in own]
        start = base if base is not None else self._free_port("127.0.0.1")
        return [("127.0.0.1", start + i) for i in range(len(own))]

    @staticmethod
    def _free_port(address: str) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((address, 0))
            return int(s.getsockname()[1])
        finally:
            s.close()

    def start(self, ready: bool = True) -> Lab:
        """Bind and serve every device, then write the lab's files; ``ready`` False leaves
        ``state.json`` saying the lab is still starting (real gateways to come)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "keys").mkdir(exist_ok=True, mode=0o700)
        auth = self.dir / "authorized_keys"
        if auth.exists():
            for line in auth.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    self.creds.authorized_keys.add(parts[1])
        servers: list[RouterServer] = []
        last_err: OSError | None = None
        for _attempt in range(5):
            servers = []
            addrs = self._addresses()
            for spec, (addr, port) in zip(self.plan.routers, addrs, strict=True):
                key = load_or_create_host_key(self.dir / "keys" / f"{spec.name}.key")
                servers.append(RouterServer(spec.name, addr, port, key, self.fleet, self.creds))
            srv = SshFleetServer(servers)
            try:
                srv.listen()
            except OSError as exc:  # raced with another process for the port: pick again
                srv.stop()
                last_err = exc
                if self.requested_port is not None:
                    raise LabError(
                        f"--port {self.requested_port}: cannot listen ({exc})",
                        hint="choose another port, or omit --port for a free one",
                    ) from exc
                continue
            break
        else:
            raise LabError(
                f"could not bind the lab routers to {self.dir}'s addresses: {last_err}",
                hint="try again, or pass a free --port",
            )
        self._server = srv
        srv.start()
        self.started_at = time.time()
        self.routers = [
            RouterInfo(
                name=s.name,
                address=s.address,
                port=s.port,
                platform=spec.platform,
                scenario=spec.scenario,
                expected_up=self.expected_up(spec.name),
            )
            for s, spec in zip(servers, self.plan.routers, strict=True)
        ]
        self._write_files(ready)
        return self

    def add_gateways(
        self,
        gateways: list[tuple[RouterInfo, dict[str, Any]]],
        real: dict[str, Any],
        known_hosts: list[str],
    ) -> None:
        """Real gateways (already running) join the inventory and the state; ``real`` says
        what they are and what was missing; ``known_hosts`` are their sshds' lines."""
        self.gateways = gateways
        self.gateway_known_hosts = known_hosts
        self.real = real
        self._write_files(True)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ queries
    def expected_up(self, name: str) -> list[str]:
        out = []
        for link, side in self.fleet.ends_of(name):
            if link.spec.expected_up:
                out.append(self.fleet.peer_addr(link, side))
        # one peer address may be up in several front-door VRFs: list it once
        return list(dict.fromkeys(out))

    # ------------------------------------------------------------------ files
    def _write_files(self, ready: bool = True) -> None:
        assert self._server is not None
        kh_lines = []
        for s in self._server.routers:
            host = s.address if s.port == 22 else f"[{s.address}]:{s.port}"
            kh_lines.append(f"{host} {s.host_key.get_name()} {s.host_key.get_base64()}")
        kh_lines += self.gateway_known_hosts
        self.known_hosts.write_text("\n".join(kh_lines) + "\n")
        hosts: dict[str, Any] = {}
        for r in self.routers:
            group = {"cisco_ios": "ios", "cisco_iosxe": "iosxe", "cisco_asa": "asa"}.get(
                r.platform, r.platform
            )
            hosts[r.name] = {
                "hostname": r.address,
                "port": r.port,
                "platform": r.platform,
                "groups": ["lab", group],
                "data": {"scenario": r.scenario, "expected_up": r.expected_up, "lab": True},
            }
        for info, gw_host in self.gateways:
            hosts[info.name] = {**gw_host, "groups": ["lab", info.platform]}
            gw_host["data"]["known_hosts"] = str(self.known_hosts)
        groups: dict[str, Any] = {
            "lab": {"data": {"lab": True}},
            "ios": {"platform": "cisco_ios"},
            "iosxe": {"platform": "cisco_iosxe"},
            "asa": {"platform": "cisco_asa"},
        }
        for info, _host in self.gateways:
            groups[info.platform] = {"platform": info.platform}
        secret = self.creds.enable_secret
        defaults = {
            "username": self.creds.username,
            "password": self.creds.password,
            "connection_options": {
                "ipsecctl": {"extras": {"secret": secret}},
                "netmiko": {"extras": {"secret": secret}},
            },
            "data": {"known_hosts": str(self.known_hosts)},
        }
        inv = self.inventory_path
        inv.mkdir(parents=True, exist_ok=True)
        _write_private(inv / "hosts.yaml", yaml.safe_dump(hosts, sort_keys=False))
        _write_private(inv / "groups.yaml", yaml.safe_dump(groups, sort_keys=False))
        _write_private(inv / "defaults.yaml", yaml.safe_dump(defaults, sort_keys=False))
        state = {
            "pid": os.getpid(),
            "dir": str(self.dir),
            "devices": self.devices,
            "seed": self.seed,
            "time_scale": self.time_scale,
            "started_at": self.started_at,
            "inventory": str(inv),
            "known_hosts": str(self.known_hosts),
            "routers": [r.public() for r in self.routers]
            + [info.public() for info, _host in self.gateways],
            "real": self.real,
            "ready": ready,
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_path)
