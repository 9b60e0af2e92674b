"""Fixtures: an in-process lab and a tiny interactive SSH client for it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import paramiko
import pytest

from ipsecctl.lab import Lab


class Shell:
    """Interactive IOS session over real SSH: read until the prompt, like a person would."""

    def __init__(self, lab: Lab, name: str, enable: bool = True) -> None:
        r = lab.router(name)
        self.name = name
        self.client = paramiko.SSHClient()
        self.client.load_host_keys(str(lab.known_hosts))
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.client.connect(
            r.address,
            port=r.port,
            username=lab.creds.username,
            password=lab.creds.password,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        self.chan = self.client.invoke_shell(term="vt100", width=200, height=50)
        self.chan.settimeout(15)
        self.read_until(re.escape(f"{name}>"))
        if enable:
            self.chan.send(b"enable\n")
            self.read_until("Password: ")
            self.chan.send(lab.creds.enable_secret.encode() + b"\n")
            self.read_until(re.escape(f"{name}#"))
            self.cmd("terminal pager 0" if r.platform == "cisco_asa" else "terminal length 0")

    def read_until(self, pattern: str, timeout: float = 15.0) -> str:
        buf = ""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern + r"\s*$")
        while time.monotonic() < deadline:
            if self.chan.recv_ready():
                buf += self.chan.recv(65536).decode()
                if rx.search(buf):
                    return buf
            else:
                time.sleep(0.005)
        raise AssertionError(f"no {pattern!r} in {buf[-500:]!r}")

    def cmd(self, line: str) -> str:
        """Output of ``line`` without the echo and the next prompt, with \\n line ends."""
        self.chan.send(line.encode() + b"\n")
        raw = self.read_until(re.escape(self.name) + "[>#]")
        text = raw.replace("\r\n", "\n")
        assert text.startswith(line + "\n"), text[:80]
        return (
            text[len(line) + 1 :].rsplit("\n", 1)[0] + "\n" if "\n" in text[len(line) + 1 :] else ""
        )

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), devices=12, seed=1, time_scale=1.0) as running:
        yield running


@pytest.fixture
def shell_factory(lab: Lab) -> Iterator[object]:
    opened: list[Shell] = []

    def make(name: str, enable: bool = True) -> Shell:
        s = Shell(lab, name, enable)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


def by_scenario(lab: Lab, scenario: str) -> str:
    return next(r.name for r in lab.routers if r.scenario == scenario)
