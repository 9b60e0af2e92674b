"""``ipsecctl provision render|diff|push``: every device of a network from one spec or template.

Thin: specs, topologies, templates, pair checks, key stores and push planning live in
:mod:`ipsecctl.provision`; the staged push (device by device, verified, rolled back) lives in
:mod:`ipsecctl.ops.config_push` and runs through the same action workflow as
``clear``/``rekey``, so read-only mode, ``--yes``, "no terminal, no prompt", locks and the
audit trail behave identically for every action. Keys are resolved only for a real push (and,
for manual SAs, for the 0600 files a render writes) and are registered with
:mod:`ipsecctl.redact`, so even an unexpected echo of one is masked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape

from ipsecctl import errors
from ipsecctl.cli.context import AppContext, stderr
from ipsecctl.models import envelope
from ipsecctl.provision.model import CISCO_IOS, End
from ipsecctl.redact import register_secrets

if TYPE_CHECKING:
    from inventory import Host
    from ipsecctl.ops.config_push import Rollout
    from ipsecctl.provision.pairs import NetworkCheck
    from ipsecctl.provision.topology import Network

app = typer.Typer(
    no_args_is_help=True,
    help="Generate, check, review and push the crypto configuration of every device of a network.",
)

SpecArg = Annotated[
    Path, typer.Argument(help="Tunnel or topology spec (YAML).", show_default=False)
]
WeakOpt = Annotated[
    bool,
    typer.Option(
        "--allow-weak", help="Accept DES/3DES/MD5/SHA-1 and DH groups 1/2/5 (refused by default)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON result on stdout.")]


# ------------------------------------------------------------------------------ render
def _private_out(out: Path) -> None:
    """Create ``--out`` 0700 when it is new (an existing folder keeps its mode)."""
    try:
        if not out.exists():
            out.mkdir(parents=True, mode=0o700)
            out.chmod(0o700)
        elif not out.is_dir():
            raise errors.InputFileError(f"--out {out}: not a folder")
    except OSError as exc:
        raise errors.InputFileError(f"--out {out}: cannot create ({exc.strerror})") from None


def _write(out: Path, name: str, text: str) -> str:
    from ipsecctl.transport import write_private

    path = out / name
    try:
        write_private(path, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise errors.InputFileError(f"--out {out}: cannot write {name} ({exc.strerror})") from None
    return str(path)


def _print_pairs(check: NetworkCheck) -> None:
    console = stderr()
    for f in check.findings:
        if f.severity != "info":
            console.print(f"audit {f.severity}: {f.device}: {escape(f.summary)}", highlight=False)
    methods = ", ".join(sorted({p.method for p in check.pairs})) or "no pairs"
    if check.ok:
        console.print(
            f"[green]check ok[/] ({methods}): {len(check.pairs)} pair(s) checked "
            "both ways; ready to diff and push"
        )
        return
    bad = check.failed()
    console.print(
        f"[red]check failed[/] ({methods}): {len(bad)} of {len(check.pairs)} pair(s) fail:"
    )
    for p in bad[:50]:
        first = p.problems[0] if p.problems else ""
        console.print(
            f"  {escape(p.a)} <-> {escape(p.b)}: {p.first_failure}: {escape(first)}",
            highlight=False,
        )
    if len(bad) > 50:
        console.print(f"  ... and {len(bad) - 50} more (--json lists all)")


@app.command("render")
def render_cmd(
    target: Annotated[
        str,
        typer.Argument(
            help="A spec (YAML), or with --data a Jinja2 template: a file of yours or a "
            "built-in name (ios_crypto_map, ios_vti).",
            show_default=False,
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Data for the template: a file, a folder of files, or a CSV (one row per device).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write one file per device into DIR (0600).")
    ] = None,
    write_keys: Annotated[
        Path | None,
        typer.Option(
            "--write-keys", help="Manual SAs: write Wireshark's esp_sa table to FILE (0600)."
        ),
    ] = None,
    allow_weak: WeakOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Every device's configuration and every pair's verdict (exit 3 when a pair fails)."""
    if data is not None:
        _render_template(target, data, out, allow_weak, as_json)
        return
    from ipsecctl.provision import keys as keymod
    from ipsecctl.provision.device_configs import render_network
    from ipsecctl.provision.pairs import check_network
    from ipsecctl.provision.topology import load_network

    path = Path(target)
    if path.suffix in (".j2", ".jinja", ".jinja2"):
        raise errors.UsageError(f"{target}: a template needs --data (a file, folder or CSV)")
    net = load_network(path, allow_weak=allow_weak)
    manual = {}
    if net.spec.auth == "manual":
        manual = keymod.resolve_manual(net, path.parent)
        register_secrets(
            [
                v
                for pr in manual.values()
                for sa in (pr.ab, pr.ba)
                for v in (sa.cipher, sa.auth)
                if v
            ]
        )
    elif write_keys is not None:
        raise errors.UsageError(
            "--write-keys: only manual SAs (auth: manual) have keys to "
            "give Wireshark; IKE keys come from diag esp --keys"
        )
    renders = render_network(net, manual=manual)
    check = check_network(net, renders, allow_weak=allow_weak)
    configs: list[dict[str, Any]] = []
    if out is not None:
        _private_out(out)
        files = render_network(net, manual=manual, masked=False) if manual else renders
        for r in files:
            configs.append(
                {
                    "name": r.name,
                    "device": r.target,
                    "platform": r.platform,
                    "path": _write(out, r.filename, r.text),
                    "lines": len(r.config_lines()),
                }
            )
    else:
        configs = [
            {
                "name": r.name,
                "device": r.target,
                "platform": r.platform,
                "path": None,
                "lines": len(r.config_lines()),
            }
            for r in renders
        ]
    if write_keys is not None:
        keymod.write_keys_file(write_keys, keymod.wireshark_esp_sa(net, manual))
    _emit_render(
        net.name,
        net.kind,
        configs,
        check,
        as_json,
        [] if out is not None else [r.text for r in renders],
    )


