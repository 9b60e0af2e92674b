"""Dashboard fixtures: a replay fleet from real device outputs, and a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory import Host
from ipsecctl.settings import Settings
from ipsecctl.tui.app import DashboardContext, make_context

REPLAY = Path(__file__).resolve().parents[1] / "fixtures" / "replay"
FROZEN = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def replay_hosts() -> list[Host]:
    return [
        Host(name=p.name, hostname=p.name, platform="cisco_iosxe")
        for p in sorted(REPLAY.iterdir())
        if p.is_dir()
    ]


@pytest.fixture
def replay_ctx(tmp_path: Path) -> Iterator[DashboardContext]:
    settings = Settings(
        audit_log=tmp_path / "audit.jsonl", actions_dir=tmp_path / "actions", workers=4
    )
    ctx = make_context(
        replay_hosts(), settings, replay_dir=REPLAY, refresh=3600, host_key_policy="reject"
    )
    ctx.clock = lambda: FROZEN
    yield ctx
    ctx.fleet.close()
