"""Start, find and stop the background lab process (what ``ipsecctl lab`` and ``demo`` use).

The lab directory is the lab's identity: ``state.json`` (pid, devices), ``inventory/``,
``known_hosts``, ``keys/``, ``lab.log`` and, with real gateways, ``real/`` all live there, so
``lab status`` and ``lab down`` find a lab exactly the way ``lab up`` made it. The registry in
the user's state directory (:mod:`~ipsecctl.lab.registry`) lists the directories of the labs
started on this machine, so commands find a lab started with ``--dir`` without being told.

A lab whose process died without stopping (``kill -9``, a crash) leaves its files, and with
real gateways its namespaces and daemons: the next ``lab up`` or ``lab down`` finds it stale in
the registry and removes all of it (:func:`clean_stale`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ipsecctl.errors import UsageError
from ipsecctl.lab import registry
from ipsecctl.lab.errors import LabError
from ipsecctl.lab.runtime import LOG_FILE, STATE_FILE, LabDir, RouterInfo

START_TIMEOUT_S = 60.0
#: environment variable naming the lab that commands use when several run
LAB_ENV = "IPSECCTL_LAB"


def default_dir() -> Path:
    """The settings' ``lab_dir`` (state dir, relocatable with IPSECCTL_STATE_DIR)."""
    from ipsecctl.settings import load_settings

    return Path(load_settings().lab_dir)


def _resolve(dir: Path | None) -> Path:
    """``--dir`` as given, else the default: start, find and stop must agree on one path."""
    return Path(dir).expanduser().resolve() if dir is not None else default_dir()


def _pid_alive(pid: int, lab_dir: Path | None = None) -> bool:
    """A live lab process: alive, not a zombie, and (when we can read it) the lab server of
    ``lab_dir`` -- a pid reused by an unrelated process after a crash is not our lab."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
    if lab_dir is not None:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return True
        args = [a.decode(errors="replace") for a in cmd]
        return any("ipsecctl" in a for a in args) and str(lab_dir) in args
    return True


@dataclass
class LabHandle(LabDir):
    """A lab found on disk; ``running`` says whether its process is alive."""

    dir: Path
    pid: int
    routers: list[RouterInfo]
    time_scale: float = 1.0
    started_at: float | None = None
    running: bool = True
    real: dict[str, Any] = field(default_factory=dict)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def credentials(self) -> tuple[str, str, str]:
        """(username, password, enable secret) from the lab's inventory defaults."""
        data: dict[str, Any] = yaml.safe_load((self.inventory_path / "defaults.yaml").read_text())
        secret = data["connection_options"]["ipsecctl"]["extras"]["secret"]
        return str(data["username"]), str(data["password"]), str(secret)

    def status_json(self) -> dict[str, Any]:
        return {
            "schema": "ipsecctl/v1",
            "kind": "lab status",
            "dir": str(self.dir),
            "pid": self.pid,
            "running": self.running,
            "routers": [r.public() for r in self.routers],
            "real": self.real,
        }

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the lab process, its real gateways, and remove what it wrote (see
        :meth:`LabDir.remove_files`)."""
        if self.running and self.pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.poll() is not None:
                    break
                if self._proc is None and not _pid_alive(self.pid):
                    break
                time.sleep(0.05)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            if self._proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=2)
        self.running = False
        _clean_real(self.dir)
        self.remove_files(keep_identity=_in_state_dir(self.dir))
        registry.unregister(self.dir)


def _in_state_dir(d: Path) -> bool:
    """Labs under the user's state directory keep their host keys across restarts."""
    from ipsecctl.settings import state_dir

    try:
        d.resolve().relative_to(Path(state_dir()).resolve())
        return True
    except ValueError:
        return False


def _clean_real(d: Path) -> None:
    """Namespaces and daemons of the real gateways, even when their lab process is gone."""
    if (d / "real").exists():
        from ipsecctl.lab.real import cleanup

        cleanup(d / "real")


def _read_state(dir: Path) -> dict[str, Any] | None:
    path = dir / STATE_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabError(
            f"{path}: unreadable lab state ({exc})", hint="run 'ipsecctl lab down' to clean it up"
        ) from None
    return data


def _handle(dir: Path, data: dict[str, Any]) -> LabHandle:
    routers = [
        RouterInfo(
            name=r["name"],
            address=r["address"],
            port=int(r["port"]),
            platform=r["platform"],
            scenario=r["scenario"],
        )
        for r in data.get("routers", [])
    ]
    pid = int(data.get("pid", 0))
    return LabHandle(
        dir=dir,
        pid=pid,
        routers=routers,
        time_scale=float(data.get("time_scale", 1.0)),
        started_at=data.get("started_at"),
        running=_pid_alive(pid, dir),
        real=dict(data.get("real") or {}),
    )


