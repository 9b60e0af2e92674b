"""Start, find and stop the background lab process (what ``ipsecctl lab`` and ``demo`` use).

The lab directory is the lab's identity: ``state.json`` (pid, routers), ``inventory/``,
``known_hosts``, ``keys/`` and ``lab.log`` all live there, so ``lab status`` and ``lab down``
find a lab exactly the way ``lab up`` made it.
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
from ipsecctl.lab.errors import LabError
from ipsecctl.lab.runtime import LOG_FILE, STATE_FILE, LabDir, RouterInfo

START_TIMEOUT_S = 60.0


def default_dir() -> Path:
    """The settings' ``lab_dir`` (state dir, relocatable with IPSECCTL_STATE_DIR)."""
    from ipsecctl.settings import load_settings

    return Path(load_settings().lab_dir)


def _resolve(dir: Path | None) -> Path:
    """``--dir`` as given, else the default: start, find and stop must agree on one path."""
    return Path(dir).resolve() if dir is not None else default_dir()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child (ours, not yet reaped) is not a running lab
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
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
        }

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the lab process and remove its state and inventory (keys stay)."""
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
        self.remove_files()


def _read_state(dir: Path) -> dict[str, Any] | None:
    path = dir / STATE_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabError(f"{path}: unreadable lab state ({exc})",
                       hint="run 'ipsecctl lab down' to clean it up") from None
    return data


def _handle(dir: Path, data: dict[str, Any]) -> LabHandle:
    routers = [
        RouterInfo(name=r["name"], address=r["address"], port=int(r["port"]),
                   platform=r["platform"], scenario=r["scenario"])
        for r in data.get("routers", [])
    ]
    pid = int(data.get("pid", 0))
    return LabHandle(
        dir=dir, pid=pid, routers=routers, time_scale=float(data.get("time_scale", 1.0)),
        started_at=data.get("started_at"), running=pid > 0 and _pid_alive(pid),
    )


def find_lab(dir: Path | None = None) -> LabHandle | None:
    """The lab recorded in ``dir`` (default: the user's state directory), or None."""
    d = _resolve(dir)
    data = _read_state(d)
    return _handle(d, data) if data is not None else None


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
) -> LabHandle:
    """Start the lab in a detached background process; return once every router answers SSH."""
    if devices < 1 or devices > 2000:
        raise UsageError(f"--devices {devices}: choose between 1 and 2000 routers")
    if time_scale <= 0:
        raise UsageError(f"--time-scale {time_scale}: must be a positive number")
    d = _resolve(dir)
    existing = find_lab(d)
    if existing is not None and existing.running:
        raise LabError(f"a lab is already running in {d} (pid {existing.pid})",
                       hint="use it, or stop it with 'ipsecctl lab down'")
    d.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (d / STATE_FILE).unlink()
    cmd = [sys.executable, "-m", "ipsecctl.lab.server", "--dir", str(d),
           "--devices", str(devices), "--seed", str(seed), "--time-scale", str(time_scale)]
    if port is not None:
        cmd += ["--port", str(port)]
    log_path = d / LOG_FILE
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, close_fds=True,
        )
    finally:
        log.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise LabError(f"the lab process exited with code {proc.returncode}: "
                           + (" | ".join(tail) or "no output"),
                           hint=f"see {log_path}")
        data = _read_state(d)
        if data is not None and int(data.get("pid", 0)) == proc.pid:
            handle = _handle(d, data)
            handle._proc = proc
            firsts = handle.routers[:1] + handle.routers[-1:]
            if all(_banner_ok(r.address, r.port) for r in firsts):
                return handle
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    raise LabError(f"the lab did not come up within {START_TIMEOUT_S:.0f} s",
                   hint=f"see {log_path}")
