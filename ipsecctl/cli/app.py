"""The ``ipsecctl`` command line: thin wrappers over collect, actions, diag and the lab.

Exit codes (every command): 0 all good; 1 operational error (unreachable, timeout, auth, parse,
an action that did not verify); 2 usage (bad arguments, bad inventory, unreadable input file);
3 the command worked and found a problem (a tunnel down that is expected up, a finding of
warning or worse); 4 refused (read-only mode, declined confirmation, or a confirmation needed
with no terminal and no ``--yes``). When several apply: 2, then 1, then 4, then 3.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, cast

import typer
from typer.core import TyperCommand, TyperGroup

from ipsecctl import __version__, errors

if TYPE_CHECKING:
    from ipsecctl.settings import HostKeyPolicy, TransportName

EXIT_HELP = (
    "Exit codes: 0 all good; 1 operational error (unreachable, timeout, auth, parse, an action "
    "that did not verify); 2 usage (bad arguments, bad inventory, unreadable input); 3 worked "
    "and found a problem (a tunnel down that is expected up, a finding of warning or worse); "
    "4 refused (read-only, declined, or confirmation needed without a terminal and --yes)."
)


# -- commands, loaded when named -------------------------------------------------------------
# Each command's module (and what it imports: rich tables, Textual, paramiko, cryptography,
# the diagnostics) is imported only when that command runs. ``--help`` lists every command
# from this table without importing any of them; tests/test_startup.py checks that each line
# here is the command's own help. A new command module: its names in _LOADERS, their help
# lines in _HELP.
def _register(module: str) -> Callable[[typer.Typer], None]:
    """A module whose ``register(app)`` adds its commands."""

    def load(holder: typer.Typer) -> None:
        importlib.import_module(f"ipsecctl.cli.{module}").register(holder)

    return load


def _sub_app(module: str, name: str, help: str) -> Callable[[typer.Typer], None]:
    """A module whose ``app`` is a group of its own (``lab``, ``provision``)."""

    def load(holder: typer.Typer) -> None:
        holder.add_typer(
            importlib.import_module(f"ipsecctl.cli.{module}").app, name=name, help=help
        )

    return load


def _diag(holder: typer.Typer) -> None:
    from ipsecctl.cli import diag, diag_capture, diag_esp, diag_ike

    if not any(c.name == "esp" for c in diag.app.registered_commands):
        diag_esp.register(diag.app)
        diag_ike.register(diag.app)
        diag_capture.register(diag.app)
    holder.add_typer(diag.app, name="diag", help=_HELP["diag"])


def _audit(holder: typer.Typer) -> None:
    from ipsecctl.cli import audit_cmd

    holder.command("audit")(audit_cmd.audit)


_HELP = {
    "status": "Per device: reachable, IKE SAs up/total, tunnels up/total, faults, errors.",
    "tunnels": "Every tunnel: peer, selectors, IKE state, tunnel state, SPIs, packets, errors.",
    "ike": "Every IKE SA (IKEv1 and IKEv2) with state, algorithms and lifetime.",
    "show": "Everything about one device, or one tunnel with --peer.",
    "parse": "Parse a saved output offline into the ipsecctl/v1 model.",
    "clear": "Clear the SAs to a peer (prints the exact device commands first).",
    "rekey": "Re-key: clear the session and bring it back with traffic; old vs new SPIs.",
    "info": "Paths and modes: config, inventory, audit log, known_hosts, lab, history.",
    "history": "A timeline of tunnel events (up, down, rekeys, one-way, errors, actions) from "
    "the\nhistory store; no device is polled.",
    "watch": "Poll continuously and print every change as a line: tunnel up/down, one-way\n"
    "traffic, IKE state, rekeys with old and new SPIs, errors rising, device unreachable\n"
    "and back. Ctrl-C ends it with a summary.",
    "collect": "Poll continuously into the history store (--store), printing only devices that\n"
    "stop or start answering: a collector for one region, jump host or --shard.",
    "check": "Monitoring plugin (Nagios, Icinga, Naemon, Checkmk): exit 0 OK, 1 WARNING,\n"
    "2 CRITICAL, 3 UNKNOWN (not ipsecctl's own exit codes); one status line with\n"
    "performance data, then details.",
    "exporter": "Prometheus metrics of every tunnel at /metrics (ipsecctl_tunnel_up, packets,\n"
    "bytes and errors counters, SA lifetimes, IKE SAs, devices), from the last poll.",
    "audit": "Weak crypto per device, the lines to change, and a fleet summary; exit 3 on "
    "warnings.",
    "dashboard": "The live dashboard: fleet, tunnels, why, events; Enter drills in; actions "
    "by key.",
    "demo": "Start the embedded lab, open the dashboard on it, stop the lab on exit.\n\nThe "
    "dashboard shows at once and fills in as the lab's routers start and answer.",
    "inventory": "Inspect and validate the inventory.",
    "lab": "The embedded lab of simulated routers.",
    "diag": "Explain failures: health, pair, logs, mtu; packets: esp, ike, probe, capture.",
    "provision": "Generate, check, review and push both ends of a tunnel.",
    "pki": "A lab CA: ca init, issue (certificate auth).",
}

_info = _register("commands_info")
#: in the order ``--help`` lists them (commands, then groups)
_LOADERS: dict[str, Callable[[typer.Typer], None]] = {
    **dict.fromkeys(("status", "tunnels", "ike", "show"), _register("commands_views")),
    "parse": _register("commands_parse"),
    **dict.fromkeys(("clear", "rekey"), _register("commands_actions")),
    "info": _info,
    "history": _register("commands_history"),
    **dict.fromkeys(("watch", "collect"), _register("commands_watch")),
    "check": _register("commands_check"),
    "exporter": _register("commands_exporter"),
    "audit": _audit,
    **dict.fromkeys(("dashboard", "demo"), _register("commands_tui")),
    "inventory": _info,
    "lab": _sub_app("lab", "lab", _HELP["lab"]),
    "diag": _diag,
    "provision": _sub_app("provision", "provision", _HELP["provision"]),
    "pki": _sub_app("pki", "pki", _HELP["pki"]),
}
_loaded: dict[Callable[[typer.Typer], None], dict[str, Any]] = {}


def load_command(name: str) -> Any:
    """The real command ``name`` (its module imported now), or None if it is not lazy."""
    loader = _LOADERS.get(name)
    if loader is None:
        return None
    commands = _loaded.get(loader)
    if commands is None:
        holder = typer.Typer(rich_markup_mode="rich", pretty_exceptions_enable=False)
        loader(holder)
        commands = dict(typer.main.get_group(holder).commands)
        _loaded[loader] = commands
    return commands.get(name)


class _Listed(TyperCommand):
    """A command as ``--help`` and completion list it, before its module is imported."""

    def invoke(self, ctx: Any) -> Any:  # pragma: no cover - resolve_command loads first
        raise RuntimeError(f"{self.name}: command not loaded")


def _tune_collector() -> None:
    """The console script's process only (a program that embeds :func:`main` keeps its
    collector as it is): the modules just imported live as long as the process, so they are
    moved out of the cyclic collector's sight (``gc.freeze``), and the youngest generation
    is collected every 50,000 allocations instead of every 700, as mypy's entry point does.
    A command that builds 10,000 tunnels otherwise walks every live object again and again
    (a fifth of its time); reference counting still frees everything that is not a cycle."""
    import gc

    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(50_000, gen1, gen2)


class LazyGroup(TyperGroup):
    """The top-level group: every lazy command is listed by name and help, and imported
    when it is the one invoked (commands registered on the app directly come first)."""

    #: set by the console script (:func:`run`), which owns its process; see resolve_command
    own_process = False

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        eager = dict(commands or {})
        listed: dict[str, Any] = {
            name: _Listed(name=name, help=_HELP[name]) for name in _LOADERS if name not in eager
        }
        super().__init__(commands={**listed, **eager}, **attrs)

    def load(self, name: str) -> Any:
        """The real command ``name``, replacing its listing."""
        command = self.commands.get(name)
        if isinstance(command, _Listed):
            command = load_command(name)
            if command is not None:
                readable_help(command)
            self.commands[name] = command
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args:
            self.load(args[0])
            if self.own_process:
                _tune_collector()
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="ipsecctl",
    cls=LazyGroup,
    help="Live IPsec tunnel operations for Cisco IOS/IOS-XE/ASA and strongSwan.",
    epilog=EXIT_HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"ipsecctl {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    inventory: Annotated[
        str | None,
        typer.Option(
            "-i",
            "--inventory",
            help="Inventory dir or file (env IPSECCTL_INVENTORY).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Config file (env IPSECCTL_CONFIG).")
    ] = None,
    host_key_policy: Annotated[
        str | None,
        typer.Option(
            "--host-key-policy",
            help="reject | ask | accept-new (default: ask at a "
            "terminal, reject otherwise). A changed key always fails.",
        ),
    ] = None,
    transport: Annotated[
        str | None,
        typer.Option(
            "--transport",
            help="SSH client: paramiko (default) or openssh (the ssh command per device: "
            "less CPU per poll; env IPSECCTL_TRANSPORT).",
        ),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Refuse every action (env IPSECCTL_READ_ONLY).")
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=512, help="Devices polled at once.")
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            help="Read device outputs saved with --save-raw instead of "
            "connecting (offline analysis).",
        ),
    ] = None,
    save_raw: Annotated[
        Path | None,
        typer.Option(
            "--save-raw",
            metavar="DIR",
            help="Save every raw device output to DIR (0600 files in a "
            "0700 folder; keys and passwords replaced by <removed>).",
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="URL",
            help="History store: a file, sqlite:///PATH or postgresql://... "
            "(default: the history file in the state directory; config "
            "file `store`).",
        ),
    ] = None,
    from_store: Annotated[
        str | None,
        typer.Option(
            "--from-store",
            metavar="URL",
            help="Read the fleet from a history store the collectors write "
            "(a file or postgresql://...) instead of polling; each device "
            "shows its age. Actions still need a collector.",
        ),
    ] = None,
    save_raw_secrets: Annotated[
        bool,
        typer.Option(
            "--save-raw-secrets", help="Keep key material in --save-raw files (do not redact)."
        ),
    ] = False,
    username: Annotated[
        str | None,
        typer.Option(
            "-u",
            "--username",
            help="Log in as this user on every device "
            "(overrides IPSECCTL_USERNAME and the inventory).",
        ),
    ] = None,
    ask_pass: Annotated[
        bool, typer.Option("--ask-pass", help="Prompt for the login password (not echoed).")
    ] = False,
    ask_enable: Annotated[
        bool, typer.Option("--ask-enable", help="Prompt for the enable secret (not echoed).")
    ] = False,
    verbose: Annotated[
        int, typer.Option("-v", "--verbose", count=True, help="-v info, -vv debug (stderr).")
    ] = 0,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Write a debug log (secrets redacted).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    from ipsecctl.cli.context import AppContext

    if host_key_policy is not None:
        from ipsecctl.settings import HOST_KEY_POLICIES

        if host_key_policy not in HOST_KEY_POLICIES:
            raise errors.UsageError(
                f"--host-key-policy {host_key_policy!r} is not one of "
                f"{', '.join(HOST_KEY_POLICIES)}"
            )
    if transport is not None:
        from ipsecctl.settings import TRANSPORTS

        if transport not in TRANSPORTS:
            raise errors.UsageError(
                f"--transport {transport!r} is not one of {', '.join(TRANSPORTS)}"
            )
    if replay is not None and not replay.is_dir():
        raise errors.InputFileError(f"--replay {replay}: not a directory of saved outputs")
    from ipsecctl.logging_setup import setup_logging

    setup_logging(verbose, log_file)
    password = _prompt_secret("password", "--ask-pass") if ask_pass else None
    enable_secret = _prompt_secret("enable secret", "--ask-enable") if ask_enable else None
    ctx.obj = AppContext(
        store_url=store,
        from_store=from_store,
        save_raw_secrets=save_raw_secrets,
        username=username,
        password=password,
        enable_secret=enable_secret,
        inventory_path=inventory,
        config_path=config,
        host_key_policy=cast("HostKeyPolicy | None", host_key_policy),
        transport=cast("TransportName | None", transport),
        read_only=read_only,
        workers=workers,
        replay=replay,
        save_raw=save_raw,
        own_process=bool(getattr(ctx.command, "own_process", False)),
    )
    ctx.call_on_close(ctx.obj.close)
    ctx.obj.name_interrupted_actions()


def _prompt_secret(what: str, option: str) -> str:
    """Secrets are typed, never passed as arguments (they would show in ps and history)."""
    import getpass

    if not sys.stdin.isatty():
        raise errors.UsageError(
            f"{option} needs a terminal",
            hint="set IPSECCTL_PASSWORD / IPSECCTL_ENABLE_SECRET instead",
        )
    return getpass.getpass(f"{what}: ")


# options that belong to the top level but that operators type after the subcommand
_GLOBAL_WITH_VALUE = {
    "-i",
    "--inventory",
    "--host-key-policy",
    "--transport",
    "--workers",
    "--config",
    "--replay",
    "--save-raw",
    "--log-file",
    "-u",
    "--username",
    "--store",
    "--from-store",
}
_GLOBAL_FLAGS = {"--read-only", "--ask-pass", "--ask-enable", "--save-raw-secrets"}


def _own_options(argv: list[str], root: Any = None) -> set[str]:
    """Option names the subcommand named in ``argv`` declares itself: those stay with it
    (``diag esp FILE --workers 2`` is the decoder's --workers, not the poll pool's)."""
    command: Any = root if root is not None else typer.main.get_command(app)
    names: set[str] = set()
    for arg in argv:
        if arg.startswith("-"):
            continue
        if isinstance(command, LazyGroup):
            command.load(arg)
        sub = (getattr(command, "commands", None) or {}).get(arg)
        if sub is None:
            break
        command = sub
        for param in command.params:
            if param.param_type_name == "option":
                names.update(param.opts)
                names.update(param.secondary_opts)
    return names


def hoist_global_options(argv: list[str], root: Any = None) -> list[str]:
    """Move global options typed after the subcommand to the front (``status -i inv``).

    Everything after ``--`` is left alone, as are ``-v`` flags (subcommands may use them) and
    options the subcommand declares itself.
    """
    own = (
        _own_options(argv, root)
        if any(a in _GLOBAL_FLAGS or a.split("=", 1)[0] in _GLOBAL_WITH_VALUE for a in argv)
        else set()
    )
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_WITH_VALUE and rest and name not in own:
            if "=" in arg:
                front.append(arg)
            else:
                front += argv[i : i + 2]
                i += 1
        elif arg in _GLOBAL_FLAGS and rest and arg not in own:
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _value_name(param: Any) -> str:
    """``TEXT``, ``PATH``, ``INTEGER``...: what one value of a repeatable parameter is."""
    name = getattr(getattr(param, "type", None), "name", "") or "text"
    return "PATH" if name in ("path", "file") else name.upper()


def readable_help(command: Any) -> Any:
    """``--help`` as operators read it: flags show no value type (typer's rich help prints
    ``<bool>``, as if they took one) and repeatable options say so instead of ``<list[str]>``.
    Applied to the click command tree once, here, for every command."""
    from typer.core import TyperArgument, TyperOption

    if getattr(command, "_readable_help", False):
        return command
    command._readable_help = True
    for param in getattr(command, "params", []):
        if isinstance(param, TyperOption):
            if (param.is_flag or param.count) and param.metavar is None:
                param.metavar = ""
            elif param.multiple and "repeatable" not in (param.metavar or ""):
                param.metavar = f"{param.metavar or _value_name(param)} (repeatable)"
        elif isinstance(param, TyperArgument) and param.nargs != 1:
            label = "(any number)" if param.metavar else f"{_value_name(param)}... (any number)"
            param.display_type_rich = lambda ctx, label=label: label  # type: ignore[method-assign,misc]
    original = getattr(command, "get_help_option", None)
    if original is not None:

        def get_help_option(ctx: Any, _original: Any = original) -> Any:
            option = _original(ctx)  # made on first use, with the context's names
            if option is not None and option.metavar is None:
                option.metavar = ""
            return option

        command.get_help_option = get_help_option
    for sub in (getattr(command, "commands", None) or {}).values():
        readable_help(sub)
    return command


def _is_check(args: list[str]) -> bool:
    """Whether ``args`` (global options hoisted to the front) run ``check``."""
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            skip = arg in _GLOBAL_WITH_VALUE
            continue
        return arg == "check"
    return False


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """Run the app, map the error tree to exit codes, no tracebacks."""
    command = readable_help(typer.main.get_command(app))
    if isinstance(command, LazyGroup):
        command.own_process = own_process
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv), command)
    if _is_check(args):  # the monitoring-plugin contract: never exit 2, never a traceback
        from ipsecctl.cli import commands_check

        return commands_check.run(command, args)
    try:
        # standalone mode: typer reports its own usage errors (exit 2) and Exit codes
        command.main(args=args, prog_name="ipsecctl", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except errors.IpsecctlError as exc:
        from rich.markup import escape

        from ipsecctl.cli.context import stderr

        stderr().print("[red]error:[/] " + escape(str(exc)), highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        from ipsecctl.cli.context import stderr

        stderr().print("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    return 0


def run() -> NoReturn:
    """:func:`main` in a process of its own (the console script, through
    :mod:`ipsecctl.cli.console`)."""
    _leave(main(own_process=True))


def _leave(code: int) -> NoReturn:
    """End the console script's process once its work is done, without the interpreter's
    teardown of every module and object it built (about 20 ms of every command, more after
    a big document), as mypy's entry point does. Everything a normal exit does that anyone
    can observe still happens: exit handlers run (logs flushed and closed), the output is
    flushed. When another thread is still running, the normal exit waits for it as usual."""
    import atexit
    import contextlib
    import os
    import threading

    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a reader that went away (a closed pipe) or a closed stream: nothing more to say
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
