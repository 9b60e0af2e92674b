"""Render golden checks: every example renders, parses back and passes diag pair both ways."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ipsecctl import errors
from ipsecctl.diag.pair import check_pair
from ipsecctl.provision.check import check_rendered, parse_rendered
from ipsecctl.provision.device_configs import render_network, render_pair
from ipsecctl.provision.model import load_spec, parse_spec
from ipsecctl.provision.pairs import check_configs, check_network
from ipsecctl.provision.templating import load_data, load_template, render_all
from ipsecctl.provision.topology import load_network

EXAMPLES = Path(__file__).resolve().parents[2] / "inventory" / "examples" / "provision"
IOS_PAIRS = ["ios-ikev1-map.yaml", "ios-ikev2-map.yaml"]


def base(**over: object) -> dict[str, object]:
    spec: dict[str, object] = {
        "name": "t1",
        "psk": "${VPN_PSK}",
        "ends": [
            {
                "name": "a",
                "platform": "cisco_iosxe",
                "outside_address": "127.0.9.1",
                "inside_networks": ["10.1.0.0/24", "10.1.1.0/24"],
            },
            {
                "name": "b",
                "platform": "cisco_ios",
                "outside_interface": "GigabitEthernet0/0",
                "outside_address": "127.0.9.2",
                "inside_networks": ["10.2.0.0/24"],
            },
        ],
    }
    spec.update(over)
    return spec


TUNNEL_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.yaml") if "topology" not in p.read_text())
TOPOLOGY_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.yaml") if "topology" in p.read_text())


@pytest.mark.parametrize("example", TOPOLOGY_EXAMPLES)
def test_every_topology_example_renders_and_checks_ok(example: str, tmp_path: Path) -> None:
    for f in EXAMPLES.iterdir():  # beside its CSV; a key store would land in tmp_path
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    net = load_network(tmp_path / example)
    renders = render_network(net)
    check = check_network(net, renders)
    assert check.ok and check.pairs, check.failed()
    assert all(
        "${" in r.text
        or "rsa-sig" in r.text
        or "pubkey" in r.text
        or "authentication certificate" in r.text
        or "<removed>" in r.text
        for r in renders
    )


def test_operator_template_example_renders_a_checked_pair() -> None:
    info = load_template(str(EXAMPLES / "templates" / "site.j2"))
    configs = render_all(info, load_data(EXAMPLES / "templates" / "data"))
    check = check_configs(configs)
    assert [(p.a, p.b, p.verdict) for p in check.pairs] == [("east", "west", "ok")]


@pytest.mark.parametrize("example", TUNNEL_EXAMPLES)
def test_every_example_renders_and_checks_ok(example: str) -> None:
    spec = load_spec(EXAMPLES / example)
    a, b = render_pair(spec)
    result = check_rendered(spec, a, b)
    assert result.ok, result.problems
    for r in (a, b):
        assert "${" in r.text  # the key is a placeholder, never a value


@pytest.mark.parametrize("example", IOS_PAIRS)
def test_ios_pairs_parse_back_and_pass_pair_both_directions(example: str) -> None:
    spec = load_spec(EXAMPLES / example)
    a, b = render_pair(spec)
    ca, cb = parse_rendered(a), parse_rendered(b)
    for x, y, nx, ny in ((ca, cb, "a", "b"), (cb, ca, "b", "a")):
        doc = check_pair(x, y, name_a=nx, name_b=ny)
        assert doc["verdict"] == "ok", doc["directions"]
        assert len(doc["directions"]) == 2
        assert all(s["ok"] for d in doc["directions"] for s in d["steps"])
    # exactly what the spec asked for came back out of the parser
    assert ca.crypto_maps[0].peers == [spec.b.outside_address]
    assert cb.crypto_maps[0].peers == [spec.a.outside_address]
    assert ca.crypto_maps[0].pfs == cb.crypto_maps[0].pfs
    assert [t.key() for t in ca.transform_sets.values()] == [
        t.key() for t in cb.transform_sets.values()
    ]


def test_acls_mirror_by_construction() -> None:
    spec = parse_spec(base())
    a, b = render_pair(spec)
    acl_a = parse_rendered(a).acls["ACL-t1"]
    acl_b = parse_rendered(b).acls["ACL-t1"]
    assert {(e.src, e.dst) for e in acl_a} == {(e.dst, e.src) for e in acl_b}
    assert len(acl_a) == 2  # two local networks x one remote network


def test_vti_pair_renders_tunnel_interfaces_and_routes() -> None:
    spec = parse_spec(
        base(
            mode="vti",
            ends=[
                {
                    "name": "a",
                    "platform": "cisco_iosxe",
                    "outside_address": "127.0.9.1",
                    "inside_networks": ["10.1.0.0/24"],
                    "vti": {"interface": "Tunnel7", "address": "172.30.7.1/30"},
                },
                {
                    "name": "b",
                    "platform": "cisco_iosxe",
                    "outside_address": "127.0.9.2",
                    "inside_networks": ["10.2.0.0/24"],
                    "vti": {"interface": "Tunnel7", "address": "172.30.7.2/30"},
                },
            ],
        )
    )
    a, b = render_pair(spec)
    result = check_rendered(spec, a, b)
    assert result.ok and result.method == "vti", result.problems
    assert "ip route 10.2.0.0 255.255.255.0 Tunnel7" in a.text
    assert "tunnel destination 127.0.9.1" in b.text


def test_a_broken_template_output_fails_the_check() -> None:
    """The check is not a rubber stamp: a changed transform on one end fails phase 2."""
    spec = parse_spec(base())
    a, b = render_pair(spec)
    broken = type(b)(
        end=b.end,
        peer=b.peer,
        platform=b.platform,
        text=b.text.replace("esp-gcm 256", "esp-aes 256 esp-sha256-hmac"),
    )
    result = check_rendered(spec, a, broken)
    assert not result.ok
    assert any("phase2" in p for p in result.problems)


@pytest.mark.parametrize(
    ("over", "word"),
    [
        (
            {"proposals": [{"encryption": "3des", "integrity": "sha256", "dh_group": "ecp256"}]},
            "3des",
        ),
        (
            {"proposals": [{"encryption": "aes256", "integrity": "md5", "dh_group": "ecp256"}]},
            "md5",
        ),
        (
            {
                "proposals": [
                    {"encryption": "aes256", "integrity": "sha256", "dh_group": "modp1024"}
                ]
            },
            "modp1024",
        ),
        ({"pfs_group": "modp1536"}, "modp1536"),
        ({"esp": {"encryption": "des", "integrity": "sha256"}}, "des"),
    ],
)
def test_weak_crypto_is_refused_unless_allowed(over: dict[str, object], word: str) -> None:
    with pytest.raises(errors.InputFileError) as info:
        parse_spec(base(**over), source="t.yaml")
    assert "weak crypto refused" in str(info.value) and word in str(info.value)
    assert info.value.exit_code == errors.EXIT_USAGE
    spec = parse_spec(base(**over), allow_weak=True)
    a, b = render_pair(spec)
    assert not check_rendered(spec, a, b).ok or "proposal" in str(over)
    assert check_rendered(spec, a, b, allow_weak=True).ok  # shown, not fatal, when asked for


def test_weak_esp_is_flagged_by_the_audit_even_when_allowed() -> None:
    spec = parse_spec(base(esp={"encryption": "3des", "integrity": "sha1"}), allow_weak=True)
    a, b = render_pair(spec)
    blocked = check_rendered(spec, a, b)
    assert not blocked.ok
    assert {f.code for f in blocked.findings} >= {"WEAK_IPSEC_TRANSFORM"}
    allowed = check_rendered(spec, a, b, allow_weak=True)
    assert allowed.ok and allowed.findings


def test_literal_psk_is_refused() -> None:
    with pytest.raises(errors.UsageError, match="environment reference"):
        parse_spec(base(psk="hunter2hunter2"))


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"name": "bad name"}, "name"),
        ({"esp": {"encryption": "aes256gcm16", "integrity": "sha256"}}, "AEAD"),
        ({"ike_version": 3}, "ike_version"),
    ],
)
def test_bad_specs_give_one_line_errors(over: dict[str, object], needle: str) -> None:
    with pytest.raises(errors.InputFileError) as info:
        parse_spec(base(**over), source="t.yaml")
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_overlapping_inside_networks_refused() -> None:
    data = base()
    data["ends"][1]["inside_networks"] = ["10.1.0.128/25"]  # type: ignore[index]
    with pytest.raises(errors.InputFileError, match="overlap"):
        parse_spec(data)


def test_psk_file_and_env_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "k.psk").write_text("file-key-123456\n")
    spec = parse_spec(base(psk=None, psk_file="k.psk"))
    assert spec.psk_source().resolve(tmp_path).get_secret_value() == "file-key-123456"
    assert "file-key" not in repr(spec.psk_source().resolve(tmp_path))
    monkeypatch.delenv("VPN_PSK", raising=False)
    with pytest.raises(errors.UsageError, match="VPN_PSK is not set"):
        parse_spec(base()).psk_source().resolve()
