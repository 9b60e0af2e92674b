"""The health rules' device knowledge, as data: stuck IKE states, counters, platform facts.

``stuck_states.yaml``, ``counters.yaml``, ``log_findings.yaml``, ``timing.yaml`` and
``platforms.yaml`` beside this module are read once per process; ``steps/<platform>.yaml``
(next steps) are read by :mod:`ipsecctl.diag.steps`.
Adding a platform means adding its entries here, not touching a rule.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from ipsecctl.data_files import load_yaml
from ipsecctl.models import Severity

RULES_DIR = Path(__file__).parent

Kind = Literal["no_reply", "dh", "auth", "phase2", "any"]


@cache
def _load(name: str) -> Any:
    return load_yaml(RULES_DIR / f"{name}.yaml")


class StuckState(NamedTuple):
    """An IKE state in which a negotiation that never finishes stops."""

    state: str
    code: str
    ike: int | None
    kind: Kind
    severity: Severity
    summary: str
    causes: tuple[str, ...]


@cache
def stuck_states() -> dict[str, StuckState]:
    out = {}
    for state, item in _load("stuck_states")["states"].items():
        out[str(state).upper()] = StuckState(
            state=str(state).upper(),
            code=item["code"],
            ike=item.get("ike"),
            kind=item["kind"],
            severity=item["severity"],
            summary=item["summary"],
            causes=tuple(item["causes"]),
        )
    return out


class ErrorCounter(NamedTuple):
    counter: str
    code: str
    what: str
    causes: tuple[str, ...]
    tolerated: int = 0  # one poll only: a total up to this is history, not a fault


class OneWay(NamedTuple):
    code: str
    direction: Literal["out", "in"]
    counter: str
    quiet: str
    summary: str
    causes: tuple[str, ...]


class CounterRules(NamedTuple):
    one_way_min_delta: int
    one_way_min_single: int
    single_poll_min: int
    single_poll_ratio: float
    one_way: tuple[OneWay, ...]
    errors: tuple[ErrorCounter, ...]
    invalid_spi_code: str
    invalid_spi_counters: tuple[str, ...]
    invalid_spi_summary: str
    invalid_spi_causes: tuple[str, ...]


@cache
def counter_rules() -> CounterRules:
    raw = _load("counters")
    th = raw["thresholds"]
    errors = tuple(
        ErrorCounter(
            counter=e["counter"],
            code=e["code"],
            what=e["what"],
            causes=tuple(e["causes"]),
            tolerated=int(th[e["tolerated"]]) if e.get("tolerated") else 0,
        )
        for e in raw["errors"]
    )
    one_way = tuple(
        OneWay(
            code=v["code"],
            direction=direction,
            counter=v["counter"],
            quiet=v["quiet"],
            summary=v["summary"],
            causes=tuple(v["causes"]),
        )
        for direction, v in raw["one_way"].items()
    )
    inv = raw["invalid_spi"]
    return CounterRules(
        one_way_min_delta=int(th["one_way_min_delta"]),
        one_way_min_single=int(th["one_way_min_single"]),
        single_poll_min=int(th["single_poll_min"]),
        single_poll_ratio=float(th["single_poll_ratio"]),
        one_way=one_way,
        errors=errors,
        invalid_spi_code=inv["code"],
        invalid_spi_counters=tuple(inv["counters"]),
        invalid_spi_summary=inv["summary"],
        invalid_spi_causes=tuple(inv["causes"]),
    )


class PlatformFacts(NamedTuple):
    """How a platform reports its tunnels (see platforms.yaml for each field)."""

    name: str
    family: str = "unknown"
    counters: Literal["per_ident", "per_sa"] = "per_sa"
    children: bool = False
    logs: tuple[str, ...] = ()

    def log_texts(self, raw: dict[str, str] | None) -> list[tuple[str, str]]:
        """(command, text) of the raw outputs that are this device's log."""
        return [
            (cmd, text)
            for cmd, text in (raw or {}).items()
            if text and any(cmd == p or cmd.startswith(p + " ") for p in self.logs)
        ]


@cache
def platform_facts(platform: str) -> PlatformFacts:
    """Facts of a platform; an unknown platform gets conservative defaults (no log, counters
    that a rekey may reset), which keep the rules silent where they would have to guess."""
    item = _load("platforms").get(platform)
    if not item:
        return PlatformFacts(platform)
    return PlatformFacts(
        name=platform,
        family=item["family"],
        counters=item["counters"],
        children=bool(item["children"]),
        logs=tuple(item.get("logs") or ()),
    )


@cache
def log_findings() -> dict[str, dict[str, Any]]:
    """Finding code -> {summary, causes, keys} for findings the device's log proves."""
    data: dict[str, dict[str, Any]] = _load("log_findings")
    return data


class Timing(NamedTuple):
    rekey_margin_s: int
    flap_min_downs: int


@cache
def timing() -> Timing:
    raw = _load("timing")
    return Timing(int(raw["rekey_margin_s"]), int(raw["flap_min_downs"]))


def known_platforms() -> list[str]:
    return sorted(_load("platforms"))
