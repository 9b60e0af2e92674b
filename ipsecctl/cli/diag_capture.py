"""``ipsecctl diag capture``: capture on the device, bring the packets back, match them to
the tunnel -- or read a capture saved from a device (``--from FILE -p PLATFORM``).

Thin: the action (plan, confirmation, bounded run, cleanup, analysis) is
:mod:`ipsecctl.ops.capture` through the workflow; this module reads options, shows the plan,
and renders the ``capture`` document as JSON or tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ipsecctl import errors
from ipsecctl.cli import render
from ipsecctl.cli.render import Col, esc
from ipsecctl.models import SEVERITY_ORDER

_SEV = {"info": "cyan", "warning": "yellow", "error": "red", "critical": "bold red"}


def _exit_code(doc: dict[str, Any]) -> int:
    if not doc.get("ok", True) and not doc.get("dry_run"):
        return errors.EXIT_OPERATIONAL
    worst = max((SEVERITY_ORDER.get(f["severity"], 0) for f in doc.get("findings", [])),
                default=0)  # fmt: skip
    return errors.EXIT_PROBLEM if worst >= SEVERITY_ORDER["warning"] else errors.EXIT_OK


def capture_command(
    ctx: typer.Context,
    device: Annotated[str | None, typer.Argument(help="Device name (omit with --from).")] = None,
    peer: Annotated[str | None, typer.Option("--peer", help="Peer address.", metavar="IP")] = None,
    vrf: Annotated[
        str | None, typer.Option("--vrf", help="Front-door VRF of the peer.", metavar="NAME")
    ] = None,
    seconds: Annotated[int, typer.Option("--seconds", help="Longest capture, seconds.")] = 10,
    packets: Annotated[int, typer.Option("--packets", help="Most packets to keep.")] = 1000,
    interface: Annotated[
        str | None,
        typer.Option(
            "--interface", help="Interface carrying the tunnel (needed for a VTI).", metavar="IF"
        ),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option("--write", help="Save the packets (pcapng, 0600).", metavar="FILE.pcapng"),
    ] = None,
    keys_from_device: Annotated[
        bool,
        typer.Option(
            "--keys-from-device",
            help="strongSwan: read the SA keys from charon (re-keys the "
            "tunnel during the capture) and decrypt.",
        ),
    ] = False,
    write_keys: Annotated[
        Path | None,
        typer.Option(
            "--write-keys",
            help="Folder for Wireshark's esp_sa / ikev2_decryption_table (0600).",
            metavar="DIR",
        ),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Read a saved capture (pcap, pcapng, or a device's printed dump) "
            "instead of capturing.",
            metavar="FILE",
        ),
    ] = None,
    platform: Annotated[
        str | None, typer.Option("-p", "--platform", help="Platform that printed the --from file.")
    ] = None,
    local: Annotated[
        str | None,
        typer.Option(
            "--local",
            help="With --from: the device's own address (gives directions).",
            metavar="IP",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON document on stdout.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the commands and stop.")
    ] = False,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Refuse (same as global).")
    ] = False,
) -> None:
    """Capture IKE and ESP between a device and a peer, decode and match them to the
    tunnel (an action: the exact commands are shown and confirmed; the device is cleaned
    up even after Ctrl-C)."""
    if from_file is not None:
        doc = offline(from_file, platform=platform, peer=peer, local=local, device=device)
    else:
        if device is None or peer is None:
            raise errors.UsageError("give DEVICE and --peer IP (or --from FILE -p PLATFORM)")
        if write_keys is not None and not keys_from_device:
            raise errors.UsageError("--write-keys needs --keys-from-device")
        obj = ctx.obj
        obj.read_only = obj.read_only or read_only
        doc = live(obj, device, peer, vrf=vrf, seconds=seconds, packets=packets,
                   interface=interface, write=write, keys_from_device=keys_from_device,
                   write_keys=write_keys, yes=yes, dry_run=dry_run, as_json=as_json)  # fmt: skip
    if as_json:
        render.emit_json(doc)
    else:
        print_report(doc)
    raise typer.Exit(_exit_code(doc))


def offline(path: Path, *, platform: str | None, peer: str | None, local: str | None,
            device: str | None) -> dict[str, Any]:  # fmt: skip
    """The ``capture`` document of a saved capture (no device touched)."""
    from ipsecctl.diag.capture.analysis import analyse_capture
    from ipsecctl.diag.capture.files import frames_from_file
    from ipsecctl.diag.packets.reader import CaptureInfo
    from ipsecctl.ops.capture import between_ends
    from ipsecctl.platforms import get_platform

    if platform is not None:
        get_platform(platform)  # an unknown name is a usage error naming the known ones
    for label, value in (("--peer", peer), ("--local", local)):
        if value is not None:
            import ipaddress

            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise errors.UsageError(f"{label} {value!r} is not an IP address") from None
    info = CaptureInfo()
    frames = list(frames_from_file(path, platform=platform, info=info))
    if peer is not None:
        frames = between_ends(frames, local, peer)
    report = analyse_capture(frames, device=device or path.name, peer=peer, local_addr=local,
                             commands=[], pcap=str(path)).to_dict()  # fmt: skip
    report["warnings"] = [*info.warnings, *report.get("warnings", [])]
    report["ok"] = True
    return report


def live(obj: Any, device: str, peer: str, *, vrf: str | None, seconds: int, packets: int,
         interface: str | None, write: Path | None, keys_from_device: bool,
         write_keys: Path | None, yes: bool, dry_run: bool,
         as_json: bool) -> dict[str, Any]:  # fmt: skip
    """Plan, confirm, run through the workflow; the ``capture`` document (with ``--json`` a
    document is printed even when the capture is refused or fails before it starts)."""
    from ipsecctl.ops.capture import CaptureResult, CaptureSpec, leftover_points, plan_capture
    from ipsecctl.ops.workflow import ActionRequest

    hosts = obj.select([device])
    if len(hosts) != 1:
        raise errors.UsageError(f"{device!r} selects {len(hosts)} devices; name one device")
    name = hosts[0].name
    plan = None
    try:
        workflow = obj.workflow()
        fleet = obj.fleet(hosts)
        try:
            state = fleet.poll_one(hosts[0])
            try:
                ours, others = leftover_points(fleet, name, peer=peer, vrf=vrf)
                plan = plan_capture(state, None, peer, vrf=vrf, seconds=seconds,
                                    packets=packets, keys_from_device=keys_from_device,
                                    interface=interface, leftovers=ours)  # fmt: skip
            except errors.TransportError as exc:
                workflow.not_started("capture", name, [peer], vrf, str(exc))
                raise
            if others:
                plan.notes.append("other capture points on the device (not touched): "
                                  + ", ".join(others))  # fmt: skip
            obj.show_request(ActionRequest("capture", [plan]))
            results = workflow.run(
                CaptureSpec(fleet, write=write, write_keys=write_keys), [plan],
                confirm=obj.confirmer(yes), yes=yes, dry_run=dry_run, progress=obj.progress,
            )  # fmt: skip
        finally:
            fleet.close()
    except errors.IpsecctlError as exc:
        if as_json:
            failed = CaptureResult(name, peer, vrf, plan.all_commands if plan else [],
                                   message=str(exc))  # fmt: skip
            doc = failed.document()
            doc["error"] = {"kind": type(exc).__name__, "message": str(exc),
                            "exit_code": exc.exit_code}  # fmt: skip
            render.emit_json(doc)
        raise
    return results[0].document()


def print_report(doc: dict[str, Any]) -> None:
    from rich.markup import escape

    from ipsecctl.cli.context import stderr

    console = render.stdout_console()
    where = f"{doc.get('device')} <-> {doc.get('peer') or 'any peer'}"
    if doc.get("vrf"):
        where += f" vrf {doc['vrf']}"
    head = f"[bold]capture {escape(where)}[/]: {doc.get('packets', 0)} packet(s)"
    if doc.get("duration_s") is not None:
        head += f" in {doc['duration_s']}s"
    console.print(head, highlight=False)
    if doc.get("message"):
        console.print(escape(doc["message"]), highlight=False)
    for w in doc.get("warnings", []):
        stderr().print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    if doc.get("dry_run"):
        return
    if doc.get("esp"):
        rows = [[f"0x{e['spi']:08x}", e["direction"], e["known"], esc(e.get("transform")),
                 str(e["packets"]), str(e["first_seq"]), str(e["last_seq"]), str(e["gaps"]),
                 str(e["duplicates"]), str(e["outside_window"]),
                 "" if e["rate_pps"] is None else str(e["rate_pps"]),
                 f"{e['decrypted']}/{e['icv_ok']}/{e['icv_bad']}"] for e in doc["esp"]]  # fmt: skip
        render.emit_table(
            "ESP per SPI",
            (
                Col("SPI", keep=True),
                Col("dir", keep=True),
                Col("known", keep=True),
                Col("transform", 6, atom=False),
                Col("pkts", keep=True),
                Col("first seq", 3),
                Col("last seq", 3),
                Col("gaps", 2),
                Col("dup", 2),
                Col("out of window", 2),
                Col("pps", 4),
                Col("decrypted/icv ok/bad", 5),
            ),
            rows,
            console=console,
        )
    if doc.get("ike"):
        rows = [[esc(m["time"]), esc(m["src"]), esc(m["dst"]), esc(m["exchange"]),
                 "I" if m["initiator"] else "R", "resp" if m["response"] else "req",
                 str(m["message_id"]), esc(" ".join(p or "?" for p in m["payloads"])),
                 esc(" ".join(m["notify"])), "yes" if m["retransmission"] else ""]
                for m in doc["ike"]]  # fmt: skip
        render.emit_table(
            "IKE messages",
            (
                Col("time", 4),
                Col("src", keep=True),
                Col("dst", 3),
                Col("exchange", keep=True),
                Col("I/R", 2),
                Col("req", keep=True),
                Col("msg id", 3),
                Col("payloads", 5, atom=False),
                Col("notify", 2, atom=False),
                Col("retransmitted", 2),
            ),
            rows,
            console=console,
        )
    for f in doc.get("findings", []):
        style = _SEV.get(f["severity"], "")
        console.print(f"[{style}]{f['severity'].upper()}[/] {f['code']}: "
                      f"{escape(f['summary'])}", highlight=False)  # fmt: skip
        for line in f.get("evidence", []):
            console.print(f"    {escape(line)}", highlight=False)
        for step in f.get("next_steps", []):
            console.print(f"    next: {escape(step)}", highlight=False)
    if doc.get("pcap"):
        console.print(f"packets: {escape(doc['pcap'])}", highlight=False)
    for path in doc.get("keys_written", []):
        console.print(f"keys: {escape(path)}", highlight=False)


def register(diag_app: typer.Typer) -> None:
    """Add ``capture`` to the ``ipsecctl diag`` group."""
    diag_app.command("capture")(capture_command)