def _at(d: Path) -> LabHandle | None:
    try:
        data = _read_state(d)
    except LabError:
        return None
    return _handle(d, data) if data is not None else None


def list_labs() -> list[LabHandle]:
    """Every lab this machine knows about (registry and default directory), newest first;
    ``running`` tells the live ones from the stale."""
    seen: dict[Path, LabHandle] = {}
    for entry in registry.entries():
        h = _at(entry.dir)
        if h is None:
            registry.unregister(entry.dir)
            continue
        seen.setdefault(entry.dir, h)
    d = default_dir()
    if d not in seen:
        h = _at(d)
        if h is not None:
            seen[d] = h
    return sorted(seen.values(), key=lambda h: h.started_at or 0.0, reverse=True)


def find_lab(dir: Path | None = None) -> LabHandle | None:
    """The lab in ``dir``; without one: ``$IPSECCTL_LAB``, else the running lab in the
    default directory, else the most recently started running lab of the registry, else a
    stale lab (so ``lab status`` and ``lab down`` can see and clean it). None: no lab."""
    if dir is None and os.environ.get(LAB_ENV):
        dir = Path(os.environ[LAB_ENV])
    if dir is not None:
        d = _resolve(dir)
        data = _read_state(d)
        return _handle(d, data) if data is not None else None
    labs = list_labs()
    default = default_dir()
    for h in labs:
        if h.running and h.dir == default:
            return h
    running = [h for h in labs if h.running]
    if running:
        return running[0]
    return next((h for h in labs if h.dir == default), labs[0] if labs else None)


def clean_stale() -> list[Path]:
    """Remove every lab whose process is gone: files, namespaces, daemons. Returns their
    directories."""
    cleaned = []
    for h in list_labs():
        if not h.running:
            h.stop()
            cleaned.append(h.dir)
    return cleaned


def _banner_ok(address: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            return s.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


def start_lab(
    dir: Path | None = None,
    devices: int = 12,
    seed: int = 1,
    time_scale: float = 1.0,
    port: int | None = None,
    *,
    real: bool = False,
    asa: int | None = None,
) -> LabHandle:
    """Start the lab in a detached background process; return once every device answers.

    ``real`` adds real strongSwan and libreswan gateways in network namespaces (root and the
    packages needed); what is missing is said in ``handle.real["missing"]`` and the simulated
    lab starts anyway. ``asa`` overrides how many devices are ASAs.
    """
    if devices < 1 or devices > 2000:
        raise UsageError(f"--devices {devices}: choose between 1 and 2000 routers")
    if time_scale <= 0:
        raise UsageError(f"--time-scale {time_scale}: must be a positive number")
    d = _resolve(dir)
    existing = find_lab(d)
    if existing is not None and existing.running:
        raise LabError(
            f"a lab is already running in {d} (pid {existing.pid})",
            hint="use it, or stop it with 'ipsecctl lab down'",
        )
    clean_stale()
    d.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (d / STATE_FILE).unlink()
    cmd = [
        sys.executable,
        "-m",
        "ipsecctl.lab.server",
        "--dir",
        str(d),
        "--devices",
        str(devices),
        "--seed",
        str(seed),
        "--time-scale",
        str(time_scale),
    ]
    if port is not None:
        cmd += ["--port", str(port)]
    if asa is not None:
        cmd += ["--asa", str(asa)]
    if real:
        cmd.append("--real")
    log_path = d / LOG_FILE
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        log.close()
    registry.register(d, time.time())
    deadline = time.monotonic() + START_TIMEOUT_S * (3 if real else 1)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            registry.unregister(d)
            raise LabError(
                f"the lab process exited with code {proc.returncode}: "
                + (" | ".join(tail) or "no output"),
                hint=f"see {log_path}",
            )
        data = _read_state(d)
        if data is not None and int(data.get("pid", 0)) == proc.pid and data.get("ready"):
            handle = _handle(d, data)
            handle._proc = proc
            firsts = handle.routers[:1] + handle.routers[-1:]
            if all(_banner_ok(r.address, r.port) for r in firsts):
                return handle
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    raise LabError(
        f"the lab did not come up within {START_TIMEOUT_S:.0f} s", hint=f"see {log_path}"
    )
