"""Results of the tunnel screen's packet diagnostics: IKE probes, device captures and decoded
capture files, newest first. Pure rendering of :class:`ipsecctl.ops.probe.ProbeOutcome` and
of the ``diag capture`` document (``CaptureReport.to_dict()``), the one both a device capture
and a decoded file produce."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ipsecctl.models import Finding
from ipsecctl.ops.formatting import fmt_spi
from ipsecctl.tui.widgets.findings import SEVERITY_STYLES, render_findings

RUNNING, DONE, FAILED, DECLINED = "running", "done", "failed", "declined"


@dataclass
class ToolRun:
    """One probe / capture / decode for a tunnel, as the screen tracks it."""

    kind: str  # "probe" | "capture" | "decode"
    key: str  # Tunnel.id
    title: str
    started: datetime
    status: str = RUNNING
    steps: list[str] = field(default_factory=list)
    outcome: Any = None  # ProbeOutcome | capture document (dict)
    error: str = ""

    @property
    def severity(self) -> str | None:
        if self.kind == "probe" and self.outcome is not None:
            return str(self.outcome.severity)
        if isinstance(self.outcome, dict):
            sev = [f.get("severity") for f in self.outcome.get("findings", [])]
            order = ["critical", "error", "warning", "info"]
            for s in order:
                if s in sev:
                    return s
        return None


def render_probe(outcome: Any) -> RenderableType:
    plan = outcome.plan
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"{outcome.result.upper()} ", style=SEVERITY_STYLES.get(outcome.severity, ""))
    head.append(outcome.summary)
    parts: list[Any] = [head]
    for line in outcome.meaning:
        parts.append(Text(f"  → {line}"))
    doc = outcome.doc
    facts = Text(style="dim")
    facts.append(
        f"  IKEv{plan.version} to {plan.peer} udp/{plan.port}; offered "
        f"{', '.join(plan.proposals)} ({plan.source})"
    )
    if doc.get("rtt_ms") is not None:
        facts.append(f"; rtt {doc['rtt_ms']:.1f} ms")
    attempts = doc.get("attempts") or []
    if attempts:
        facts.append(
            "; tries: "
            + ", ".join(
                str(a.get("result"))
                + (f" (wants {a['wanted_group']})" if a.get("wanted_group") else "")
                for a in attempts
            )
        )
    parts.append(facts)
    if plan.basis:
        parts.append(Text("  from: " + "; ".join(plan.basis), style="dim"))
    vids = [v.get("name") or v.get("data") for v in doc.get("vendor_ids") or []]
    if vids:
        parts.append(Text("  vendor IDs: " + ", ".join(str(v) for v in vids), style="dim"))
    return Group(*parts)


def _esp_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 1))
    for name in (
        "SPI",
        "dir",
        "known",
        "pkts",
        "seq",
        "gaps",
        "dups",
        "old",
        "decrypted",
        "ICV ok/bad",
    ):
        table.add_column(
            name,
            no_wrap=True,
            justify="right" if name in ("pkts", "gaps", "dups", "old", "decrypted") else "left",
        )
    for r in rows:
        seq = "-"
        if r.get("first_seq") is not None:
            seq = f"{r['first_seq']}-{r.get('last_seq')}"
        bad = r.get("icv_bad") or 0
        table.add_row(
            fmt_spi(int(r["spi"])),
            str(r.get("direction", "?")),
            str(r.get("known", "?")),
            str(r.get("packets", 0)),
            seq,
            str(r.get("gaps", 0)),
            str(r.get("duplicates", 0)),
            str(r.get("outside_window", 0)),
            str(r.get("decrypted", 0)),
            Text(f"{r.get('icv_ok', 0)}/{bad}", style="bold red" if bad else ""),
        )
    return table


def _ike_table(rows: Sequence[dict[str, Any]], limit: int = 20) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 1))
    for name in ("time", "exchange", "dir", "msg id", "notify / proposals"):
        table.add_column(name, no_wrap=name != "notify / proposals", overflow="fold")
    for m in list(rows)[-limit:]:
        direction = ("resp" if m.get("response") else "req") + (
            " I" if m.get("initiator") else " R"
        )
        extra = ", ".join(m.get("notify") or []) or ", ".join(m.get("proposals") or [])
        if m.get("retransmission"):
            extra = "retransmission " + extra
        table.add_row(
            str(m.get("time") or "-")[11:23],
            str(m.get("exchange") or "?"),
            direction,
            str(m.get("message_id", "-")),
            extra,
        )
    return table


def render_capture(doc: dict[str, Any]) -> RenderableType:
    """A ``diag capture`` document: per-SPI ESP health, IKE exchanges, findings."""
    head = Text()
    head.append(f"{doc.get('packets', 0)} packet(s)", style="bold")
    if doc.get("duration_s") is not None:
        head.append(f" over {doc['duration_s']:.1f} s")
    if doc.get("pcap"):
        head.append(f"  {doc['pcap']}", style="dim")
    parts: list[Any] = [head]
    for w in doc.get("warnings") or []:
        parts.append(Text(f"  warning: {w}", style="yellow"))
    esp = doc.get("esp") or []
    parts.append(_esp_table(esp) if esp else Text("  no ESP packets", style="dim"))
    ike = doc.get("ike") or []
    if ike:
        parts.append(Text(f"IKE: {len(ike)} message(s)", style="bold"))
        parts.append(_ike_table(ike))
    findings = [Finding.model_validate(f) for f in doc.get("findings") or []]
    if findings:
        parts.append(render_findings(findings))
    else:
        parts.append(Text("no findings in the capture", style="green"))
    return Group(*parts)


def render_runs(runs: Sequence[ToolRun]) -> RenderableType:
    if not runs:
        return Text(
            "no probe or capture yet: i probes the peer's IKE service, x captures on "
            "the device, o decodes a capture file with its keys",
            style="dim",
        )
    parts: list[Any] = []
    for n, run in enumerate(reversed(runs)):
        if n:
            parts.append(Text(""))
        title = Text()
        title.append(run.started.strftime("%H:%M:%S "), style="dim")
        title.append(run.title, style="bold")
        title.append(
            f"  [{run.status}]",
            style={"failed": "red", "declined": "dim", "running": "yellow"}.get(
                run.status, "green"
            ),
        )
        parts.append(title)
        for step in run.steps[-6:]:
            parts.append(Text(f"  {step}", style="dim"))
        if run.error:
            parts.append(Text(f"  {run.error}", style="red"))
        if run.outcome is not None:
            if run.kind == "probe":
                parts.append(render_probe(run.outcome))
            elif isinstance(run.outcome, dict):
                parts.append(render_capture(run.outcome))
    return Group(*parts)
