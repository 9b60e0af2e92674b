"""What every lab device's exec session shares: privilege, terminal, configuration mode,
clearing by peer, and the one entry point :func:`session_for` that picks the family's CLI.

The session knows nothing about SSH: it turns one input line into output text, and ``sshd``
moves bytes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from ipsecctl.lab.cli_tree import IOS, Dialect, Match, Node, match
from ipsecctl.lab.config_mode import ConfigMode
from ipsecctl.lab.state import Fleet


@dataclass
class DeviceSession:
    """Per-connection state and the handlers both families share."""

    fleet: Fleet
    name: str
    enable_secret: str
    priv: int = 1
    length: int = 24
    width: int = 80
    closed: bool = False
    sleep: Callable[[float], None] | None = None
    config: ConfigMode | None = None  # set while in configuration mode
    line: str = ""  # the command being run

    tree: ClassVar[Node] = Node()
    dialect: ClassVar[Dialect] = IOS
    more: ClassVar[str] = " --More-- "

    @property
    def prompt(self) -> str:
        if self.config is not None:
            return f"{self.name}({self.config.mode})#"
        return f"{self.name}{'#' if self.priv >= 15 else '>'}"

    def run(self, line: str) -> str:
        """Output of one command line (without the trailing prompt)."""
        if not line.strip():
            return ""
        if self.config is not None:
            words = line.split()
            if words[0].lower() == "do" and len(words) > 1:
                cfg, self.config = self.config, None
                try:
                    return self.run(line.split(None, 1)[1])
                finally:
                    self.config = cfg
            with self.fleet.lock:
                out, leave = self.config.line(line, len(self.prompt))
            if leave:
                self.leave_config()
            return out
        self.line = line
        m = match(self.tree, line, self.priv, len(self.prompt), self.dialect)
        if m.error:
            return "\n".join(m.error) + "\n"
        assert m.action is not None
        handler = getattr(self, f"do_{m.action}")
        text: str = handler(m)
        return text

    def leave_config(self) -> None:
        """End of configuration mode: the tunnels follow what was configured."""
        cfg, self.config = self.config, None
        if cfg is not None and cfg.changed:
            with self.fleet.lock:
                self.fleet.advance()
                self.fleet.reconcile([self.name])

    def close(self) -> None:
        """The connection went away (a configuration session ends with it)."""
        self.leave_config()

    # -------------------------------------------------------------- common commands
    def _show(self, fn: Callable[..., str], **kw: object) -> str:
        with self.fleet.lock:
            t = self.fleet.advance()
            text = fn(self.fleet, self.name, t, **kw)
        return text + ("\n" if text and not text.endswith("\n") else "")

    def do_noop(self, m: Match) -> str:
        return ""

    def do_exit(self, m: Match) -> str:
        self.closed = True
        return ""

    def do_enable(self, m: Match) -> str:
        return ""  # the shell handles the password dialogue

    def do_disable(self, m: Match) -> str:
        self.priv = 1
        return ""

    def do_configure(self, m: Match) -> str:
        self.config = ConfigMode(self.fleet.routers[self.name])
        return self.config_banner()

    def config_banner(self) -> str:
        return "Enter configuration commands, one per line.  End with CNTL/Z.\n"

    def do_clear_logging(self, m: Match) -> str:
        with self.fleet.lock:
            st = self.fleet.routers[self.name]
            st.log.clear()
            st.log_since = self.fleet.advance()
        return ""

    # -------------------------------------------------------------- clearing by peer
    def _vrfs(self) -> set[str]:
        return {lk.spec.vrf for lk, _ in self.fleet.ends_of(self.name) if lk.spec.vrf}

    def clear_peer(
        self, what: str, peer: str | None, conn: int | None = None, vrf: str | None = None
    ) -> int:
        """Clear by the normalised peer address (lab addresses are stored normalised)."""
        with self.fleet.lock:
            if peer is not None:
                want = ipaddress.ip_address(peer)
                for link, side in self.fleet.ends_of(self.name):
                    addr = self.fleet.peer_addr(link, side)
                    try:
                        if ipaddress.ip_address(addr) == want:
                            peer = addr
                            break
                    except ValueError:
                        continue
            return self.fleet.clear(self.name, what, peer, conn, vrf=vrf)


def session_for(
    fleet: Fleet, name: str, enable_secret: str, sleep: Callable[[float], None] | None = None
) -> DeviceSession:
    """The exec session of device ``name``, in its family's CLI."""
    if fleet.routers[name].spec.asa:
        from ipsecctl.lab.asacli import AsaSession

        return AsaSession(fleet, name, enable_secret, sleep=sleep)
    from ipsecctl.lab.ioscli import CliSession

    return CliSession(fleet, name, enable_secret, sleep=sleep)
