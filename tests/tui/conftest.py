"""Dashboard fixtures: a replay fleet from real device outputs, and a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.settings import Settings
from ipsecctl.tui.app import DashboardContext, make_context

REPLAY = Path(__file__).resolve().parents[1] / "fixtures" / "replay"
FROZEN = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class ReplayHost:
    """What the collector reads from an inventory host when replaying saved outputs."""

    name: str
    platform: str = "cisco_iosxe"
    expected_up: Any = None
    jump_host: Any = None


def replay_hosts() -> list[ReplayHost]:
    return [ReplayHost(p.name) for p in sorted(REPLAY.iterdir()) if p.is_dir()]


@pytest.fixture
def replay_ctx(tmp_path: Path) -> Iterator[DashboardContext]:
    settings = Settings(audit_log=tmp_path / "audit.jsonl", workers=4)
    ctx = make_context(replay_hosts(), settings, replay_dir=REPLAY, refresh=3600,
                       host_key_policy="reject")
    ctx.clock = lambda: FROZEN
    yield ctx
    ctx.collector.close()
