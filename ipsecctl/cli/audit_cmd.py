"""``ipsecctl audit``: weak/legacy crypto and certificate expiry, per device and fleet-wide.

Offline: ``--config FILE`` (repeatable; the device is named after the file) and ``--certs FILE``.
Live (TARGETS, or every device when no file is given): the platform's ``diag`` commands
(``show running-config``) plus ``show crypto pki certificates``, which a device may reject.
``audit`` (the function) is mounted as the ``ipsecctl audit`` command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ipsecctl.cli.diag import (
    emit_json,
    exit_for,
    guarded,
    poll_diag,
    poll_failed,
    read_text,
    render_findings,
    report_failed,
)
from ipsecctl.cli.render import stdout_console
from ipsecctl.errors import EXIT_OPERATIONAL, UsageError
from ipsecctl.models import SEVERITY_ORDER, Finding, dump, envelope

PKI = "show crypto pki certificates"  # optional: a router without PKI rejects it

app = typer.Typer(help="Audit crypto configuration against Cisco NGE guidance.")


@app.command()
def audit(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None, typer.Argument(help="devices or groups to poll (default: all)")
    ] = None,
    config: Annotated[
        list[str] | None, typer.Option("--config", help="running-config file (repeatable)")
    ] = None,
    certs: Annotated[
        list[str] | None, typer.Option("--certs", help="'show crypto pki certificates' file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON envelope")] = False,
) -> None:
    """Weak crypto per device, the lines to change, and a fleet summary; exit 3 on warnings."""

    def body() -> int:
        from ipsecctl.diag.audit_crypto import audit_certificates, audit_config
        from ipsecctl.diag.config import parse_config

        findings: list[Finding] = []
        devices: list[str] = []
        for path in config or []:
            name = Path(path).stem
            devices.append(name)
            findings += audit_config(parse_config(read_text(path, "config"), path), name)
        for path in certs or []:
            findings += audit_certificates(read_text(path, "certificates"), Path(path).stem)
        if targets and (config or certs):
            raise UsageError("give TARGETS to poll or --config/--certs files, not both")
        live = bool(targets) or not (config or certs)
        failed: list[str] = []
        if live:
            states = poll_diag(ctx, targets, also=(PKI,)).states
            failed = poll_failed(states, optional=(PKI,))
            for st in states:
                devices.append(st.device)
                raw = st.raw or {}
                if raw.get("show running-config"):
                    cfg = parse_config(raw["show running-config"], f"{st.device}: running-config")
                    findings += audit_config(cfg, st.device)
                if raw.get("show crypto pki certificates"):
                    findings += audit_certificates(raw["show crypto pki certificates"], st.device)
        findings.sort(key=lambda f: (-SEVERITY_ORDER[f.severity], f.device or "", f.code))
        summary = _summary(findings, devices)
        if as_json:
            emit_json(envelope("audit", findings=[dump(f) for f in findings], summary=summary))
        else:
            console = stdout_console()
            table = Table(title="fleet crypto audit")
            for col in ("device", "critical", "error", "warning", "info"):
                table.add_column(col)
            for row in summary:
                table.add_row(
                    *(str(row[c]) for c in ("device", "critical", "error", "warning", "info"))
                )
            console.print(table)
            render_findings(findings, console)
        report_failed(failed)
        return EXIT_OPERATIONAL if failed else exit_for(findings)

    guarded(body)


def _summary(findings: list[Finding], devices: list[str]) -> list[dict[str, object]]:
    names = list(dict.fromkeys([*devices, *(f.device or "" for f in findings)]))
    rows = []
    for name in names:
        row: dict[str, object] = {"device": name}
        for sev in ("critical", "error", "warning", "info"):
            row[sev] = sum(1 for f in findings if f.device == name and f.severity == sev)
        rows.append(row)
    return rows
