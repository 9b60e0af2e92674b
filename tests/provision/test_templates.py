"""Operator templates + data files: one configuration per data file or CSV row, checked.

Through the real console entry point. Expected configuration lines are IOS syntax written
here by hand; the pair verdicts come from ``diag pair`` on the rendered text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SITE_TEMPLATE = """\
{# optional: map_seq #}
{% import "blocks/ios.j2" as ios %}
hostname {{ name }}
{{ ios.ikev2_proposal("P", [{"encryption": "aes256", "integrity": "sha256",
                             "dh_group": "ecp256"}]) -}}
{{ ios.ikev2_keyring("KR", [{"name": "peer", "address": peer, "key": "${SITE_PSK}"}]) -}}
{{ ios.ikev2_profile("PR", [peer], wan_ip, "KR") -}}
{{ ios.transform_set("TS", {"encryption": "aes256gcm16"}) -}}
{{ ios.acl("ACL", lan | cross(peer_lan)) -}}
{{ ios.crypto_map_entry("VPN", map_seq | default(10), peer, "TS", "ACL", none, "ecp256",
                        3600, 4608000, "PR") -}}
interface {{ wan_if }}
 ip address {{ wan_ip }} 255.255.255.0
 crypto map VPN
!
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def site_data(folder: Path) -> Path:
    write(
        folder / "east.yaml",
        "platform: cisco_iosxe\nwan_if: GigabitEthernet1\n"
        "wan_ip: 127.5.0.1\npeer: 127.5.0.2\nlan: 10.51.0.0/24\npeer_lan: 10.52.0.0/24\n",
    )
    write(
        folder / "west.txt",
        "# name = value pairs, one data file per device\n"
        "platform = cisco_ios\nwan_if = GigabitEthernet0/0\nwan_ip = 127.5.0.2\n"
        "peer = 127.5.0.1\nlan = 10.52.0.0/24\npeer_lan = 10.51.0.0/24\nmap_seq = 30\n",
    )
    return folder


def test_operator_template_with_a_folder_of_data_files(prov: Any, tmp_path: Path) -> None:
    tpl = write(tmp_path / "site.j2", SITE_TEMPLATE)
    data = site_data(tmp_path / "data")
    run = prov(
        "provision",
        "render",
        str(tpl),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert run.code == 0, run
    doc = run.json
    assert [(c["name"], c["platform"], Path(c["path"]).name) for c in doc["configs"]] == [
        ("east", "cisco_iosxe", "east.cfg"),
        ("west", "cisco_ios", "west.cfg"),
    ]
    assert [(p["a"], p["b"], p["verdict"]) for p in doc["pairs"]] == [("east", "west", "ok")]
    west = (tmp_path / "out" / "west.cfg").read_text()
    assert "hostname west\n" in west
    assert "crypto map VPN 30 ipsec-isakmp\n" in west
    assert " permit ip 10.52.0.0 0.0.0.255 10.51.0.0 0.0.0.255\n" in west
    assert "crypto ipsec transform-set TS esp-gcm 256\n" in west
    assert "  pre-shared-key ${SITE_PSK}\n" in west
    east = (tmp_path / "out" / "east.cfg").read_text()
    assert "crypto map VPN 10 ipsec-isakmp\n" in east  # the template's default


def test_builtin_template_with_a_csv(prov: Any, tmp_path: Path) -> None:
    csv = write(
        tmp_path / "sites.csv",
        "name,platform,tunnel,outside_interface,outside_address,peer_name,"
        "peer_address,local_networks,remote_networks\n"
        "hq,cisco_iosxe,t1,GigabitEthernet1,127.3.0.1,br1,127.3.0.2,"
        "10.1.0.0/24 10.1.1.0/24,10.2.0.0/24\n"
        "br1,cisco_ios,t1,GigabitEthernet0/0,127.3.0.2,hq,127.3.0.1,10.2.0.0/24,"
        "10.1.0.0/24;10.1.1.0/24\n",
    )
    run = prov("provision", "render", "ios_crypto_map", "--data", str(csv), "--json")
    assert run.code == 0, run
    assert [p["verdict"] for p in run.json["pairs"]] == ["ok"]
    assert [c["name"] for c in run.json["configs"]] == ["hq", "br1"]
    text = prov("provision", "render", "ios_crypto_map", "--data", str(csv))
    assert " permit ip 10.1.1.0 0.0.0.255 10.2.0.0 0.0.0.255\n" in text.out
    assert " permit ip 10.2.0.0 0.0.0.255 10.1.1.0 0.0.0.255\n" in text.out


def test_a_mismatched_pair_fails_the_render_with_exit_3(prov: Any, tmp_path: Path) -> None:
    csv = write(
        tmp_path / "sites.csv",
        "name,platform,tunnel,outside_interface,outside_address,peer_name,"
        "peer_address,local_networks,remote_networks,esp_encryption,esp_integrity\n"
        "hq,cisco_iosxe,t1,GigabitEthernet1,127.3.0.1,br1,127.3.0.2,10.1.0.0/24,"
        "10.2.0.0/24,aes256gcm16,\n"
        "br1,cisco_ios,t1,GigabitEthernet0/0,127.3.0.2,hq,127.3.0.1,10.2.0.0/24,"
        "10.1.0.0/24,aes256,sha256\n",
    )
    run = prov("provision", "render", "ios_crypto_map", "--data", str(csv), "--json")
    assert run.code == 3, run
    (pair,) = run.json["pairs"]
    assert (pair["a"], pair["b"], pair["verdict"], pair["first_failure"]) == (
        "br1",
        "hq",
        "fail",
        "phase2",
    )
    human = prov("provision", "render", "ios_crypto_map", "--data", str(csv))
    assert human.code == 3 and "br1 <-> hq: phase2" in human.err


def test_missing_and_unknown_variables_name_file_line_and_variable(
    prov: Any, tmp_path: Path
) -> None:
    tpl = write(tmp_path / "site.j2", SITE_TEMPLATE)
    data = site_data(tmp_path / "data")
    text = (data / "west.txt").read_text()
    (data / "west.txt").write_text(text.replace("peer_lan = 10.51.0.0/24\n", ""))
    run = prov("provision", "render", str(tpl), "--data", str(data))
    assert run.code == 2, run
    assert "west.txt" in run.err and "'peer_lan' missing" in run.err
    assert "site.j2 uses it at line 9" in run.err
    (data / "west.txt").write_text(text + "colour = blue\n")
    run = prov("provision", "render", str(tpl), "--data", str(data))
    assert run.code == 2, run
    assert "west.txt line 9: variable 'colour' is not used by the template" in run.err
    yaml_bad = (data / "east.yaml").read_text() + "vrf: RED\n"
    (data / "west.txt").write_text(text)
    (data / "east.yaml").write_text(yaml_bad)
    run = prov("provision", "render", str(tpl), "--data", str(data))
    assert run.code == 2 and "east.yaml line 7: variable 'vrf'" in run.err, run
    assert not list(tmp_path.glob("out*"))


def test_template_syntax_error_names_file_and_line(prov: Any, tmp_path: Path) -> None:
    tpl = write(tmp_path / "bad.j2", "hostname {{ name }}\n!\n{% if x %}\ncrypto map M\n")
    data = write(tmp_path / "d.yaml", "platform: cisco_ios\nx: 1\n")
    run = prov("provision", "render", str(tpl), "--data", str(data))
    assert run.code == 2, run
    assert f"{tpl} line 4: template syntax error" in run.err and "Traceback" not in run.err


def test_unknown_platform_and_duplicates_are_refused(prov: Any, tmp_path: Path) -> None:
    tpl = write(
        tmp_path / "t.j2",
        "hostname {{ name }}\ninterface X\n ip address {{ outside_address }} 255.255.255.0\n",
    )
    data = write(
        tmp_path / "a.csv",
        "name,platform,outside_address\nr1,cisco_ios,127.6.0.1\nr2,junos,127.6.0.2\n",
    )
    run = prov("provision", "render", str(tpl), "--data", str(data))
    assert run.code == 2 and "a.csv line 3: unknown platform 'junos'" in run.err, run
    data = write(
        tmp_path / "b.csv",
        "name,platform,outside_address\nr1,cisco_ios,127.6.0.1\nr2,cisco_ios,127.6.0.1\n",
    )
    run = prov("provision", "render", str(tpl), "--data", str(data))
    assert run.code == 2 and "b.csv line 3: duplicate outside_address '127.6.0.1'" in run.err
    data = write(
        tmp_path / "c.csv",
        "name,platform,outside_address\nr1,cisco_ios,127.6.0.1\nr1,cisco_ios,127.6.0.2\n",
    )
    run = prov("provision", "render", str(tpl), "--data", str(data))
    assert run.code == 2 and "c.csv line 3: duplicate name 'r1'" in run.err
    run = prov("provision", "render", "no_such_template", "--data", str(data))
    assert run.code == 2 and "built-ins: ios_crypto_map.j2, ios_vti.j2" in run.err


def test_weak_template_output_refused_unless_allowed(prov: Any, tmp_path: Path) -> None:
    csv = write(
        tmp_path / "s.csv",
        "name,platform,tunnel,outside_interface,outside_address,peer_name,"
        "peer_address,local_networks,remote_networks,ike_encryption\n"
        "hq,cisco_iosxe,t1,GigabitEthernet1,127.3.0.1,br1,127.3.0.2,10.1.0.0/24,"
        "10.2.0.0/24,3des\n",
    )
    run = prov("provision", "render", "ios_crypto_map", "--data", str(csv))
    assert run.code == 2 and "weak crypto refused" in run.err, run
    assert (
        prov("provision", "render", "ios_crypto_map", "--data", str(csv), "--allow-weak").code == 0
    )


def test_templates_are_sandboxed(prov: Any, tmp_path: Path) -> None:
    tpl = write(tmp_path / "evil.j2", "{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    data = write(tmp_path / "d.yaml", "platform: cisco_ios\n")
    run = prov("provision", "render", str(tpl), "--data", str(data))
    assert run.code == 2 and "unsafe" in run.err and "Traceback" not in run.err, run