def _emit_render(
    name: str,
    kind: str,
    configs: list[dict[str, Any]],
    check: NetworkCheck,
    as_json: bool,
    texts: list[str],
) -> None:
    if as_json:
        doc = envelope(
            "provision_render",
            network={"name": name, "topology": kind},
            ok=check.ok,
            configs=configs,
            pairs=[p.as_json() for p in check.pairs],
            findings=[f.model_dump(mode="json") for f in check.findings],
        )
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        for t in texts:
            sys.stdout.write(t if t.endswith("\n") else t + "\n")
            sys.stdout.write("\n")
        for c in configs:
            if c["path"]:
                stderr().print(f"wrote {escape(c['path'])} ({c['lines']} lines)", highlight=False)
        _print_pairs(check)
    raise typer.Exit(errors.EXIT_OK if check.ok else errors.EXIT_PROBLEM)


def _render_template(
    target: str, data: Path, out: Path | None, allow_weak: bool, as_json: bool
) -> None:
    from ipsecctl.provision.pairs import BLOCKING, check_configs
    from ipsecctl.provision.templating import load_data, load_template, render_all

    info = load_template(target)
    sets = load_data(data)
    rendered = render_all(info, sets)
    check = check_configs(rendered, allow_weak=allow_weak)
    weak = [f for f in check.findings if f.severity in BLOCKING]
    if weak and not allow_weak:
        raise errors.InputFileError(
            f"weak crypto refused: {weak[0].device}: {weak[0].summary}"
            + (f" (and {len(weak) - 1} more)" if len(weak) > 1 else "")
            + "; choose aes256/sha256/ecp256 or pass --allow-weak"
        )
    configs: list[dict[str, Any]] = []
    if out is not None:
        _private_out(out)
    for c in rendered:
        configs.append(
            {
                "name": c.name,
                "device": c.device,
                "platform": c.platform,
                "path": _write(out, c.filename, c.text) if out is not None else None,
                "lines": c.line_count(),
            }
        )
    _emit_render(
        info.path.stem,
        "template",
        configs,
        check,
        as_json,
        [] if out is not None else [c.text for c in rendered],
    )


# ------------------------------------------------------------------------------ inventory
def _host(obj: AppContext, end: End) -> Host:
    hosts = obj.select([end.target])
    if len(hosts) != 1:
        raise errors.UsageError(
            f"{end.name}: device {end.target!r} selects {len(hosts)} inventory hosts; set "
            "device: to one inventory name"
        )
    host = hosts[0]
    platform = host.platform
    if (
        platform
        and platform != end.platform
        and not (platform in CISCO_IOS and end.platform in CISCO_IOS)
    ):
        raise errors.UsageError(
            f"{end.name}: the spec says {end.platform} but inventory host {host.name} is "
            f"{platform}; fix one of them"
        )
    return host


