"""Device knowledge as data: one YAML file per platform, loaded into :class:`Platform`.

Adding a platform means adding ``<name>.yaml`` here and its TTP templates under ``parsers/``;
the collector, transport and actions read everything device-specific from this model.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ipsecctl.data_files import load_yaml
from ipsecctl.errors import UsageError
from ipsecctl.models import trusted

ON_DEMAND = frozenset({"diag", "logs"})
PLATFORMS_DIR = Path(__file__).parent


class EnableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    command: str = "enable"
    password_prompt: str = r"[Pp]assword:\s*$"


class CaptureTemplates(BaseModel):
    """How a platform captures the packets between itself and one peer (``diag capture``).

    ``buffer``: the device holds the packets in a capture point that is set up, started,
    stopped, printed (``fetch``, read as ``format``) and removed; ``show`` lists the
    capture points present (``point`` finds their names); while a buffered capture
    runs, ``status`` is asked every few seconds and a line matching ``finished`` (the device
    reached its own duration or packet limit) ends the wait early. ``stream``: one command
    streams the packets back as a base64 pcap (``fetch``) and leaves nothing behind; ``during``
    commands run in the background of that command. Templates are ``str.format`` strings
    (``{{``/``}}`` for a literal brace); placeholders are listed in ``ipsecctl.ops.capture``.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built inside Platform's

    mode: Literal["buffer", "stream"]
    name: str
    format: str
    check: list[str] = Field(default_factory=list)
    show: list[str] = Field(default_factory=list)
    point: str | None = None
    setup: list[str] = Field(default_factory=list)
    start: list[str] = Field(default_factory=list)
    stop: list[str] = Field(default_factory=list)
    fetch: list[str] = Field(default_factory=list)
    status: str | None = None
    finished: str | None = None
    cleanup: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    interface: Literal["tunnel", "none"] = "tunnel"
    filter: str = ""
    keys_on: list[str] = Field(default_factory=list)
    keys_rekey: list[str] = Field(default_factory=list)
    keys_fetch: list[str] = Field(default_factory=list)
    keys_off: list[str] = Field(default_factory=list)
    no_keys: str = ""
    note: str = ""
    """Said with every plan on this platform (what its capture cannot do)."""

    @staticmethod
    def render(template: str, values: dict[str, object]) -> str:
        """One template filled in; an unknown placeholder is a platform-file error."""
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise UsageError(f"capture template {template!r}: {exc}") from None


class Platform(BaseModel):
    """What differs between device families; see any ``*.yaml`` beside this module."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when a platform loads

    name: str
    description: str = ""
    # other spellings operators and other tools use (netmiko's device types among them)
    aliases: list[str] = Field(default_factory=list)
    shell: bool = True
    prompt: str
    enable: EnableSpec | None = None
    prepare: list[str] = Field(default_factory=list)
    paging: str | None = None
    paging_answer: str = " "
    failure_indicators: list[str] = Field(default_factory=list)
    collect: dict[str, list[str]] = Field(default_factory=dict)
    actions: dict[str, list[str]] = Field(default_factory=dict)
    rekey_wait_s: float = 30.0
    capture: CaptureTemplates | None = None

    @property
    def prompt_re(self) -> re.Pattern[str]:
        return re.compile(self.prompt, re.MULTILINE)

    def commands(self) -> list[str]:
        """Every show command of a full poll, in order, without duplicates.

        Groups in ``ON_DEMAND`` (``logs``, ``diag``: configuration) are not part of a poll;
        the commands that need them ask for them by name.
        """
        seen: dict[str, None] = {}
        for name, group in self.collect.items():
            if name in ON_DEMAND:
                continue
            for cmd in group:
                seen.setdefault(cmd, None)
        return list(seen)

    def action(self, name: str, **values: object) -> list[str]:
        """Render an action's command templates; ``{vrf_*}`` keys expand to '' without a VRF."""
        if name not in self.actions:
            raise UsageError(f"platform {self.name} has no action {name!r}")
        return [_render(template, values) for template in self.actions[name]]


def _render(template: str, values: dict[str, object]) -> str:
    """``str.format`` with optional fragments: ``[ vrf {vrf}]`` disappears when vrf is empty."""

    def optional(match: re.Match[str]) -> str:
        body = match.group(1)
        names = re.findall(r"{(\w+)}", body)
        if all(values.get(n) not in (None, "") for n in names):
            return body.format(**values)
        return ""

    text = re.sub(r"\[([^\]]*)\]", optional, template)
    return " ".join(text.format(**values).split())


@cache
def _load_all() -> dict[str, Platform]:
    """Every ``*.yaml`` beside this module: adding a platform is adding a file."""
    found: dict[str, Platform] = {}
    for entry in sorted(PLATFORMS_DIR.glob("*.yaml")):
        if entry.is_file():
            data = load_yaml(entry)
            # the files ship with ipsecctl and every one is validated against the schema by
            # tests/test_platforms.py, so only their shape is checked here (keys, enumerated
            # values; anything else is validated and raises as before): building the schema's
            # validator was a tenth of a small command's run
            platform = (
                trusted(Platform, data) if isinstance(data, dict) else Platform.model_validate(data)
            )
            if platform.name != entry.name.removesuffix(".yaml"):
                raise ValueError(f"platform file {entry.name} names itself {platform.name!r}")
            found[platform.name] = platform
    return found


def names() -> tuple[str, ...]:
    """The platforms this ipsecctl knows, from its platform files."""
    return tuple(_load_all())


@cache
def spellings() -> dict[str, str]:
    """Every accepted spelling (name or alias, lower case) -> the platform's name: what the
    inventory, the CLI's ``--platform`` options and provisioning accept."""
    out: dict[str, str] = {}
    for platform in _load_all().values():
        for word in (platform.name, *platform.aliases):
            other = out.setdefault(word.lower(), platform.name)
            if other != platform.name:
                raise ValueError(
                    f"platform alias {word!r} is claimed by {other} and {platform.name}"
                )
    return out


def canonical(name: str) -> str:
    """The platform's name for ``name`` (an alias too); a usage error naming the known ones."""
    found = spellings().get(name.strip().lower())
    if found is None:
        raise UsageError(f"unknown platform {name!r}", hint="known: " + ", ".join(names()))
    return found


def get_platform(name: str) -> Platform:
    """The platform ``name`` (or one of its aliases) describes; a usage error when unknown."""
    return _load_all()[canonical(name)]
