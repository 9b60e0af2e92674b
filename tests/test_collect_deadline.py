"""The collector's overall deadline: devices that answered are kept, the one still busy when
time is up is reported as a timeout, and results keep the hosts' order."""

from __future__ import annotations

import time
from pathlib import Path

from inventory import Host
from inventory.secret import Secret
from ipsecctl.collect import Collector
from ipsecctl.sessions import SessionPool
from ipsecctl.settings import load_settings
from tests.transport.conftest import trust
from tests.transport.ios_server import IosServer


def _host(name: str, server: IosServer, known: Path) -> Host:
    trust(known, server.address, server.port, server.host_key)
    return Host(
        name=name,
        hostname=server.address,
        port=server.port,
        platform="cisco_ios",
        username=server.username,
        password=Secret(server.password),
        use_agent=False,
        enable_secret=Secret(server.enable_secret) if server.enable_secret else None,
        known_hosts=(known,),
    )


def test_overall_deadline_keeps_answers_and_reports_the_slow_device(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.touch()
    settings = load_settings(env={"IPSECCTL_STATE_DIR": str(tmp_path / "state")})
    with (
        IosServer(address="127.0.0.48") as fast,
        IosServer(address="127.0.0.49", command_delay=6.0) as slow,
    ):
        hosts = [_host("slow-1", slow, known), _host("fast-1", fast, known)]
        pool = SessionPool(settings, host_key_policy="reject")
        with Collector(pool, workers=4) as collector:
            seen: list[str] = []
            start = time.monotonic()
            states = collector.poll(hosts, deadline=3.0, progress=lambda s: seen.append(s.device))
            waited = time.monotonic() - start
            time.sleep(max(0.0, 6.2 - waited))  # let the slow device finish its answer
            collector.close()
    assert [s.device for s in states] == ["slow-1", "fast-1"]
    slow_state, fast_state = states
    assert fast_state.reachable and "fast-1" in seen
    assert not slow_state.reachable and "slow-1" not in seen
    (err,) = slow_state.errors
    assert err.kind == "timeout" and "overall deadline of 3 s" in err.message
    assert waited < 5.5  # the slow device was not waited for
