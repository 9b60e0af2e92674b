"""Merging a device's outputs into one DeviceState, on real device outputs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import parsers
from ipsecctl.assemble import assemble, expected_up_for, tunnel_state
from ipsecctl.models import IkeSa, IpsecSa, Tunnel

FIX = Path(__file__).parent / "fixtures" / "cisco" / "iosxe"


def sample(command_dir: str, n: int = 1) -> str:
    return (FIX / command_dir / f"genieparser-{n}.txt").read_text()


def test_parsing_is_thread_safe() -> None:
    """The collector parses on a thread pool: results must never cross between devices."""
    texts = [sample("show_crypto_ipsec_sa", 1), sample("show_crypto_ipsec_sa_detail", 1)]
    expected = [parsers.parse("cisco_iosxe", "show crypto ipsec sa", t) for t in texts]

    def job(i: int) -> bool:
        return parsers.parse("cisco_iosxe", "show crypto ipsec sa", texts[i % 2]) == expected[i % 2]

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(job, range(200)))


def test_isakmp_table_and_detail_merge_into_one_sa() -> None:
    table = sample("show_crypto_isakmp_sa", 1)
    detail = sample("show_crypto_isakmp_sa_detail", 1)
    only_table = assemble("r1", "cisco_iosxe", {"show crypto isakmp sa": table})
    both = assemble(
        "r1",
        "cisco_iosxe",
        {"show crypto isakmp sa": table, "show crypto isakmp sa detail": detail},
    )
    assert not both.errors
    by_conn = {sa.conn_id: sa for sa in both.ike_sas}
    for sa in only_table.ike_sas:
        merged = by_conn.get(sa.conn_id)
        if merged is None:
            continue
        assert merged.state == sa.state and merged.status == sa.status


def test_parse_error_is_kept_per_command_and_others_survive() -> None:
    good = sample("show_crypto_ipsec_sa", 1)
    state = assemble(
        "r1",
        "cisco_iosxe",
        {
            "show crypto ipsec sa": good,
            "show crypto isakmp sa": "complete garbage that no router prints\n",
        },
    )
    assert state.tunnels, "the good command's data is kept"
    (err,) = state.errors
    assert err.kind == "parse" and err.command == "show crypto isakmp sa"
    assert "complete garbage" in err.message


def test_tunnel_states() -> None:
    sa_in = IpsecSa(direction="in", spi=1)
    sa_out = IpsecSa(direction="out", spi=2)
    assert tunnel_state(Tunnel(sas=[sa_in, sa_out])) == "up"
    assert tunnel_state(Tunnel(ike_status="negotiating")) == "negotiating"
    assert tunnel_state(Tunnel(ike_status="up")) == "down"  # phase 2 failing
    assert tunnel_state(Tunnel(expected_up=True)) == "down"
    assert tunnel_state(Tunnel()) == "idle"
    assert tunnel_state(Tunnel(sas=[sa_out])) == "down"  # one direction only


def test_expected_up_forms() -> None:
    assert expected_up_for(None, "10.0.0.1") is None
    assert expected_up_for(True, "10.0.0.1") is True
    assert expected_up_for(["10.0.0.1"], "10.0.0.1") is True
    assert expected_up_for(["FD6C:AB::4"], "fd6c:ab::4") is True
    assert expected_up_for(["10.0.0.1"], "10.0.0.2") is False


def test_ike_peer_address_prefers_remote() -> None:
    assert IkeSa(remote="10.0.0.2", dst="10.0.0.9").peer_address() == "10.0.0.2"
