"""A throwaway PostgreSQL server: the store tests' fixture and the store benchmark use it.

``initdb`` in a temporary folder, ``pg_ctl`` on a free loopback port, trust authentication on
127.0.0.1 only. PostgreSQL refuses to run as root, so as root the server runs as an
unprivileged user (``postgres`` when the package created it, else one made here with
``useradd``).
"""

from __future__ import annotations

import glob
import os
import pwd
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

TEST_USER = "ipsecctl-pg"


def pg_bin() -> Path | None:
    wanted = os.environ.get("IPSECCTL_PG_BIN")
    candidates = [wanted] if wanted else sorted(glob.glob("/usr/lib/postgresql/*/bin"))[::-1]
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> str | None:
    """None when not root (run as ourselves); else an unprivileged user to run as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", TEST_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
        check=True,
        capture_output=True,
    )
    return TEST_USER


@dataclass
class PgServer:
    bindir: Path
    datadir: Path
    port: int
    user: str | None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=50"
        )
        proc = self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
            check=False,
        )
        if proc.returncode != 0:
            log = (self.datadir / "log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {proc.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


def start_server(root: Path) -> PgServer:
    """initdb + start in ``root`` (a fresh folder), as an unprivileged user when root."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    user = _server_user()
    datadir = root / "data"
    datadir.mkdir(mode=0o700)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(datadir, entry.pw_uid, entry.pw_gid)
    server = PgServer(bindir, datadir, _free_port(), user)
    server.init()
    server.start()
    return server
