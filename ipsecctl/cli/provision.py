"""``ipsecctl provision render|diff|push``: both ends of a tunnel from one spec file.

Thin: the spec, templates, pair check, diff and push live in :mod:`ipsecctl.provision`. A
push runs through the same action workflow as ``clear``/``rekey`` (:mod:`ipsecctl.ops.workflow`),
so read-only mode, ``--yes``, "no terminal, no prompt", locks and the audit trail behave
identically for every action. The pre-shared key is resolved
only for a real push and is registered with :mod:`ipsecctl.redact`, so even an unexpected echo of
it (a device error, a debug log) is masked.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from ipsecctl import errors
from ipsecctl.cli.context import AppContext, stderr
from ipsecctl.models import envelope
from ipsecctl.provision import push as pushmod
from ipsecctl.provision.check import CheckResult, check_rendered
from ipsecctl.provision.model import CISCO_IOS, End, TunnelSpec, load_spec
from ipsecctl.provision.render import Rendered, render_end, render_pair
from ipsecctl.redact import register_secrets

if TYPE_CHECKING:
    from inventory import Host
    from ipsecctl.ops.config_push import PushResult
    from ipsecctl.ops.fleet import Fleet

app = typer.Typer(no_args_is_help=True,
                  help="Generate, review and push the crypto configuration of both tunnel ends.")

SpecArg = Annotated[Path, typer.Argument(help="Tunnel spec (YAML).", show_default=False)]
WeakOpt = Annotated[bool, typer.Option("--allow-weak", help="Accept DES/3DES/MD5/SHA-1 and DH "
                                       "groups 1/2/5 (refused by default).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON result on stdout.")]


def _spec(path: Path, allow_weak: bool) -> TunnelSpec:
    return load_spec(path, allow_weak=allow_weak)


def _print_check(result: CheckResult) -> None:
    console = stderr()
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    if result.pair is not None:
        for d in result.pair["directions"]:
            steps = ", ".join(f"{s['step']} {'ok' if s['ok'] else 'FAIL'}" for s in d["steps"])
            console.print(f"pair {d['initiator']} -> {d['responder']}: {steps}", highlight=False)
    for f in result.findings:
        console.print(f"audit {f.severity}: {f.device}: {escape(f.summary)}", highlight=False)
    if result.ok:
        console.print(f"[green]check ok[/] ({result.method}): ready to diff and push")
    else:
        console.print(f"[red]check failed[/] ({result.method}):")
        for p in result.problems:
            console.print(f"  {escape(p)}", highlight=False)


@app.command("render")
def render_cmd(
    spec_path: SpecArg,
    out: Annotated[Path | None, typer.Option("--out", help="Write one file per end into DIR.")]
    = None,
    allow_weak: WeakOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Both ends' configurations and the pair-check verdict (exit 3 when the check fails)."""
    spec = _spec(spec_path, allow_weak)
    a, b = render_pair(spec)
    result = check_rendered(spec, a, b, allow_weak=allow_weak)
    written: list[str] = []
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
            for r in (a, b):
                (out / r.filename).write_text(r.text)
                written.append(str(out / r.filename))
        except OSError as exc:
            raise errors.InputFileError(f"--out {out}: cannot write ({exc.strerror})") from None
    if as_json:
        doc = envelope(
            "provision-render", tunnel=spec.name,
            ends=[{"name": r.end.name, "platform": r.platform, "filename": r.filename,
                   "config": r.text} for r in (a, b)],
            files=written, check=result.as_json(),
        )
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    elif out is None:
        for r in (a, b):
            sys.stdout.write(r.text if r.text.endswith("\n") else r.text + "\n")
            sys.stdout.write("\n")
    else:
        for w in written:
            stderr().print(f"wrote {escape(w)}", highlight=False)
    if not as_json:
        _print_check(result)
    raise typer.Exit(errors.EXIT_OK if result.ok else errors.EXIT_PROBLEM)


def _host(obj: AppContext, end: End) -> Host:
    hosts = obj.select([end.target])
    if len(hosts) != 1:
        raise errors.UsageError(
            f"end {end.name}: device {end.target!r} selects {len(hosts)} inventory hosts; "
            "set device: to one inventory name"
        )
    host = hosts[0]
    platform = host.platform
    if platform and platform != end.platform and not (
            platform in CISCO_IOS and end.platform in CISCO_IOS):
        raise errors.UsageError(
            f"end {end.name}: the spec says {end.platform} but inventory host {host.name} is "
            f"{platform}; fix one of them"
        )
    return host


