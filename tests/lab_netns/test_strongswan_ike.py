"""Real strongSwan tunnels in namespaces: capture, decode IKE, decrypt SK with charon's keys,
check ESP with the packets decryptor, and cross-check the IKE decryption against tshark."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.diag.ike.decode import decode_capture
from ipsecctl.diag.ike.keys import KeyTable, ikev2_keys, load_keys, wireshark_uat_line
from ipsecctl.diag.ike.timeline import build_sas
from ipsecctl.lab.strongswan import NetnsLab, Tunnel

pytestmark = pytest.mark.netns


def ike_table(keys: dict[str, Any]) -> KeyTable:
    table = KeyTable()
    for k in keys["ike"]:
        entry = ikev2_keys(
            k["spi_i"],
            k["spi_r"],
            k["sk_ei"],
            k["sk_er"],
            k["encr_alg"],
            k.get("sk_ai", ""),
            k.get("sk_ar", ""),
            k.get("integ_alg", "NONE"),
            keysize=k.get("encr_keysize"),
        )
        table.ikev2[(entry.spi_i, entry.spi_r)] = entry
    return table


def esp_yaml(lab: NetnsLab, keys: dict[str, Any], esp: str) -> str:
    """ESP keys for ipsecctl.diag.packets: a->b uses the initiator keys and SPI-out."""
    assert lab.a is not None and lab.b is not None
    a, b = lab.a.wan.split("/")[0], lab.b.wan.split("/")[0]
    enc, _, integ = esp.partition("-")
    rows = []
    for c in keys["child"]:
        for spi, src, dst, ek, ak in (
            (c["spi_out"], a, b, c["encr_i"], c.get("integ_i", "")),
            (c["spi_in"], b, a, c["encr_r"], c.get("integ_r", "")),
        ):
            rows.append(
                f"  - spi: {spi}\n    src: {src}\n    dst: {dst}\n"
                f"    encryption: {enc}\n    enc_key: '{ek}'\n"
                f"    integrity: {integ or 'null'}\n    auth_key: '{ak}'\n"
            )
    return "sas:\n" + "".join(rows)


def run_tunnel(tmp_path: Path, ike: str, esp: str) -> None:
    with NetnsLab(Tunnel(ike_proposals=ike, esp_proposals=esp)) as lab:
        lab.up()
        cap = lab.capture()
        lab.initiate()
        replies = lab.ping(count=3)
        pcap = cap.stop()
        keys = lab.keys()
        assert replies == 3, "ping through the tunnel failed"
        assert keys["ike"] and keys["child"], keys["sas"]
        capture = tmp_path / "lab.pcapng"
        capture.write_bytes(pcap.read_bytes())

        # IKE: decode + decrypt with the keys from charon's log
        table = ike_table(keys)
        msgs = decode_capture(capture, table)
        auth = [m for m in msgs if m["exchange"] == "IKE_AUTH"]
        assert len(auth) == 2
        for m in auth:
            assert m["decrypted"] is True and m["icv"] == "ok", m["errors"]
            inner = {p["type"]: p for p in m["payloads"][-1]["payloads"]}
            assert {"AUTH", "SA", "TSi", "TSr"} <= set(inner)
        req = {p["type"]: p for p in auth[0]["payloads"][-1]["payloads"]}
        assert req["IDi"]["value"] == "a.lab" and req["IDr"]["value"] == "b.lab"
        assert req["TSi"]["selectors"][0]["prefix"] == lab.a.inside_net  # type: ignore[union-attr]
        assert req["TSr"]["selectors"][0]["prefix"] == lab.b.inside_net  # type: ignore[union-attr]
        sas = build_sas(msgs)
        assert [s["verdict"] for s in sas] == ["established"]

        # same keys through the Wireshark table format
        uat = tmp_path / "ikev2_decryption_table"
        uat.write_text("\n".join(wireshark_uat_line(k) for k in table.ikev2.values()) + "\n")
        again = decode_capture(capture, load_keys(uat))
        assert [m["icv"] for m in again if m["exchange"] == "IKE_AUTH"] == ["ok", "ok"]

        # a wrong key is reported, not ignored
        k = keys["ike"][0]
        broken = dict(
            k,
            **{
                name: "00" * (len(k[name]) // 2)
                for name in ("sk_ai", "sk_ar", "sk_ei", "sk_er")
                if name in k
            },
        )
        bad = decode_capture(capture, ike_table({"ike": [broken]}))
        assert all(m["icv"] == "bad" for m in bad if m["exchange"] == "IKE_AUTH")

        # tshark with the same keys finds the same identities
        profile = tmp_path / "wireshark"
        profile.mkdir()
        (profile / "ikev2_decryption_table").write_text(uat.read_text())
        out = subprocess.run(
            [
                "tshark",
                "-r",
                str(capture),
                "-Y",
                "isakmp.exchangetype == 35",
                "-T",
                "fields",
                "-e",
                "isakmp.id.data.fqdn",
                "-e",
                "isakmp.auth.data",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"WIRESHARK_CONFIG_DIR": str(profile), "PATH": "/usr/bin:/bin"},
        )
        rows = [r.split("\t") for r in out.stdout.strip().splitlines()]
        assert len(rows) == 2, out.stdout + out.stderr
        assert rows[0][0].split(",")[0] == "a.lab", out.stdout
        # the AUTH data tshark decrypted is the one we decrypted
        ours = [
            p["data"] for m in auth for p in m["payloads"][-1]["payloads"] if p["type"] == "AUTH"
        ]
        assert [r[1].replace(":", "") for r in rows] == ours

        # ESP: every packet decrypts with a good ICV (ipsecctl.diag.packets, when present)
        try:
            from ipsecctl.diag.packets.keys import parse_ipsecctl
            from ipsecctl.diag.packets.report import analyse
        except ImportError:
            return
        esp_keys = tmp_path / "esp.yaml"
        esp_keys.write_text(esp_yaml(lab, keys, esp))
        result = analyse(capture, parse_ipsecctl(esp_keys.read_text(), esp_keys))
        esp_pkts = [p for p in result.packets if p.get("protocol", "esp") == "esp"]
        assert len(esp_pkts) >= 6
        assert result.summary["icv_bad"] == 0
        assert all(p.get("icv") in ("ok", "unverified") and p.get("decrypted") for p in esp_pkts), (
            esp_pkts[:2]
        )


def test_ikev2_aes256gcm16(tmp_path: Path, netns_tshark_ok: None) -> None:
    run_tunnel(tmp_path, "aes256-sha256-modp2048", "aes256gcm16")


def test_ikev2_aes128_sha1(tmp_path: Path, netns_tshark_ok: None) -> None:
    run_tunnel(tmp_path, "aes256gcm16-prfsha256-ecp256", "aes128-sha1")


def lab_run(tmp_path: Path, tunnel: Tunnel, pings: int) -> tuple[Path, dict[str, Any], Path]:
    """Bring the tunnel up under capture, ping through it; (capture, charon's keys, ESP keys)."""
    with NetnsLab(tunnel) as lab:
        lab.up()
        cap = lab.capture()
        lab.initiate()
        assert lab.ping(count=pings) == pings
        capture = tmp_path / "lab.pcapng"
        capture.write_bytes(cap.stop().read_bytes())
        keys = lab.keys()
        esp_keys = tmp_path / "esp.yaml"
        esp_keys.write_text(esp_yaml(lab, keys, tunnel.esp_proposals))
    return capture, keys, esp_keys


def test_ikev2_fragmented_ike_auth(tmp_path: Path, netns_ok: None) -> None:
    """RFC 7383: charon with fragment_size 200 sends IKE_AUTH as SKF fragments; every fragment
    verifies with charon's keys and the reassembled message holds the AUTH exchange."""
    tunnel = Tunnel(
        ike_proposals="aes128-sha256-modp2048", esp_proposals="aes128gcm16", fragment_size=200
    )
    capture, keys, _ = lab_run(tmp_path, tunnel, 2)
    msgs = decode_capture(capture, ike_table(keys))
    auth = [m for m in msgs if m["exchange"] == "IKE_AUTH"]
    frags = [m for m in auth if m["payloads"][-1]["type"] == "SKF"]
    assert len(frags) >= 3, [m["payloads"][-1]["type"] for m in auth]
    assert all(m["icv"] == "ok" and m["decrypted"] for m in frags)
    done = [m for m in frags if "reassembled_from" in m]
    assert len(done) == 2  # request and response
    for m in done:
        parts = m["reassembled_from"]
        assert len(parts) == m["payloads"][-1]["total_fragments"] >= 2
        inner = {p["type"] for p in m["payloads"][-1]["payloads"]}
        assert {"AUTH", "SA", "TSi", "TSr"} <= inner
    assert [s["verdict"] for s in build_sas(msgs)] == ["established"]
    # without keys the fragments are still recognised, not decoded
    bare = [m for m in decode_capture(capture) if m["exchange"] == "IKE_AUTH"]
    assert all(m["decrypted"] is False for m in bare)


def test_ikev1_tunnel_esp_decrypts(tmp_path: Path, netns_ok: None) -> None:
    """IKEv1 main + quick mode in the lab; its ESP traffic decrypts with charon's CHILD keys."""
    tunnel = Tunnel(version=1, ike_proposals="aes128-sha1-modp2048", esp_proposals="aes128-sha1")
    capture, keys, esp_keys = lab_run(tmp_path, tunnel, 3)
    assert keys["child"] and not keys["ike"]  # charon logs no SK_* for IKEv1
    msgs = decode_capture(capture)
    exchanges = [m["exchange"] for m in msgs if "retransmission_of" not in m]
    assert exchanges.count("MAIN_MODE") == 6 and exchanges.count("QUICK_MODE") == 3
    assert [s["verdict"] for s in build_sas(msgs)] == ["established"]
    from ipsecctl.diag.packets.keys import parse_ipsecctl
    from ipsecctl.diag.packets.report import analyse

    result = analyse(capture, parse_ipsecctl(esp_keys.read_text(), esp_keys))
    esp_pkts = [p for p in result.packets if p["protocol"] == "esp"]
    assert len(esp_pkts) == 6
    assert all(p["icv"] == "ok" and p["decrypted"] for p in esp_pkts)
    assert {p["inner"]["icmp_type"] for p in esp_pkts} == {0, 8}
