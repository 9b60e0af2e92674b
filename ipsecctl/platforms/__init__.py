"""Device knowledge as data: one YAML file per platform, loaded into :class:`Platform`.

Adding a platform means adding ``<name>.yaml`` here and its TTP templates under ``parsers/``;
the collector, transport and actions read everything device-specific from this model.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from ipsecctl.errors import UsageError

ON_DEMAND = frozenset({"diag", "logs"})


class EnableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    command: str = "enable"
    password_prompt: str = r"[Pp]assword:\s*$"


class Platform(BaseModel):
    """What differs between device families; see any ``*.yaml`` beside this module."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when a platform loads

    name: str
    description: str = ""
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


NAMES = ("cisco_ios", "cisco_iosxe", "cisco_asa", "strongswan", "libreswan")


@cache
def get_platform(name: str) -> Platform:
    """Load ``<name>.yaml``; an unknown name is a usage error listing the known ones."""
    import yaml

    try:
        text = resources.files(__package__).joinpath(f"{name}.yaml").read_text()
    except (FileNotFoundError, OSError):
        raise UsageError(
            f"unknown platform {name!r}", hint="known: " + ", ".join(NAMES)
        ) from None
    return Platform.model_validate(yaml.safe_load(text))
