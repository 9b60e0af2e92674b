"""ipsec-manual crypto maps: SPIs and keys from the OS CSPRNG, mirrored, kept out of output.

The mirrored keys are read back from the written configuration files and from the
``--write-keys`` table by the product's key-file readers (Cisco ``set session-key`` and
Wireshark ``esp_sa`` formats, written independently of the generator), and the line shapes
are IOS's ``set session-key inbound|outbound esp SPI cipher HEX authenticator HEX``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ipsecctl.diag.packets.keys import load_keys

SPOKES = [
    {
        "name": f"s{i}",
        "platform": "cisco_ios",
        "outside_interface": "GigabitEthernet0/0",
        "outside_address": f"127.2.0.{i}",
        "inside_networks": [f"10.10{i}.0.0/24"],
    }
    for i in range(1, 4)
]
HUB = {
    "name": "hub",
    "platform": "cisco_iosxe",
    "outside_address": "127.1.0.1",
    "inside_networks": ["10.0.0.0/16"],
}
_KEY = re.compile(
    r"set session-key (inbound|outbound) esp (\d+) cipher ([0-9a-f]+) "
    r"authenticator ([0-9a-f]+)"
)


def test_manual_sas_mirrored_secret_and_given_to_wireshark(prov: Any, tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "man",
                "topology": "hub_spoke",
                "auth": "manual",
                "key_store": "store",
                "esp": {"encryption": "aes256", "integrity": "sha256"},
                "hubs": [HUB],
                "spokes": SPOKES,
            }
        )
    )
    out = tmp_path / "out"
    run = prov(
        "provision",
        "render",
        str(spec),
        "--out",
        str(out),
        "--write-keys",
        str(tmp_path / "esp_sa"),
        "--json",
    )
    assert run.code == 0, run
    assert {p["method"] for p in run.json["pairs"]} == {"manual"}
    files = {p.stem: p.read_text() for p in out.iterdir()}
    assert {oct(p.stat().st_mode & 0o777) for p in out.iterdir()} == {"0o600"}
    assert oct((tmp_path / "esp_sa").stat().st_mode & 0o777) == "0o600"
    hub = {int(spi): (d, c, a) for d, spi, c, a in _KEY.findall(files["hub"])}
    assert len(hub) == 6
    for s in SPOKES:
        mine = {int(spi): (d, c, a) for d, spi, c, a in _KEY.findall(files[s["name"]])}
        assert len(mine) == 2
        for spi, (direction, cipher, auth) in mine.items():
            # the spoke's outbound SA is the hub's inbound one (same SPI, same keys)
            other = "inbound" if direction == "outbound" else "outbound"
            assert hub[spi] == (other, cipher, auth)
            assert 256 <= spi <= 2**32 - 1
            assert len(cipher) == 64 and len(auth) == 64  # AES-256 key, HMAC-SHA-256 key
        assert (
            "crypto map VPNMAP 10 ipsec-manual\n description man to hub\n"
            " set peer 127.1.0.1\n" in files[s["name"]]
        )
    # the product's readers of two formats agree with each other and with the files
    from_cfg = {
        sa.spi: (sa.enc_key, sa.auth_key) for p in out.iterdir() for sa in load_keys(p, "cisco")
    }
    from_ws = {
        sa.spi: (sa.enc_key, sa.auth_key) for sa in load_keys(tmp_path / "esp_sa", "wireshark")
    }
    assert from_cfg == from_ws and len(from_ws) == 6
    assert {spi: (c.hex(), a.hex()) for spi, (c, a) in from_ws.items()} == {
        spi: (c, a) for spi, (_d, c, a) in hub.items()
    }
    # nothing shown holds a key; SPIs are no secret
    keys = [c for _d, c, _a in hub.values()] + [a for _d, _c, a in hub.values()]
    assert not [k for k in keys if k in run.out + run.err]
    shown = prov("provision", "render", str(spec))
    assert shown.code == 0 and "cipher <removed> authenticator <removed>" in shown.out
    assert not [k for k in keys if k in shown.out + shown.err]
    # the store keeps them: a second render writes the same SAs
    again = prov("provision", "render", str(spec), "--out", str(tmp_path / "out2"))
    assert again.code == 0
    assert (tmp_path / "out2" / "hub.cfg").read_text() == files["hub"] + (
        "" if files["hub"].endswith("\n") else "\n"
    )
    store = tmp_path / "store" / "man"
    assert oct(store.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in store.iterdir()} == {"0o600"}


def test_write_keys_needs_manual_sas(prov: Any, tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(
        yaml.safe_dump(
            {"name": "p", "topology": "hub_spoke", "psk": "${P}", "hubs": [HUB], "spokes": SPOKES}
        )
    )
    run = prov("provision", "render", str(spec), "--write-keys", str(tmp_path / "k"))
    assert run.code == 2 and "manual" in run.err and not (tmp_path / "k").exists()
