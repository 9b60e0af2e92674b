"""What every command shares: global options, settings, the inventory, sessions and output.

Resolution rules live here once: the inventory lookup order (``-i``, ``IPSECCTL_INVENTORY``,
``./inventory/``, the running lab), the host-key policy default (``ask`` at a terminal,
``reject`` otherwise) and read-only mode (flag, environment or config file).
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ipsecctl import errors

HOST_KEY_POLICIES = ("reject", "ask", "accept-new")


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, emoji=False)


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class AppContext:
    """Global options plus lazily loaded settings and inventory (one per process)."""

    inventory_path: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    enable_secret: str | None = field(default=None, repr=False)
    config_path: str | None = None
    host_key_policy: str | None = None
    read_only: bool = False
    workers: int | None = None
    replay: Path | None = None
    save_raw: Path | None = None
    quiet: bool = False
    _settings: Any = None
    _inventory: Any = None
    _ask_lock: threading.Lock = field(default_factory=threading.Lock)

    # -- settings & modes ---------------------------------------------------------------------
    @property
    def settings(self) -> Any:
        if self._settings is None:
            from ipsecctl.settings import load_settings

            self._settings = load_settings(Path(self.config_path) if self.config_path else None)
        return self._settings

    @property
    def is_read_only(self) -> bool:
        return (
            self.read_only
            or truthy(os.environ.get("IPSECCTL_READ_ONLY"))
            or bool(getattr(self.settings, "read_only", False))
        )

    @property
    def effective_host_key_policy(self) -> str:
        policy = self.host_key_policy or getattr(self.settings, "host_key_policy", None)
        if policy is None:
            policy = "ask" if is_interactive() else "reject"
        if policy == "ask" and not is_interactive():
            policy = "reject"  # never wait on a prompt without a terminal
        return str(policy)

    @property
    def effective_workers(self) -> int:
        return int(self.workers or getattr(self.settings, "workers", None) or 16)

    # -- inventory ----------------------------------------------------------------------------
    def resolve_inventory_path(self) -> Path:
        from inventory import find_inventory

        found = find_inventory(self.inventory_path)
        if found is not None:
            return Path(found)
        try:
            from ipsecctl.lab import find_lab

            lab = find_lab(None)
        except Exception:
            lab = None
        if lab is not None:
            if not self.quiet:
                stderr().print(f"using the running lab's inventory: {lab.inventory_path}")
            return Path(lab.inventory_path)
        raise errors.InventoryError(
            "no inventory: pass -i/--inventory PATH, set IPSECCTL_INVENTORY, create "
            "./inventory/hosts.yaml, or start the lab with `ipsecctl lab up`"
        )

    @property
    def inventory(self) -> Any:
        if self._inventory is None:
            import inventory as inv

            path = self.resolve_inventory_path()
            try:
                self._inventory = inv.load_inventory(path).with_overrides(
                    username=self.username, password=self.password,
                    enable_secret=self.enable_secret,
                )
            except inv.InventoryError as exc:
                raise errors.InventoryError(str(exc)) from None
            from ipsecctl.redact import register_host_secrets

            register_host_secrets(self._inventory)
        return self._inventory

    def select(self, targets: list[str]) -> list[Any]:
        import inventory as inv

        if self.replay is not None and self.inventory_path is None:
            return self._replay_hosts(targets)
        try:
            return list(self.inventory.select(targets or ["all"]))
        except inv.InventoryError as exc:
            raise errors.UsageError(str(exc)) from None

    def _replay_hosts(self, targets: list[str]) -> list[Any]:
        """Hosts of a --save-raw folder: replay needs no inventory (bug reports, offline)."""
        import json

        import inventory as inv

        assert self.replay is not None
        hosts = []
        for meta in sorted(self.replay.glob("*/meta.json")):
            try:
                data = json.loads(meta.read_text())
            except (OSError, ValueError):
                raise errors.InputFileError(f"{meta}: not a readable meta.json") from None
            name = str(data.get("device") or meta.parent.name)
            hosts.append(inv.Host(name=name, hostname=name, platform=data.get("platform")))
        if not hosts:
            raise errors.InputFileError(f"--replay {self.replay}: no saved device outputs")
        wanted = [t for t in targets if t != "all"]
        if not wanted:
            return hosts
        unknown = [t for t in wanted if t not in {h.name for h in hosts}]
        if unknown:
            raise errors.UsageError(f"{', '.join(unknown)}: not in the replay folder "
                                    f"{self.replay}")
        return [h for h in hosts if h.name in wanted]

    # -- sessions -----------------------------------------------------------------------------
    def ask_host_key(self, device: str, hostname: str, key_type: str, fingerprint: str) -> bool:
        """CLI form of the unknown-host-key question (serialised across worker threads)."""
        with self._ask_lock:
            console = stderr()
            console.print(
                f"[bold]{device}[/] ({hostname}) presents an unknown {key_type} host key\n"
                f"  fingerprint {fingerprint}"
            )
            console.print("Trust it and record it? [y/N] ", end="")
            answer = sys.stdin.readline().strip().lower()
            return answer in ("y", "yes")

    def pool(self) -> Any:
        from ipsecctl.sessions import SessionPool

        return SessionPool(
            self.settings,
            host_key_policy=self.effective_host_key_policy,
            ask_host_key=self.ask_host_key if is_interactive() else None,
            replay_dir=self.replay,
            save_raw=self.save_raw,
        )

    def collector(self, extra_commands: list[str] | None = None) -> Any:
        from ipsecctl.collect import Collector

        return Collector(
            self.pool(),
            workers=self.effective_workers,
            extra_commands=extra_commands or [],
        )
