"""The ``ipsecctl`` command line: thin wrappers over collect, actions, diag and the lab.

Exit codes (every command): 0 all good; 1 operational error (unreachable, timeout, auth, parse,
an action that did not verify); 2 usage (bad arguments, bad inventory, unreadable input file);
3 the command worked and found a problem (a tunnel down that is expected up, a finding of
warning or worse); 4 refused (read-only mode, declined confirmation, or a confirmation needed
with no terminal and no ``--yes``). When several apply: 2, then 1, then 4, then 3.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.markup import escape

from ipsecctl import __version__, errors
from ipsecctl.cli import (
    commands_actions,
    commands_history,
    commands_info,
    commands_parse,
    commands_views,
)
from ipsecctl.cli.context import AppContext, stderr
from ipsecctl.settings import HOST_KEY_POLICIES, HostKeyPolicy

EXIT_HELP = (
    "Exit codes: 0 all good; 1 operational error (unreachable, timeout, auth, parse, an action "
    "that did not verify); 2 usage (bad arguments, bad inventory, unreadable input); 3 worked "
    "and found a problem (a tunnel down that is expected up, a finding of warning or worse); "
    "4 refused (read-only, declined, or confirmation needed without a terminal and --yes)."
)

app = typer.Typer(
    name="ipsecctl",
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
        typer.Option("-i", "--inventory", help="Inventory dir or file (env IPSECCTL_INVENTORY).",
                     show_default=False),
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Config file (env IPSECCTL_CONFIG).")
    ] = None,
    host_key_policy: Annotated[
        str | None,
        typer.Option("--host-key-policy", help="reject | ask | accept-new (default: ask at a "
                     "terminal, reject otherwise). A changed key always fails."),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Refuse every action (env IPSECCTL_READ_ONLY).")
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=512, help="Devices polled at once.")
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option("--replay", help="Read device outputs saved with --save-raw instead of "
                     "connecting (offline analysis)."),
    ] = None,
    save_raw: Annotated[
        Path | None, typer.Option("--save-raw", metavar="DIR",
                                  help="Save every raw device output to DIR (0600 files in a "
                                  "0700 folder; keys and passwords replaced by <removed>).")
    ] = None,
    store: Annotated[
        str | None, typer.Option("--store", metavar="URL",
                                 help="History store: a file, sqlite:///PATH or postgresql://... "
                                 "(default: the history file in the state directory; config "
                                 "file `store`).")
    ] = None,
    save_raw_secrets: Annotated[
        bool, typer.Option("--save-raw-secrets",
                           help="Keep key material in --save-raw files (do not redact).")
    ] = False,
    username: Annotated[
        str | None,
        typer.Option("-u", "--username", help="Log in as this user on every device "
                     "(overrides IPSECCTL_USERNAME and the inventory)."),
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
    if host_key_policy is not None and host_key_policy not in HOST_KEY_POLICIES:
        raise errors.UsageError(
            f"--host-key-policy {host_key_policy!r} is not one of {', '.join(HOST_KEY_POLICIES)}"
        )
    if replay is not None and not replay.is_dir():
        raise errors.InputFileError(f"--replay {replay}: not a directory of saved outputs")
    from ipsecctl.logging_setup import setup_logging

    setup_logging(verbose, log_file)
    password = _prompt_secret("password", "--ask-pass") if ask_pass else None
    enable_secret = _prompt_secret("enable secret", "--ask-enable") if ask_enable else None
    ctx.obj = AppContext(
        store_url=store,
        save_raw_secrets=save_raw_secrets,
        username=username,
        password=password,
        enable_secret=enable_secret,
        inventory_path=inventory,
        config_path=config,
        host_key_policy=cast(HostKeyPolicy | None, host_key_policy),
        read_only=read_only,
        workers=workers,
        replay=replay,
        save_raw=save_raw,
    )
    ctx.call_on_close(ctx.obj.close)


def _prompt_secret(what: str, option: str) -> str:
    """Secrets are typed, never passed as arguments (they would show in ps and history)."""
    import getpass

    if not sys.stdin.isatty():
        raise errors.UsageError(f"{option} needs a terminal",
                                hint="set IPSECCTL_PASSWORD / IPSECCTL_ENABLE_SECRET instead")
    return getpass.getpass(f"{what}: ")


commands_views.register(app)
commands_parse.register(app)
commands_actions.register(app)
commands_info.register(app)
commands_history.register(app)


def _register_subcommands() -> None:
    """Sub-apps that live in their own modules (lab, diagnostics, audit, dashboard)."""
    from ipsecctl.cli import audit_cmd, commands_tui, diag, diag_esp, diag_ike, lab, provision

    app.add_typer(lab.app, name="lab", help="The embedded lab of simulated routers.")
    diag_esp.register(diag.app)
    diag_ike.register(diag.app)
    app.add_typer(diag.app, name="diag", help="Explain failures: health, pair, logs, mtu; "
                  "packets: esp, ike, probe.")
    app.command("audit")(audit_cmd.audit)
    app.add_typer(provision.app, name="provision",
                  help="Generate, check, review and push both ends of a tunnel.")
    commands_tui.register(app)


_register_subcommands()

# options that belong to the top level but that operators type after the subcommand
_GLOBAL_WITH_VALUE = {"-i", "--inventory", "--host-key-policy", "--workers", "--config",
                      "--replay", "--save-raw", "--log-file", "-u", "--username", "--store"}
_GLOBAL_FLAGS = {"--read-only", "--ask-pass", "--ask-enable", "--save-raw-secrets"}


def _own_options(argv: list[str]) -> set[str]:
    """Option names the subcommand named in ``argv`` declares itself: those stay with it
    (``diag esp FILE --workers 2`` is the decoder's --workers, not the poll pool's)."""
    command: Any = typer.main.get_command(app)
    names: set[str] = set()
    for arg in argv:
        if arg.startswith("-"):
            continue
        sub = (getattr(command, "commands", None) or {}).get(arg)
        if sub is None:
            break
        command = sub
        for param in command.params:
            if param.param_type_name == "option":
                names.update(param.opts)
                names.update(param.secondary_opts)
    return names


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options typed after the subcommand to the front (``status -i inv``).

    Everything after ``--`` is left alone, as are ``-v`` flags (subcommands may use them) and
    options the subcommand declares itself.
    """
    own = _own_options(argv)
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


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, map the error tree to exit codes, no tracebacks."""
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    command = readable_help(typer.main.get_command(app))
    try:
        # standalone mode: typer reports its own usage errors (exit 2) and Exit codes
        command.main(args=args, prog_name="ipsecctl", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except errors.IpsecctlError as exc:
        stderr().print("[red]error:[/] " + escape(str(exc)), highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        stderr().print("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    return 0


def run() -> Any:
    sys.exit(main())


if __name__ == "__main__":
    run()
