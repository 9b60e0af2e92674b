"""Next steps of a finding: the exact commands for the device's own platform, from data.

Each platform has a table (``rules/steps/<platform>.yaml``) mapping finding codes to command
templates. A rule names the code (and the shared keys it falls back to); the finding's context
(peer, VRF, SA ids, selectors...) fills the placeholders. A template whose placeholder the
finding cannot fill is left out, so an operator never sees a command with a hole in it, and a
platform without a table gets no steps rather than another platform's commands.

Steps for the far end come from the far end's own platform table (``<code>@peer``), and only
when that device was polled too: its platform and names are then known, not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from ipsecctl.data_files import load_yaml

STEPS_DIR = Path(__file__).with_name("rules") / "steps"
TOOL = "ipsecctl"  # the table of steps that run ipsecctl itself, shared by every platform

Mode = Literal["exec", "config", "file", "ipsecctl"]
_MODES = ("exec", "config", "file", "ipsecctl")
_PLACEHOLDER = re.compile(r"{(\w+)}")
_OPTIONAL = re.compile(r"\[([^\[\]]*{\w+}[^\[\]]*)\]")


class Template(NamedTuple):
    run: str
    mode: Mode = "exec"
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()


class Step(NamedTuple):
    """One rendered command and where it runs."""

    command: str
    platform: str
    mode: Mode = "exec"
    device: str | None = None  # the device it runs on when not the finding's own

    def text(self) -> str:
        """The line shown to people (and kept in ``Finding.next_steps``)."""
        notes = []
        if self.device:
            notes.append(f"on {self.device}")
        if self.mode == "config":
            notes.append("configuration mode")
        elif self.mode == "file":
            notes.append(f"setting in the {_FILE_NAMES.get(self.platform, 'configuration')}")
        return self.command + (f"   ({', '.join(notes)})" if notes else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "platform": self.platform,
            "mode": self.mode,
            "device": self.device,
        }


_FILE_NAMES = {"strongswan": "swanctl.conf", "libreswan": "ipsec.conf conn"}


class StepsError(ValueError):
    """A step table that does not load (a data bug, named with its file and key)."""


def _template(item: Any, where: str) -> Template:
    if isinstance(item, str):
        return Template(item)
    if not isinstance(item, dict) or "run" not in item:
        raise StepsError(f"{where}: a step is a string or a mapping with 'run': {item!r}")
    mode = item.get("mode", "exec")
    if mode not in _MODES:
        raise StepsError(f"{where}: unknown mode {mode!r}")
    when = tuple(
        (str(k), tuple(str(x) for x in (v if isinstance(v, list) else [v])))
        for k, v in (item.get("when") or {}).items()
    )
    return Template(str(item["run"]), mode, when)


@cache
def table(platform: str) -> Mapping[str, tuple[Template, ...]]:
    """The step table of a platform (with what it ``extends``); empty for an unknown one."""
    path = STEPS_DIR / f"{platform}.yaml"
    if not re.fullmatch(r"\w+", platform) or not path.is_file():
        return {}
    raw = load_yaml(path) or {}
    out: dict[str, tuple[Template, ...]] = dict(table(raw["extends"])) if "extends" in raw else {}
    for key, items in raw.items():
        if key in ("platform", "extends"):
            continue
        if not isinstance(items, list):
            raise StepsError(f"{path.name}: {key}: expected a list of steps")
        default: Mode = "ipsecctl" if platform == TOOL else "exec"
        steps = []
        for item in items:
            t = _template(item, f"{path.name}: {key}")
            steps.append(Template(t.run, default, t.when) if t.mode == "exec" else t)
        out[key] = tuple(steps)
    return out


def platforms() -> list[str]:
    """Platforms that have a step table (the shared ipsecctl table is not one)."""
    return sorted(p.stem for p in STEPS_DIR.glob("*.yaml") if p.stem != TOOL)


def _value(ctx: Mapping[str, object], name: str) -> str | None:
    value = ctx.get(name)
    if value is None or value == "":
        return None
    return str(value)


def fill(template: str, ctx: Mapping[str, object]) -> str | None:
    """``template`` with its placeholders filled; ``None`` when a required one is missing.

    ``[ ... {x} ...]`` is an optional fragment: it disappears when any of its placeholders is
    missing, instead of dropping the whole command.
    """

    def optional(match: re.Match[str]) -> str:
        body = match.group(1)
        names = _PLACEHOLDER.findall(body)
        return body if all(_value(ctx, n) is not None for n in names) else ""

    text = _OPTIONAL.sub(optional, template)
    missing = [n for n in _PLACEHOLDER.findall(text) if _value(ctx, n) is None]
    if missing:
        return None
    text = _PLACEHOLDER.sub(lambda m: _value(ctx, m.group(1)) or "", text)
    return " ".join(text.split())


def _applies(t: Template, ctx: Mapping[str, object]) -> bool:
    """A ``when`` condition fails only when the context knows the key and it differs."""
    for key, allowed in t.when:
        value = _value(ctx, key)
        if value is not None and value not in allowed:
            return False
    return True


def render(
    platform: str,
    keys: Sequence[str],
    ctx: Mapping[str, object],
    *,
    device: str | None = None,
) -> list[Step]:
    """Steps of the first of ``keys`` the platform's table has, then ipsecctl's own.

    ``device`` marks the steps as running on another device than the finding's (the peer).
    """
    out: list[Step] = []
    for name in (platform, TOOL) if device is None else (platform,):
        steps = table(name)
        key = next((k for k in keys if k in steps), None)
        if key is None:
            continue
        for t in steps[key]:
            if not _applies(t, ctx):
                continue
            command = fill(t.run, ctx)
            if command is None:
                continue
            step = Step(command, platform, t.mode, device)
            if step not in out:
                out.append(step)
    return out


def texts(steps: Iterable[Step]) -> list[str]:
    return [s.text() for s in steps]
