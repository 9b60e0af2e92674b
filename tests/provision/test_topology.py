"""Topologies from one spec: hub-and-spoke from a CSV, full mesh, DMVPN, VTI hubs, two hubs.

Generated configurations are read back with the lab's own configuration reader
(:mod:`ipsecctl.lab.device_config`, written independently of the generator and of
``diag``), so "the hub has one entry per spoke, in order, and each spoke mirrors it" is checked
on the IOS text itself; the pair verdicts come from ``diag pair``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipsecctl import errors
from ipsecctl.lab.device_config import intents
from ipsecctl.provision.device_configs import render_network
from ipsecctl.provision.pairs import check_network
from ipsecctl.provision.topology import load_network, parse_topology

HUB = {
    "name": "hub",
    "platform": "cisco_iosxe",
    "outside_address": "127.1.0.1",
    "inside_networks": ["10.0.0.0/16"],
}


def spokes_csv(path: Path, n: int, **override: dict[str, str]) -> Path:
    rows = [["name", "platform", "outside_interface", "outside_address", "inside_networks"]]
    for i in range(n):
        rows.append(
            [
                f"s{i + 1:04d}",
                "cisco_ios" if i % 2 else "cisco_iosxe",
                "GigabitEthernet0/0" if i % 2 else "GigabitEthernet1",
                f"127.2.{i // 250}.{1 + i % 250}",
                f"10.{100 + i // 250}.{i % 250}.0/24",
            ]
        )
    for idx, values in override.items():
        row = rows[int(idx)]
        for col, value in values.items():
            row[rows[0].index(col)] = value
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def spec(tmp_path: Path, n: int = 3, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "name": "hs",
        "topology": "hub_spoke",
        "psk": "${HS_PSK}",
        "hubs": [HUB],
        "spokes_csv": "spokes.csv",
        **extra,
    }
    if not (tmp_path / "spokes.csv").exists():
        spokes_csv(tmp_path / "spokes.csv", n)
    path = tmp_path / "hs.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_hub_with_many_spokes_from_csv_every_pair_checked(tmp_path: Path) -> None:
    net = load_network(spec(tmp_path, 300))
    renders = render_network(net)
    check = check_network(net, renders)
    assert check.ok, check.failed()[:3]
    assert len(check.pairs) == 300 and {p.method for p in check.pairs} == {"diag pair"}
    hub, spokes = renders[0], renders[1:]
    # the hub's own text, read by the lab's reader: one entry per spoke, ordered sequence
    # numbers, in the CSV's order, each with its own ACL selecting hub -> that spoke
    hub_intents = intents(
        "hub",
        hub.text.replace(
            "interface GigabitEthernet1\n",
            "interface GigabitEthernet1\n ip address 127.1.0.1 255.255.255.0\n",
        ),
        "cisco_iosxe",
    )
    assert [it.seq for it in hub_intents] == list(range(10, 3010, 10))
    rows = list(csv.DictReader((tmp_path / "spokes.csv").read_text().splitlines()))
    assert [it.peer_addr for it in hub_intents] == [r["outside_address"] for r in rows]
    for it, r, s in zip(hub_intents, rows, spokes, strict=True):
        assert [(str(a), str(b)) for a, b in it.selectors] == [
            ("10.0.0.0/16", r["inside_networks"])
        ]
        iface = "GigabitEthernet0/0" if s.platform == "cisco_ios" else "GigabitEthernet1"
        text = s.text.replace(
            f"interface {iface}\n",
            f"interface {iface}\n ip address {r['outside_address']} 255.255.255.0\n",
        )
        (mine,) = intents(s.name, text, s.platform)
        assert mine.peer_addr == "127.1.0.1" and mine.seq == 10
        assert mine.mirrors(it)  # each spoke's ACL is the mirror of the hub's entry for it


def test_render_cli_json_names_pairs_and_holds_no_key(prov: Any, tmp_path: Path) -> None:
    path = spec(tmp_path, 5, psk="generate", key_store="keys")
    run = prov("provision", "render", str(path), "--out", str(tmp_path / "out"), "--json")
    assert run.code == 0, run
    doc = run.json
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "provision_render"
    assert [c["name"] for c in doc["configs"]] == ["hub"] + [f"s{i:04d}" for i in range(1, 6)]
    assert set(doc["configs"][0]) >= {"name", "device", "platform", "path", "lines"}
    assert [(p["a"], p["b"], p["verdict"], p["first_failure"]) for p in doc["pairs"]] == [
        ("hub", f"s{i:04d}", "ok", None) for i in range(1, 6)
    ]
    # a render shows each pair's own key reference; keys are made when a push needs them
    assert "pre-shared-key ${psk:hub--s0003}" in (tmp_path / "out" / "s0003.cfg").read_text()
    assert "pre-shared-key ${psk:hub--s0003}" in (tmp_path / "out" / "hub.cfg").read_text()
    assert not (tmp_path / "keys").exists()
    assert oct((tmp_path / "out").stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"3": {"name": "s0001"}}, "duplicate name 's0001'"),
        ({"4": {"outside_address": "127.2.0.2"}}, "duplicate outside address '127.2.0.2'"),
        ({"2": {"platform": "juniper"}}, "line 3: platform"),
        ({"2": {"inside_networks": "10.0.5.0/24"}}, "overlap"),
    ],
)
def test_bad_spoke_rows_are_refused_before_rendering(
    prov: Any, tmp_path: Path, override: dict[str, Any], needle: str
) -> None:
    spokes_csv(tmp_path / "spokes.csv", 5, **override)
    run = prov("provision", "render", str(spec(tmp_path)), "--out", str(tmp_path / "out"))
    assert run.code == 2, run
    assert needle in run.err and "Traceback" not in run.err
    assert not (tmp_path / "out").exists()


def test_weak_topology_refused_unless_allowed(prov: Any, tmp_path: Path) -> None:
    path = spec(
        tmp_path, 2, proposals=[{"encryption": "3des", "integrity": "sha1", "dh_group": "modp1024"}]
    )
    run = prov("provision", "render", str(path))
    assert run.code == 2 and "weak crypto refused" in run.err, run
    assert prov("provision", "render", str(path), "--allow-weak").code == 0


def test_full_mesh_every_member_reaches_every_other() -> None:
    members = [
        {
            "name": f"m{i}",
            "platform": "cisco_iosxe",
            "outside_address": f"127.4.0.{i}",
            "inside_networks": [f"10.4{i}.0.0/24"],
        }
        for i in range(1, 5)
    ]
    net = parse_topology(
        {"name": "mesh", "topology": "full_mesh", "psk": "${M}", "members": members}
    )
    renders = render_network(net)
    check = check_network(net, renders)
    assert check.ok and len(check.pairs) == 6
    for r in renders:
        text = r.text.replace(
            "interface GigabitEthernet1\n",
            f"interface GigabitEthernet1\n ip address {r.node.outside_address} 255.255.255.0\n",
        )
        peers = sorted(it.peer_addr for it in intents(r.name, text, "cisco_iosxe"))
        assert peers == sorted(m["outside_address"] for m in members if m["name"] != r.name)
    with pytest.raises(errors.InputFileError, match="3 to 16 members"):
        parse_topology(
            {"name": "mesh", "topology": "full_mesh", "psk": "${M}", "members": members[:2]}
        )


def test_vti_hub_one_tunnel_per_spoke() -> None:
    spokes = [
        {
            "name": f"s{i}",
            "platform": "cisco_iosxe",
            "outside_address": f"127.2.0.{i}",
            "inside_networks": [f"10.10{i}.0.0/24"],
        }
        for i in range(1, 4)
    ]
    net = parse_topology(
        {
            "name": "v",
            "topology": "hub_spoke",
            "mode": "vti",
            "psk": "${V}",
            "hubs": [HUB],
            "spokes": spokes,
            "vti_pool": "172.30.8.0/24",
        }
    )
    renders = render_network(net)
    assert check_network(net, renders).ok
    hub = renders[0].text
    for i in range(3):
        assert f"interface Tunnel{100 + i}\n" in hub
        assert f" ip address 172.30.8.{4 * i + 1} 255.255.255.252\n" in hub
        assert f" tunnel destination 127.2.0.{i + 1}\n" in hub
        assert f"ip route 10.10{i + 1}.0.0 255.255.255.0 Tunnel{100 + i}" in hub
    assert " ip address 172.30.8.6 255.255.255.252\n" in renders[2].text
    assert " tunnel destination 127.1.0.1\n" in renders[2].text


def test_two_hubs_each_spoke_has_an_entry_per_hub() -> None:
    hub2 = {**HUB, "name": "hub2", "outside_address": "127.1.0.2"}
    spokes = [
        {
            "name": "s1",
            "platform": "cisco_ios",
            "outside_interface": "GigabitEthernet0/0",
            "outside_address": "127.2.0.1",
            "inside_networks": ["10.101.0.0/24"],
        }
    ]
    net = parse_topology(
        {
            "name": "dh",
            "topology": "hub_spoke",
            "psk": "${D}",
            "hubs": [HUB, hub2],
            "spokes": spokes,
        }
    )
    renders = render_network(net)
    check = check_network(net, renders)
    assert check.ok and [(p.a, p.b) for p in check.pairs] == [("hub", "s1"), ("hub2", "s1")]
    spoke = renders[2].text
    assert "crypto map VPNMAP 10 ipsec-isakmp\n description dh to hub\n set peer 127.1.0.1" in spoke
    assert (
        "crypto map VPNMAP 20 ipsec-isakmp\n description dh to hub2\n set peer 127.1.0.2" in spoke
    )
    with pytest.raises(errors.InputFileError, match="one or two hubs"):
        parse_topology(
            {
                "name": "x",
                "topology": "hub_spoke",
                "psk": "${D}",
                "hubs": [HUB, hub2, {**HUB, "name": "h3", "outside_address": "1.1.1.3"}],
                "spokes": spokes,
            }
        )


@pytest.mark.parametrize("phase", [2, 3])
def test_dmvpn_hub_and_spokes(phase: int) -> None:
    spokes = [
        {
            "name": f"s{i}",
            "platform": "cisco_iosxe",
            "outside_address": f"127.2.0.{i}",
            "inside_networks": [f"10.10{i}.0.0/24"],
        }
        for i in range(1, 4)
    ]
    net = parse_topology(
        {
            "name": "dm",
            "topology": "dmvpn",
            "psk": "${D}",
            "hubs": [HUB],
            "spokes": spokes,
            "dmvpn": {"phase": phase, "tunnel_key": 42, "network_id": 9},
        }
    )
    renders = render_network(net)
    check = check_network(net, renders)
    assert check.ok and {p.method for p in check.pairs} == {"dmvpn"}
    hub, s1 = renders[0].text, renders[1].text
    for text in (hub, s1):
        assert " tunnel mode gre multipoint\n" in text and " tunnel key 42\n" in text
        assert " ip nhrp network-id 9\n" in text and " mode transport\n" in text
        assert " tunnel protection ipsec profile IPSEC-dm\n" in text
    assert " ip nhrp map multicast dynamic\n" in hub
    assert " ip address 172.31.0.1 255.255.255.0\n" in hub
    assert " ip nhrp nhs 172.31.0.1 nbma 127.1.0.1 multicast\n" in s1
    assert (" ip nhrp redirect\n" in hub) is (phase == 3)
    assert (" ip nhrp shortcut\n" in s1) is (phase == 3)
    # a spoke accepts the other spokes too (spoke-to-spoke tunnels are built on demand)
    assert " match identity remote address 127.2.0.2 255.255.255.255\n" in s1
    # a broken spoke (another NHRP network id) fails its pair, named
    bad = renders[1].__class__(
        renders[1].node,
        renders[1].platform,
        s1.replace("network-id 9", "network-id 8"),
        renders[1].links,
        renders[1].network,
    )
    verdict = check_network(net, [renders[0], bad, *renders[2:]])
    assert [(p.a, p.b, p.first_failure) for p in verdict.failed()] == [("hub", "s1", "dmvpn")]


def test_certificate_auth_for_cisco_ends() -> None:
    spokes = [
        {
            "name": "fw",
            "platform": "cisco_asa",
            "outside_interface": "outside",
            "outside_address": "127.2.0.1",
            "inside_networks": ["10.101.0.0/24"],
        },
        {
            "name": "r2",
            "platform": "cisco_ios",
            "outside_interface": "GigabitEthernet0/0",
            "outside_address": "127.2.0.2",
            "inside_networks": ["10.102.0.0/24"],
        },
    ]
    net = parse_topology(
        {
            "name": "ce",
            "topology": "hub_spoke",
            "auth": "cert",
            "hubs": [HUB],
            "spokes": spokes,
            "pki": {
                "trustpoint": "LAB-CA",
                "enrollment_url": "http://127.0.0.1:80/cgi-bin/pkiclient.exe",
            },
        }
    )
    renders = render_network(net)
    check = check_network(net, renders)
    assert check.ok, check.failed()
    assert [p.method for p in check.pairs] == ["spec", "diag pair + cert"]
    hub, fw, r2 = (r.text for r in renders)
    for text in (hub, r2):
        assert (
            "crypto pki trustpoint LAB-CA\n enrollment url http://127.0.0.1:80/cgi-bin/"
            "pkiclient.exe\n" in text
        )
        assert " authentication local rsa-sig\n pki trustpoint LAB-CA\n" in text
        assert "pre-shared-key" not in text
    assert " subject-name CN=r2.vpn.example\n" in r2
    assert "crypto ca trustpoint LAB-CA\n enrollment url http://127.0.0.1:80/" in fw
    assert " ikev2 local-authentication certificate LAB-CA\n" in fw
    assert "crypto map VPNMAP 10 set trustpoint LAB-CA\n" in fw


def test_dynamic_map_hub_answers_every_spoke() -> None:
    spokes = [
        {
            "name": f"s{i}",
            "platform": "cisco_iosxe",
            "outside_address": f"127.2.0.{i}",
            "inside_networks": [f"10.10{i}.0.0/24"],
        }
        for i in range(1, 4)
    ]
    net = parse_topology(
        {
            "name": "dy",
            "topology": "hub_spoke",
            "hub_mode": "dynamic_map",
            "psk": "${D}",
            "hubs": [HUB],
            "spokes": spokes,
        }
    )
    renders = render_network(net)
    check = check_network(net, renders)
    assert check.ok and {p.method for p in check.pairs} == {"diag pair (dynamic map)"}
    hub = renders[0].text
    assert "crypto dynamic-map DYN-dy 10\n set transform-set TS-dy\n set pfs group19\n" in hub
    assert "crypto map VPNMAP 65535 ipsec-isakmp dynamic DYN-dy\n" in hub
    assert "ipsec-isakmp\n" not in hub.replace("dynamic DYN-dy\n", "")  # no static entries
    assert " set peer 127.1.0.1\n" in renders[1].text
    # the check reads the dynamic map's own lines: another transform there fails phase 2
    bad = renders[0].__class__(
        renders[0].node,
        renders[0].platform,
        hub.replace(" set transform-set TS-dy\n !", "!").replace(
            "crypto dynamic-map DYN-dy 10\n set transform-set TS-dy",
            "crypto dynamic-map DYN-dy 10\n set transform-set TS-X",
        ),
        renders[0].links,
        renders[0].network,
    )
    verdict = check_network(net, [bad, *renders[1:]])
    assert {p.first_failure for p in verdict.pairs} == {"phase2"}


def test_per_pair_key_files(tmp_path: Path) -> None:
    from ipsecctl.provision.keys import resolve_psks

    path = spec(tmp_path, 2, psk=None, psk_file="k/{pair}.psk")
    net = load_network(path)
    text = render_network(net)[0].text
    assert "pre-shared-key ${file:hub--s0001.psk}" in text
    assert "pre-shared-key ${file:hub--s0002.psk}" in text
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "hub--s0001.psk").write_text("first-key-0001\n")
    with pytest.raises(errors.InputFileError, match=r"hub--s0002.psk: cannot read"):
        resolve_psks(net, tmp_path)
    (tmp_path / "k" / "hub--s0002.psk").write_text("second-key-0002\n")
    keys = resolve_psks(net, tmp_path)
    assert {k: v.get_secret_value() for k, v in keys.items()} == {
        "hub--s0001": "first-key-0001",
        "hub--s0002": "second-key-0002",
    }
