"""What every command shares: global options, settings, the inventory, and the operations layer.

Resolution rules live here once: the inventory lookup order (``-i``, ``IPSECCTL_INVENTORY``,
``./inventory/``, the running lab), the host-key policy default (``ask`` at a terminal,
``reject`` otherwise) and read-only mode (flag, environment or config file). Polling and
actions go through :mod:`ipsecctl.ops`; this module only supplies the terminal's side of it
(the confirmation prompt, progress lines on stderr).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ipsecctl import errors

if TYPE_CHECKING:
    from rich.console import Console

    from inventory import Host, Inventory
    from ipsecctl.actions import Progress
    from ipsecctl.ops.fleet import Fleet, HistorySink
    from ipsecctl.ops.stored import StoredFleet
    from ipsecctl.ops.workflow import ActionPlan, ActionRequest, Workflow
    from ipsecctl.settings import HostKeyPolicy, Settings, TransportName

log = logging.getLogger(__name__)


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, emoji=False)


def escape(text: str) -> str:
    """Device text inside rich markup (rich is imported by the commands that print)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


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
    host_key_policy: HostKeyPolicy | None = None
    transport: TransportName | None = None  # --transport: wins over the setting
    read_only: bool = False
    workers: int | None = None
    replay: Path | None = None
    save_raw: Path | None = None
    save_raw_secrets: bool = False
    store_url: str | None = None
    from_store: str | None = None
    quiet: bool = False
    #: the console script runs this command in a process of its own (decisions for the whole
    #: process, such as the dashboard's garbage collection, are then ipsecctl's to make)
    own_process: bool = False
    _settings: Settings | None = None
    _inventory: Inventory | None = None
    _history: HistorySink | None = None
    _history_opened: bool = False
    _ask_lock: threading.Lock = field(default_factory=threading.Lock)

    # -- settings & modes ---------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from ipsecctl.settings import load_settings

            self._settings = load_settings(Path(self.config_path) if self.config_path else None)
            if self.transport is not None:
                self._settings.transport = self.transport
        return self._settings

    @property
    def is_read_only(self) -> bool:
        return (
            self.read_only
            or truthy(os.environ.get("IPSECCTL_READ_ONLY"))
            or self.settings.read_only
        )

    @property
    def effective_host_key_policy(self) -> HostKeyPolicy:
        policy = self.host_key_policy or self.settings.host_key_policy
        if policy is None:
            policy = "ask" if is_interactive() else "reject"
        if policy == "ask" and not is_interactive():
            policy = "reject"  # never wait on a prompt without a terminal
        return policy

    @property
    def effective_workers(self) -> int:
        return self.workers or self.settings.workers

    # -- inventory ----------------------------------------------------------------------------
    def resolve_inventory_path(self) -> Path:
        from inventory import find_inventory

        found = find_inventory(self.inventory_path)
        if found is not None:
            return Path(found)
        from ipsecctl.lab import find_lab

        try:
            lab = find_lab(None)
        except errors.IpsecctlError:
            lab = None
        if lab is not None and lab.running:
            if not self.quiet:
                stderr().print(f"using the running lab's inventory: {lab.inventory_path}")
            return Path(lab.inventory_path)
        stale = (
            f" (the lab in {lab.dir} is not running: `ipsecctl lab up --dir {lab.dir}`)"
            if lab is not None
            else ""
        )
        raise errors.InventoryError(
            "no inventory: pass -i/--inventory PATH, set IPSECCTL_INVENTORY, create "
            "./inventory/hosts.yaml, or start the lab with `ipsecctl lab up`" + stale
        )

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            import inventory as inv

            path = self.resolve_inventory_path()
            from ipsecctl.inventory_files import read_inventory_yaml
            from ipsecctl.platforms import spellings

            try:
                self._inventory = inv.load_inventory(
                    path, platforms=spellings(), yaml_reader=read_inventory_yaml
                ).with_overrides(
                    username=self.username,
                    password=self.password,
                    enable_secret=self.enable_secret,
                )
            except inv.InventoryError as exc:
                raise errors.InventoryError(str(exc)) from None
            from ipsecctl.redact import register_host_secrets

            register_host_secrets(self._inventory)
        return self._inventory

    def select(self, targets: list[str]) -> list[Host]:
        import inventory as inv

        if self.replay is not None and self.inventory_path is None:
            return self._replay_hosts(targets)
        try:
            return list(self.inventory.select(targets or ["all"]))
        except inv.InventoryError as exc:
            raise errors.UsageError(str(exc)) from None

    def _replay_hosts(self, targets: list[str]) -> list[Host]:
        """Hosts of a --save-raw folder: replay needs no inventory (bug reports, offline)."""
        import json

        from inventory import Host

        assert self.replay is not None
        hosts = []
        for meta in sorted(self.replay.glob("*/meta.json")):
            try:
                data = json.loads(meta.read_text())
            except (OSError, ValueError):
                raise errors.InputFileError(f"{meta}: not a readable meta.json") from None
            name = str(data.get("device") or meta.parent.name)
            hosts.append(Host(name=name, hostname=name, platform=data.get("platform")))
        if not hosts:
            raise errors.InputFileError(f"--replay {self.replay}: no saved device outputs")
        wanted = [t for t in targets if t != "all"]
        if not wanted:
            return hosts
        unknown = [t for t in wanted if t not in {h.name for h in hosts}]
        if unknown:
            raise errors.UsageError(f"{', '.join(unknown)}: not in the replay folder {self.replay}")
        return [h for h in hosts if h.name in wanted]

    # -- the operations layer -----------------------------------------------------------------
    def ask_host_key(self, device: str, hostname: str, key_type: str, fingerprint: str) -> bool:
        """CLI form of the unknown-host-key question (serialised across worker threads)."""
        with self._ask_lock:
            console = stderr()
            console.print(
                f"[bold]{escape(device)}[/] ({escape(hostname)}) presents an unknown {key_type} "
                f"host key\n  fingerprint {fingerprint}"
            )
            console.print("Trust it and record it? \\[y/N] ", end="")
            answer = sys.stdin.readline().strip().lower()
            return answer in ("y", "yes")

    def history_store(self) -> HistorySink | None:
        """The history store every poll and action goes to, opened once per process (None
        when it cannot be opened: a poll never fails for want of history). Replayed outputs
        are not history."""
        if not self._history_opened:
            self._history_opened = True
            if self.replay is None:
                from ipsecctl.ops.setup import open_history

                self._history = open_history(self.settings, self.store_url)
        return self._history

    def deferred_history(self) -> HistorySink | None:
        """The history store as a poll takes it: opened by the poll's first read or write of
        it, once the devices have answered, not before the first one is asked (the location
        is checked now). None for replayed outputs."""
        if self.replay is not None:
            return None
        if self._history_opened:
            return self._history
        from ipsecctl.ops.deferred_history import DeferredHistory
        from ipsecctl.store import check_location, default_location

        check_location(self.store_url or default_location(self.settings))
        return DeferredHistory(self._history_late)

    def _history_late(self) -> HistorySink | None:
        """:meth:`history_store` once the devices have answered: a store that turns out
        unusable only now (a file that is not a database, a folder that cannot be made)
        costs the history, not the poll just made."""
        try:
            return self.history_store()
        except errors.UsageError as exc:
            log.warning("history store unavailable, polls are not recorded: %s", exc)
            return None

    def close(self) -> None:
        """End of the command: buffered history is written (or reported) before exit."""
        store, self._history = self._history, None
        if store is not None:
            close = getattr(store, "close", None)
            if callable(close):
                close()

    def fleet(self, hosts: list[Host], *, logs: bool = False, keep_raw: bool = False) -> Fleet:
        from ipsecctl.ops.setup import open_fleet

        return open_fleet(
            self.settings,
            hosts,
            host_key_policy=self.effective_host_key_policy,
            ask_host_key=self.ask_host_key if is_interactive() else None,
            replay_dir=self.replay,
            save_raw=self.save_raw,
            save_raw_secrets=self.save_raw_secrets,
            store=self.deferred_history(),
            logs=logs,
            workers=self.effective_workers,
            keep_raw=keep_raw,
        )

    def stored_fleet(self, targets: list[str]) -> StoredFleet:
        """The fleet as read from ``--from-store``: plain device names are taken as they are
        (no inventory needed), ``group:``/``tag:`` through the inventory, all: every device
        the store holds."""
        from ipsecctl.ops.stored import open_stored

        assert self.from_store is not None
        wanted = [t for t in targets if t != "all"]
        names: list[str] = []
        for t in wanted:
            names += [h.name for h in self.select([t])] if ":" in t else [t]
        return open_stored(self.from_store, list(dict.fromkeys(names)) or None)

    def name_interrupted_actions(self) -> None:
        """Actions a killed ipsecctl left half done are named by the next run, whatever it
        is (a listing of one small folder when there are none)."""
        try:
            inflight = self.settings.actions_dir / "inflight"
            if not inflight.is_dir() or not any(inflight.iterdir()):
                return
        except (OSError, errors.IpsecctlError):
            return  # a broken config is reported by the command itself
        from ipsecctl.ops.setup import interrupted

        for line in interrupted(self.settings):
            stderr().print(f"[yellow]warning:[/] {escape(line)}", highlight=False)

    def workflow(self) -> Workflow:
        from ipsecctl.ops.setup import open_workflow

        return open_workflow(
            self.settings, read_only=self.is_read_only, source="cli", history=self.history_store()
        )

    def confirm(self, request: ActionRequest) -> bool:
        """The terminal's confirmation: the question, answered on stdin."""
        console = stderr()
        console.print("Proceed? \\[y/N] ", end="")
        return sys.stdin.readline().strip().lower() in ("y", "yes")

    def confirmer(self, yes: bool) -> Callable[[ActionRequest], bool] | None:
        """What the workflow may call to ask: None without a terminal (never wait on a
        prompt nobody can answer), unless ``--yes`` makes asking unnecessary."""
        if yes or not is_interactive():
            return None
        return self.confirm

    def show_request(self, request: ActionRequest) -> None:
        """Counts first, then every exact command, before anything is asked or sent."""
        console = stderr()
        console.print(f"[bold]{escape(request.headline())}[/]:")
        for what, commands in request.lines():
            console.print(f"  {escape(what)}")
            for cmd in commands:
                console.print(f"    {escape(cmd)}", highlight=False)

    def progress(self, plan: ActionPlan, event: Progress) -> None:
        """Action steps on stderr as they happen (the result table comes at the end)."""
        if self.quiet or event.stage == "done":
            return
        tag = f"{plan.action} {plan.device} -> {plan.peer}"
        style = "red" if event.stage in ("refused", "lost", "repoll_failed") else "dim"
        stderr().print(f"[{style}]{escape(tag)}: {escape(event.text)}[/]", highlight=False)
