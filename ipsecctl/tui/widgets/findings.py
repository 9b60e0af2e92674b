"""Findings as an operator reads them: what is wrong, the evidence, likely causes, next steps.

Pure rendering (Rich renderables) shared by the main screen's diagnosis pane, the tunnel
screen's "why" tab and the device screen. Next steps are the platform's own commands (the
rules give them per platform in ``extra.steps``), prefixed with the device's prompt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ipsecctl.models import SEVERITY_ORDER, Finding

SEVERITY_STYLES = {"info": "dim", "warning": "yellow", "error": "red", "critical": "bold red"}

# fault reasons that are not findings of their own (ops.faults adds them)
REASON_TEXT = {
    "TUNNEL_DOWN_EXPECTED_UP": "the inventory expects this tunnel up and it is not",
}


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first, then by code: the order an operator works through them."""
    return sorted(findings, key=lambda f: (-SEVERITY_ORDER.get(f.severity, 0), f.code))


def _steps(f: Finding) -> list[str]:
    steps = f.extra.get("steps")
    if isinstance(steps, list) and steps:
        out = []
        for s in steps:
            if isinstance(s, dict) and s.get("command"):
                mode = s.get("mode")
                out.append(
                    str(s["command"]) + (f"   ({mode} mode)" if mode and mode != "exec" else "")
                )
        if out:
            return out
    return list(f.next_steps)


def render_finding(f: Finding, *, detail: bool = True, max_evidence: int = 8) -> RenderableType:
    head = Text()
    head.append(f"{f.severity.upper():8} ", style=SEVERITY_STYLES.get(f.severity, ""))
    head.append(f.code, style="bold")
    where = " ".join(x for x in (f.device, f"→ {f.peer}" if f.peer else "") if x)
    if where:
        head.append(f"  {where}", style="dim")
    parts: list[RenderableType] = [head, Text(f"  {f.summary}")]
    if not detail:
        return Group(*parts)
    if f.evidence:
        parts.append(Text("  evidence:", style="bold dim"))
        for line in f.evidence[:max_evidence]:
            parts.append(Text(f"    {line}", style="dim"))
        if len(f.evidence) > max_evidence:
            parts.append(Text(f"    … {len(f.evidence) - max_evidence} more", style="dim"))
    if f.causes:
        parts.append(Text("  likely causes:", style="bold dim"))
        for cause in f.causes:
            parts.append(Text(f"    • {cause}"))
    steps = _steps(f)
    if steps:
        platform = f.extra.get("platform")
        label = f"  next steps ({platform}):" if platform else "  next steps:"
        parts.append(Text(label, style="bold dim"))
        prompt = f"{f.device}# " if f.device else "$ "
        for step in steps:
            shown = step if step.startswith("ipsecctl ") else prompt + step
            parts.append(Text(f"    {shown}", style="cyan"))
    return Group(*parts)


def render_findings(
    findings: Sequence[Finding], reasons: Sequence[str] = (), *, detail: bool = True
) -> RenderableType:
    """Every finding (worst first) plus fault reasons that have no finding of their own."""
    parts: list[Any] = []
    codes = {f.code for f in findings}
    for reason in reasons:
        if reason not in codes:
            line = Text()
            line.append("ERROR    ", style="red")
            line.append(reason, style="bold")
            line.append(f"  {REASON_TEXT.get(reason, '')}")
            parts.append(line)
    for n, f in enumerate(ordered(findings)):
        if n or parts:
            parts.append(Text(""))
        parts.append(render_finding(f, detail=detail))
    return Group(*parts)
