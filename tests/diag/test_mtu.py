"""MTU arithmetic checked against every ``plaintext mtu`` a real router printed (fixtures/mtu)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ipsecctl.cli.diag import app
from ipsecctl.diag.mtu import compute, for_tunnel, parse_transform
from ipsecctl.errors import UsageError
from ipsecctl.models import Tunnel


def tunnel_mtu(tunnel: Tunnel) -> dict[str, Any] | None:
    """The tunnel's MTU figures as documents carry them (``extra.mtu``)."""
    result = for_tunnel(tunnel)
    return None if result is None else result.summary()


FIXTURES = Path(__file__).parent.parent / "fixtures" / "mtu"

# The one ident whose figure is kept from an earlier SA (see the ipsecctl.diag.mtu docstring).
EXPLAINED = {("iosxe__show_crypto_ipsec_sa_interface_genieparser-4.txt", 0): 1446}


def _idents(text: str) -> list[dict[str, object]]:
    """Split a ``show crypto ipsec sa`` output into idents and pull what the formula needs."""
    blocks = re.split(r"^\s*(?:interface:|protected vrf:).*$", text, flags=re.M)
    out = []
    for block in blocks:
        mtu = re.search(r"plaintext mtu (\d+), path mtu (\d+), (ipv6|ip) mtu", block)
        if not mtu:
            continue
        esp = re.findall(r"transform: (esp-[^,\n]*?)\s*(?:,|\n)", block)
        ah = re.findall(r"transform: (ah-[\w-]+)", block)
        settings = re.findall(r"in use settings =\{([^}]*)\}", block)
        out.append(
            {
                "plaintext": int(mtu.group(1)),
                "path": int(mtu.group(2)),
                "ipv6": mtu.group(3) == "ipv6",
                "transform": " ".join(x for x in (ah[:1] + esp[:1]) if x) or None,
                "mode": "transport" if settings and "Transport" in settings[0] else "tunnel",
                "nat_t": bool(settings) and "UDP-Encaps" in settings[0],
            }
        )
    return out


CASES = [
    (f.name, i, ident)
    for f in sorted(FIXTURES.glob("*.txt"))
    for i, ident in enumerate(_idents(f.read_text()))
]


def test_fixtures_cover_every_kind() -> None:
    kinds = {(c[2]["mode"], c[2]["nat_t"], c[2]["ipv6"]) for c in CASES if c[2]["transform"]}
    assert ("tunnel", False, False) in kinds
    assert ("transport", True, False) in kinds
    assert ("transport", False, True) in kinds
    assert len([c for c in CASES if c[2]["transform"]]) >= 20


@pytest.mark.parametrize(("name", "index", "ident"), CASES, ids=[f"{c[0]}#{c[1]}" for c in CASES])
def test_plaintext_mtu_matches_router(name: str, index: int, ident: dict) -> None:
    if ident["transform"] is None:
        # No SA on the ident: the router shows the path MTU or the last SA's figure.
        assert ident["plaintext"] <= ident["path"]
        return
    got = compute(
        str(ident["transform"]),
        mode=ident["mode"],
        nat_t=bool(ident["nat_t"]),
        ipv6=bool(ident["ipv6"]),
        path_mtu=int(ident["path"]),
    )
    expected = EXPLAINED.get((name, index), ident["plaintext"])
    assert got.plaintext_mtu == expected


def test_explained_exception_is_the_cbc_figure() -> None:
    # 1438 on that GCM ident is what esp-256-aes esp-sha256-hmac gives on the same path.
    assert compute("esp-256-aes esp-sha256-hmac").plaintext_mtu == 1438
    assert compute("esp-gcm 256").plaintext_mtu == 1446


def test_knowledge_file_worked_maximum() -> None:
    # ESP-AES-128 + SHA1-96 tunnel: 20 + 8 + 16 + 15 + 2 + 12 = 73; NAT-T +8.
    assert compute("esp-aes esp-sha-hmac").overhead_max == 73
    assert compute("esp-aes esp-sha-hmac", nat_t=True).overhead_max == 81
    assert compute("aes128-sha1").overhead_max == 73


def test_strongswan_and_cisco_agree() -> None:
    assert compute("aes256gcm16") == compute("esp-gcm 256")._replace(transform="aes256gcm16")
    assert compute("3des-md5").plaintext_mtu == compute("esp-3des esp-md5-hmac").plaintext_mtu


def test_gre_ip_mtu_and_mss() -> None:
    r = compute("esp-aes 256 esp-sha-hmac", mode="transport", gre=True)
    assert r.plaintext_mtu == 1458  # 1500-20-8-16-12 = 1444 -> 1440 - 2 + 20
    assert r.ip_mtu == r.plaintext_mtu - 24
    assert r.tcp_mss == r.ip_mtu - 40


def test_ah_plus_esp() -> None:
    r = compute("ah-sha-hmac esp-aes")
    assert r.overhead_min == 20 + 24 + 8 + 16 + 2


