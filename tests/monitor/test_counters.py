"""Exporter counters stay monotonic across rekeys, clears and reboots (pure; the numbers are
the device counters written below, the totals worked out by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

from ipsecctl.exporter.metrics import FORGET_AFTER_POLLS, CounterBank, Snapshot, render
from ipsecctl.models import CommandError, DeviceState, IpsecSa, Tunnel

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _tunnel(kind: str, spi_in: int, spi_out: int, dec: int, enc: int, **more: int) -> Tunnel:
    return Tunnel(
        id="hub:abc",
        device="hub",
        kind=kind,
        peer="127.0.9.2",
        state="up",  # type: ignore[arg-type]
        sas=[
            IpsecSa(direction="in", spi=spi_in, remaining_s=900),
            IpsecSa(direction="out", spi=spi_out, remaining_s=880),
        ],
        counters={"pkts_decaps": dec, "pkts_encaps": enc, **more},
    )


def _state(*tunnels: Tunnel, reachable: bool = True) -> DeviceState:
    return DeviceState(
        device="hub", platform="cisco_ios", polled_at=T0, reachable=reachable, tunnels=list(tunnels)
    )


def test_cisco_flow_counters_continue_across_a_rekey_and_restart_after_a_clear() -> None:
    bank = CounterBank()
    bank.update(_state(_tunnel("crypto_map", 1, 2, dec=100, enc=50)))
    bank.update(_state(_tunnel("crypto_map", 3, 4, dec=130, enc=60)))  # rekey: counts go on
    t = _tunnel("crypto_map", 3, 4, 0, 0)
    assert bank.total(t, "pkts_decaps") == 130
    bank.update(_state(_tunnel("crypto_map", 5, 6, dec=7, enc=2)))  # cleared: reset to 0+7
    assert bank.total(t, "pkts_decaps") == 137
    assert bank.total(t, "pkts_encaps") == 62
    bank.update(_state(reachable=False))  # unreachable: nothing changes, nothing forgotten
    bank.update(_state(_tunnel("crypto_map", 5, 6, dec=10, enc=2)))
    assert bank.total(t, "pkts_decaps") == 140


def test_a_rekeyed_child_sa_starts_its_own_count_which_is_added() -> None:
    bank = CounterBank()
    bank.update(_state(_tunnel("child_sa", 1, 2, dec=100, enc=100)))
    # strongSwan shows the old and the new CHILD_SA side by side for a moment
    bank.update(
        _state(_tunnel("child_sa", 1, 2, dec=110, enc=100), _tunnel("child_sa", 3, 4, dec=5, enc=5))
    )
    t = _tunnel("child_sa", 3, 4, 0, 0)
    assert bank.total(t, "pkts_decaps") == 115
    # the new one has carried more than the old one ever did: still no double count
    bank.update(_state(_tunnel("child_sa", 3, 4, dec=500, enc=5)))
    assert bank.total(t, "pkts_decaps") == 610


def test_a_tunnel_gone_for_a_while_goes_on_from_its_total_then_is_forgotten() -> None:
    bank = CounterBank()
    bank.update(_state(_tunnel("crypto_map", 1, 2, dec=10, enc=10)))
    partial = _state()
    partial.errors = [CommandError(command="show crypto ipsec sa", kind="timeout", message="x")]
    bank.update(partial)
    t = _tunnel("crypto_map", 1, 2, 0, 0)
    assert bank.total(t, "pkts_decaps") == 10
    bank.update(_state())  # gone from a complete poll (torn down, flapping)
    assert bank.total(t, "pkts_decaps") == 10
    bank.update(_state(_tunnel("crypto_map", 3, 4, dec=4, enc=4)))  # back, counters anew
    assert bank.total(t, "pkts_decaps") == 14  # never backwards: no counter reset
    for _ in range(FORGET_AFTER_POLLS + 1):
        bank.update(_state())
    assert bank.total(t, "pkts_decaps") is None


def test_render_names_types_and_labels() -> None:
    bank = CounterBank()
    state = _state(_tunnel("crypto_map", 1, 2, dec=10, enc=20, replay_failed=3))
    bank.update(state)
    text = render(Snapshot([state], 1.5, 1), bank).decode()
    labels = 'device="hub",direction="in",peer="127.0.9.2",tunnel="hub:abc",vrf=""'
    assert f"ipsecctl_tunnel_packets_total{{{labels}}} 10.0" in text
    assert "# TYPE ipsecctl_tunnel_packets_total counter" in text
    assert (
        'ipsecctl_tunnel_errors_total{device="hub",kind="replay_failed",peer="127.0.9.2",'
        'tunnel="hub:abc",vrf=""} 3.0'
    ) in text
    assert 'ipsecctl_tunnel_up{device="hub",peer="127.0.9.2",tunnel="hub:abc",vrf=""} 1.0' in text
    assert f"ipsecctl_sa_remaining_seconds{{{labels}}} 900.0" in text
    assert 'ipsecctl_device_up{device="hub",platform="cisco_ios"} 1.0' in text
    assert "ipsecctl_poll_duration_seconds 1.5" in text