# ------------------------------------------------------------------------------ diff
@app.command("diff")
def diff_cmd(
    ctx: typer.Context,
    spec_path: SpecArg,
    allow_weak: WeakOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fetch every device's running configuration and show what a push would change."""
    from ipsecctl.provision import push as pushmod
    from ipsecctl.provision.device_configs import render_network
    from ipsecctl.provision.topology import load_network

    obj: AppContext = ctx.obj
    net = load_network(spec_path, allow_weak=allow_weak)
    renders = render_network(net)
    hosts = [_host(obj, r.node) for r in renders]
    fleet = obj.fleet(hosts)
    diffs: list[pushmod.EndDiff] = []
    try:
        for r in renders:
            diffs.append(pushmod.diff_device(fleet.session(r.target), r))
    finally:
        fleet.close()
    if as_json:
        sys.stdout.write(
            json.dumps(
                envelope(
                    "provision-diff",
                    tunnel=net.name,
                    network={"name": net.name, "topology": net.kind},
                    ends=[d.as_json() for d in diffs],
                ),
                indent=2,
            )
            + "\n"
        )
    else:
        for d in diffs:
            if not d.diff:
                print(f"# {d.end} ({d.device}): no change")
                continue
            print("\n".join(d.diff))
    raise typer.Exit(errors.EXIT_OK)


# ------------------------------------------------------------------------------ push
@app.command("push")
def push_cmd(
    ctx: typer.Context,
    spec_path: SpecArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; send nothing.")
    ] = False,
    canary: Annotated[
        int,
        typer.Option(
            "--canary",
            min=0,
            help="Push the hubs and the first N other devices first, verified, before the rest.",
        ),
    ] = 0,
    rollback: Annotated[
        str,
        typer.Option(
            "--rollback",
            help="On the first failure roll back: failed (that device), all (every "
            "device this run pushed, newest first), none.",
        ),
    ] = "failed",
    write_memory: Annotated[
        bool,
        typer.Option(
            "--write-memory/--no-write-memory", help="Save with `write memory` after `end`."
        ),
    ] = False,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Refuse (same as global).")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help="Seconds each device's tunnels have to come up after its push.",
            metavar="SECONDS",
        ),
    ] = 10.0,
    allow_weak: WeakOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Push device by device (exact lines and rollback lines shown first, confirmed once,
    audited), verify each on a re-poll, stop and roll back at the first failure."""
    from ipsecctl.ops.config_push import (
        ConfigPushSpec,
        Verifier,
        build_plans,
        live_diagnosis,
        staged_push,
    )
    from ipsecctl.provision import keys as keymod
    from ipsecctl.provision.device_configs import render_network
    from ipsecctl.provision.pairs import check_network
    from ipsecctl.provision.topology import load_network

    if rollback not in ("failed", "all", "none"):
        raise errors.UsageError(f"--rollback {rollback}: use failed, all or none")
    mode: Literal["failed", "all", "none"] = rollback  # type: ignore[assignment]
    obj: AppContext = ctx.obj
    obj.read_only = obj.read_only or read_only
    net = load_network(spec_path, allow_weak=allow_weak)
    renders = render_network(net)
    check = check_network(net, renders, allow_weak=allow_weak)
    if not check.ok:
        _print_pairs(check)
        stderr().print("[red]not pushing a network whose pairs fail their check[/]")
        raise typer.Exit(errors.EXIT_PROBLEM)
    real = None
    if not dry_run:  # usage errors (a missing key) before refusals
        psks = keymod.resolve_psks(net, spec_path.parent)
        manual = keymod.resolve_manual(net, spec_path.parent)
        register_secrets(
            [v.get_secret_value() for v in psks.values()]
            + [
                v
                for pr in manual.values()
                for sa in (pr.ab, pr.ba)
                for v in (sa.cipher, sa.auth)
                if v
            ]
        )
        real = render_network(net, psks, manual, masked=False)
    hosts = [_host(obj, r.node) for r in renders]
    workflow = obj.workflow()
    workflow.extra = {"network": net.name, "spec": str(spec_path), "tunnel": net.name}
    fleet = obj.fleet(hosts)
    try:
        plans = build_plans(
            fleet,
            renders,
            real,
            network=net.name,
            hubs=net.hubs,
            canary=canary,
            write_memory=write_memory,
        )
        todo = [p for p in plans if p.changes]
        if todo:
            _show_plan(obj, todo, len(plans))
        spec = ConfigPushSpec(
            fleet, Verifier(fleet, wait=wait), diagnose=live_diagnosis(fleet, plans)
        )
        spec.verifier.ready |= {p.node for p in plans if not p.changes}

        def on_stage(stage: str, count: int) -> None:
            if not obj.quiet:
                stderr().print(f"[bold]{stage}[/]: {count} device(s)")

        result = staged_push(
            workflow,
            spec,
            todo,
            confirm=obj.confirmer(yes),
            yes=yes,
            dry_run=dry_run,
            progress=obj.progress,
            rollback=mode,
            on_stage=on_stage,
        )
    finally:
        fleet.close()
    unchanged = [p for p in plans if not p.changes]
    _report(net, result, [p.device for p in unchanged], as_json)
    if dry_run or result.ok:
        raise typer.Exit(errors.EXIT_OK)
    raise typer.Exit(errors.EXIT_OPERATIONAL)


def _show_plan(obj: AppContext, plans: list[Any], total: int) -> None:
    from ipsecctl.ops.workflow import ActionRequest

    obj.show_request(ActionRequest("provision push", plans))
    console = stderr()
    lines = sum(len(p.commands) for p in plans)
    back = sum(len(p.rollback_commands) for p in plans)
    canary = sum(1 for p in plans if p.stage == "canary")
    console.print(
        f"[bold]{len(plans)} of {total} device(s) to change"
        + (f" ({canary} in the canary group)" if canary else "")
        + f", {lines} line(s) to send; each device is verified before the next[/]"
    )
    console.print(f"[bold]on failure, these rollback commands will be sent ({back} line(s)):[/]")
    for p in plans:
        console.print(f"  {escape(p.device)}:")
        for c in p.rollback_commands:
            console.print(f"    {escape(p.device)}# {escape(c)}", highlight=False)
    for p in plans:
        for w in p.warnings:
            console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)


def _report(net: Network, result: Rollout, unchanged: list[str], as_json: bool) -> None:
    devices = [r.as_json() for r in result.results]
    up = bool(devices) and all(d.get("tunnel_state") == "up" for d in devices if d.get("tunnels"))
    if as_json:
        sys.stdout.write(
            json.dumps(
                envelope(
                    "provision-push",
                    tunnel=net.name,
                    network={"name": net.name, "topology": net.kind},
                    dry_run=result.dry_run,
                    ok=result.ok or result.dry_run,
                    stopped_at=result.stopped_at,
                    reason=result.reason,
                    devices=devices,
                    ends=devices,
                    unchanged=unchanged,
                    tunnel_up=up and not result.dry_run,
                    rollbacks=[r.as_json() for r in result.rollbacks],
                ),
                indent=2,
                default=str,
            )
            + "\n"
        )
        return
    for d in devices:
        if d["dry_run"]:
            print(f"{d['device']}: dry run, nothing sent ({len(d['commands'])} command(s) planned)")
        elif d["ok"]:
            states = ", ".join(f"{t['peer_name']} {t['state']}" for t in d["tunnels"]) or "-"
            print(
                f"{d['device']}: {'pushed' if d['pushed'] else 'unchanged'}, verified; "
                f"tunnels: {states}"
            )
        else:
            print(f"{d['device']}: FAILED: {d.get('error', '')}")
            for diag in d.get("diagnosis", []):
                first = diag["problems"][0] if diag["problems"] else ""
                print(
                    f"  diag pair {diag['a']} <-> {diag['b']}: {diag['verdict']}"
                    + (f" at {diag['first_failure']}: {first}" if diag["first_failure"] else "")
                )
            for pred in d.get("predicted", []):
                if pred["verdict"] != "ok":
                    print(
                        f"  predicted before the push: {pred['a']} <-> {pred['b']} fails at "
                        f"{pred['first_failure']}"
                    )
            if d.get("rollback"):
                rb = d["rollback"]
                print(f"  rolled back: {rb['message']}")
    for name in unchanged:
        print(f"{name}: already configured, nothing to send")
    if result.stopped_at:
        print(f"stopped at {result.stopped_at}: {result.reason}")