@pytest.mark.parametrize("bad", ["esp-foo esp-sha-hmac", "aes999-sha1", "", "esp-sha-hmac-x"])
def test_unknown_transform_names_the_input(bad: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_transform(bad)
    assert repr(bad.split()[0] if bad else bad)[1:-1] in str(err.value) or bad == ""
    assert "accepted" in str(err.value)


def test_cli_json_and_error_exit() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["mtu", "--transform", "esp-aes 256 esp-sha-hmac", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["kind"] == "diag mtu"
    assert doc["plaintext_mtu"] == 1438
    assert {"overhead_min", "overhead_max", "ip_mtu", "tcp_mss"} <= set(doc)
    res = runner.invoke(app, ["mtu", "--transform", "esp-rot13"])
    assert res.exit_code == 2
    assert "esp-rot13" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# for_tunnel: the figure every polled tunnel gives when asked (JSON documents carry it)


def _assembled(f: Path):
    from ipsecctl.assemble import assemble

    platform = "cisco_iosxe" if f.name.startswith("iosxe") else "cisco_ios"
    command = f.name.split("__")[1].rsplit("_", 1)[0].replace("_", " ")
    for suffix in (" genieparser", " ntc-templates"):
        command = command.replace(suffix, "")
    return assemble(f.name, platform, {command: f.read_text()})


def test_assemble_stores_the_router_figure_for_every_tunnel_with_sas() -> None:
    checked = 0
    for f in sorted(FIXTURES.glob("*.txt")):
        st = _assembled(f)
        assert not st.errors, (f.name, st.errors)
        for t in st.tunnels:
            if not t.sas:
                assert tunnel_mtu(t) is None  # no SA, no transform: nothing computed
                continue
            mtu = tunnel_mtu(t)
            assert mtu is not None
            assert mtu["plaintext_mtu"] == t.extra["plaintext_mtu"], (f.name, t.id)
            assert mtu["overhead_max"] >= mtu["overhead_min"] > 0
            checked += 1
    assert checked >= 15


def test_for_tunnel_never_raises_on_unknown_transform() -> None:
    from ipsecctl.diag.mtu import for_tunnel
    from ipsecctl.models import IpsecSa, Tunnel

    t = Tunnel(sas=[IpsecSa(direction="out", spi=1, transform="esp-foo esp-bar")])
    assert for_tunnel(t) is None
    t = Tunnel(
        sas=[IpsecSa(direction="out", spi=1, transform="esp-foo", encryption="aes256gcm16")],
        extra={"path_mtu": "garbage"},
    )
    r = for_tunnel(t)
    assert r is not None and r.plaintext_mtu == 1446  # keyword fallback, default path 1500
    assert for_tunnel(Tunnel()) is None
    tiny = Tunnel(
        sas=[IpsecSa(direction="out", spi=1, transform="esp-gcm 256")], extra={"path_mtu": 70}
    )
    assert for_tunnel(tiny) is None  # no room left: no figure, no exception


# ------------------------------------------------------------- one suite table with diag esp
@pytest.mark.parametrize(
    ("transform", "overhead_min", "plaintext"),
    [
        # RFC 7634: 8-byte IV, 16-byte Poly1305 tag, 4-byte alignment: 20+8+8+16+2 = 54
        ("chacha20poly1305", 54, 1446),
        ("chacha20poly1305-sha256", 54, 1446),  # AEAD: an integrity keyword adds nothing
        # RFC 3686: 8-byte IV, no block padding; HMAC-SHA-256-128 ICV 16: 20+8+8+16+2 = 54
        ("aes128ctr-sha256", 54, 1446),
        ("aes256ctr-sha1", 50, 1450),  # 20+8+8+12+2
        ("aes128ctr", 38, 1462),
    ],
)
def test_strongswan_suites_of_diag_esp(transform: str, overhead_min: int, plaintext: int) -> None:
    r = compute(transform)
    assert (r.overhead_min, r.plaintext_mtu) == (overhead_min, plaintext)


def test_every_diag_esp_suite_is_accepted() -> None:
    from ipsecctl.diag.packets.suites import ENCRYPTION, INTEGRITY

    for name, enc in ENCRYPTION.items():
        t = parse_transform(name if enc.aead or name == "null" else f"{name}-sha256")
        assert (t.iv, t.block) == (enc.iv_len, enc.align), name
    for name in INTEGRITY:
        if not name.startswith("any"):
            parse_transform(f"aes128-{name}")


def test_mtu_uses_the_esp_table_not_a_copy() -> None:
    import ipsecctl.diag.mtu as mtu

    assert mtu.encryption_suite.__module__ == "ipsecctl.diag.packets.suites"
    assert not hasattr(mtu, "_ICV")  # the old private ICV table is gone


def test_cisco_chacha_is_not_ios_syntax() -> None:
    with pytest.raises(UsageError) as err:
        parse_transform("esp-chacha20-poly1305")
    assert "esp-chacha20-poly1305" in str(err.value) and "chacha20poly1305" in str(err.value)


def test_cli_accepts_chacha_and_ctr() -> None:
    for t in ("chacha20poly1305", "aes128ctr"):
        res = CliRunner().invoke(app, ["mtu", "--transform", t, "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["transform"] == t