@app.command("diff")
def diff_cmd(
    ctx: typer.Context,
    spec_path: SpecArg,
    allow_weak: WeakOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fetch both ends' running configuration and show what a push would change."""
    obj: AppContext = ctx.obj
    spec = _spec(spec_path, allow_weak)
    rendered = render_pair(spec)
    diffs: list[pushmod.EndDiff] = []
    hosts = [_host(obj, r.end) for r in rendered]
    fleet = obj.fleet(hosts)
    try:
        for r in rendered:
            diffs.append(pushmod.diff_end(fleet.session(r.end.target), r, spec))
    finally:
        fleet.close()
    if as_json:
        sys.stdout.write(json.dumps(envelope("provision-diff", tunnel=spec.name,
                                             ends=[d.as_json() for d in diffs]), indent=2) + "\n")
    else:
        for d in diffs:
            if not d.diff:
                print(f"# {d.end} ({d.device}): no change")
                continue
            print("\n".join(d.diff))
    raise typer.Exit(errors.EXIT_OK)


def _tunnel_state(state: Any, r: Rendered) -> str:
    """State of *this* tunnel: same peer and, for a crypto map, the spec's own selectors (an
    older tunnel to the same peer must not count as the new one coming up)."""
    if not state.reachable:
        return "unreachable"
    local = set(r.end.inside_networks)
    remote = set(r.peer.inside_networks)
    states = [
        t.state for t in state.tunnels
        if t.peer == r.peer.outside_address and (
            t.kind == "vti" if r.end.vti is not None else (
                t.local_ts is not None and t.remote_ts is not None
                and t.local_ts.prefix in local and t.remote_ts.prefix in remote))
    ]
    if not states:
        return "no SA for its selectors yet"
    return "up" if "up" in states else ",".join(sorted({str(s) for s in states}))


@app.command("push")
def push_cmd(
    ctx: typer.Context,
    spec_path: SpecArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
    = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the commands; send nothing.")]
    = False,
    write_memory: Annotated[bool, typer.Option("--write-memory/--no-write-memory",
                                               help="Save with `write memory` after `end`.")]
    = False,
    read_only: Annotated[bool, typer.Option("--read-only", help="Refuse (same as global).")]
    = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the tunnel to "
                                        "come up after the push.", metavar="SECONDS")] = 10.0,
    allow_weak: WeakOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Push both ends (exact lines shown first, confirmed, audited), then re-poll."""
    from ipsecctl.ops.config_push import ConfigPushSpec, PushPlan
    from ipsecctl.ops.workflow import ActionRequest

    obj: AppContext = ctx.obj
    obj.read_only = obj.read_only or read_only
    spec = _spec(spec_path, allow_weak)
    shown = render_pair(spec)
    result = check_rendered(spec, *shown, allow_weak=allow_weak)
    if not result.ok:
        _print_check(result)
        stderr().print("[red]not pushing a pair that fails its check[/]")
        raise typer.Exit(errors.EXIT_PROBLEM)
    psk = None
    if not dry_run:
        psk = spec.psk_source().resolve(spec_path.parent)  # usage errors before refusals
        register_secrets([psk.get_secret_value()])
    plans = [PushPlan(device=r.end.target, peer=r.peer.outside_address, tunnel=spec.name,
                      commands=pushmod.push_commands(r, spec, write_memory=write_memory),
                      end=r,
                      real=render_end(spec, r.end, psk.get_secret_value()) if psk else None)
             for r in shown]
    hosts = [_host(obj, r.end) for r in shown]
    workflow = obj.workflow()
    workflow.extra = {"tunnel": spec.name, "spec": str(spec_path)}
    obj.show_request(ActionRequest("provision push", plans))
    fleet = obj.fleet(hosts)
    try:
        results = workflow.run(
            ConfigPushSpec(fleet, spec, write_memory=write_memory), plans,
            confirm=obj.confirmer(yes), yes=yes, dry_run=dry_run, progress=obj.progress,
            stop_on_failure=True,
        )
        ok = bool(results) and all(r.ok for r in results) and len(results) == len(plans)
        if ok and not dry_run:
            _repoll(fleet, shown, results, wait)
    finally:
        fleet.close()
    _report(spec, [r.as_json() for r in results], dry_run=dry_run, as_json=as_json)
    raise typer.Exit(errors.EXIT_OK if ok else errors.EXIT_OPERATIONAL)


def _repoll(fleet: Fleet, shown: tuple[Rendered, Rendered], results: list[PushResult],
            wait: float) -> None:
    """Poll both ends until the tunnel is up at both or ``wait`` runs out; record the state."""
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        states = [_tunnel_state(fleet.poll_one(r.end.target), r) for r in shown]
        if all(s == "up" for s in states) or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    for result, s in zip(results, states, strict=True):
        result.tunnel_state = s


def _report(spec: TunnelSpec, ends: list[dict[str, Any]], *, dry_run: bool,
            as_json: bool) -> None:
    up = bool(ends) and all(e.get("tunnel_state") == "up" for e in ends)
    if as_json:
        sys.stdout.write(json.dumps(envelope("provision-push", tunnel=spec.name, dry_run=dry_run,
                                             ends=ends, tunnel_up=up), indent=2) + "\n")
        return
    for e in ends:
        if dry_run:
            print(f"{e['device']}: dry run, nothing sent")
        elif not e["pushed"]:
            print(f"{e['device']}: push failed: {e.get('error', '')}")
        else:
            state = e.get("tunnel_state", "not polled")
            hint = "" if state == "up" else \
                " (a crypto-map tunnel comes up on interesting traffic)"
            print(f"{e['device']}: pushed; tunnel to {e['peer']}: {state}{hint}")
