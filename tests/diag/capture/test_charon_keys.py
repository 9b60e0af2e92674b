"""Key material from real charon 5.9.8 logs (tests/fixtures/charon): ESP SAs for both
directions from either gateway's log, IKE key sets bound to their SPIs, nothing else kept, and
Wireshark key files that tshark decrypts with."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from ipsecctl.diag.ike.charon_keys import (
    bind_from_list_sas,
    bind_from_messages,
    load_charon_log,
    parse_charon_log,
    write_wireshark_keys,
)
from ipsecctl.diag.ike.decode import decode_frames, ike_message
from ipsecctl.diag.packets.reader import open_capture
from ipsecctl.diag.packets.report import analyse
from ipsecctl.errors import InputFileError

CHARON = Path(__file__).resolve().parents[2] / "fixtures" / "charon"
PSK = b"ipsecctl-lab-psk-not-secret"  # the lab's PSK: charon prints it at level 4 too


def _spis(list_sas: str) -> tuple[int, int, str, str]:
    import re

    si, so = re.search(r"spi-in=([0-9a-f]{8}) spi-out=([0-9a-f]{8})", list_sas).groups()  # type: ignore[union-attr]
    ii, ir = re.search(r"initiator-spi=([0-9a-f]{16}) responder-spi=([0-9a-f]{16})",
                       list_sas).groups()  # type: ignore[union-attr]  # fmt: skip
    return int(si, 16), int(so, 16), ii, ir


@pytest.mark.parametrize("name", ["cbc", "gcm"])
@pytest.mark.parametrize("side", ["a", "b"])
def test_esp_keys_from_either_gateway_decrypt_both_directions(name: str, side: str) -> None:
    keys = parse_charon_log((CHARON / f"{name}-{side}.log").read_text())
    spi_in_a, spi_out_a, _, _ = _spis((CHARON / f"{name}-list-sas-a.txt").read_text())
    assert sorted(sa.spi for sa in keys.esp) == sorted((spi_in_a, spi_out_a))
    want = {"cbc": ("aes128", "sha1"), "gcm": ("aes256gcm16", "null")}[name]
    assert {(sa.encryption.name, sa.integrity.name) for sa in keys.esp if sa.encryption} == {want}
    res = analyse(CHARON / f"{name}.pcapng", keys.esp)
    s = res.summary
    assert s["esp"] == 10 and s["decrypted"] == 10 and s["icv_ok"] == 10  # 5 pings, 2 ways
    assert s["icv_bad"] == s["wrong_key_suspected"] == 0
    assert keys.warnings == []


@pytest.mark.parametrize("name", ["cbc", "gcm"])
def test_ike_keys_bind_to_the_spis_swanctl_shows(name: str) -> None:
    _, _, spi_i, spi_r = _spis((CHARON / f"{name}-list-sas-a.txt").read_text())
    by_list = parse_charon_log((CHARON / f"{name}-a.log").read_text())
    assert bind_from_list_sas(by_list, (CHARON / f"{name}-list-sas-a.txt").read_text()) == 1
    frames = list(open_capture(CHARON / f"{name}.pcapng"))
    raw = {f.number: m for f in frames if (m := ike_message(f)) is not None}
    by_wire = parse_charon_log((CHARON / f"{name}-b.log").read_text())
    assert bind_from_messages(by_wire, decode_frames(frames), raw) == 1
    for keys in (by_list, by_wire):
        (ks,) = keys.ike
        assert (ks.spi_i, ks.spi_r) == (spi_i, spi_r)
        msgs = decode_frames(frames, keys.ike_table())
        encrypted = [m for m in msgs if m["exchange"] != "IKE_SA_INIT"]
        assert encrypted and all(m["icv"] == "ok" and m["decrypted"] for m in encrypted)


def test_only_sa_keys_are_kept_and_never_shown() -> None:
    text = (CHARON / "cbc-a.log").read_text()
    assert "> secret => 27 bytes" in text  # charon printed the 27-byte PSK at level 4
    keys = parse_charon_log(text)
    held = [v for ks in keys.ike for v in ks.keys.values()]
    held += [sa.enc_key for sa in keys.esp] + [sa.auth_key for sa in keys.esp]
    assert held and all(PSK not in v and len(v) <= 64 for v in held)
    assert sorted(keys.ike[0].keys) == ["sk_ai", "sk_ar", "sk_d", "sk_ei", "sk_er", "sk_pi",
                                        "sk_pr"]  # fmt: skip
    shown = repr(keys) + str(keys)
    assert not any(v.hex() in shown.lower() for v in held)


def test_a_log_without_keys_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "charon.log"
    p.write_text("10:14:16 00[DMN] Starting IKE charon daemon (strongSwan 5.9.8)\n")
    with pytest.raises(InputFileError, match="ike = 4"):
        load_charon_log(p)


def test_wireshark_key_files(tmp_path: Path) -> None:
    keys = parse_charon_log((CHARON / "cbc-a.log").read_text())
    bind_from_list_sas(keys, (CHARON / "cbc-list-sas-a.txt").read_text())
    folder = tmp_path / "profile"
    ike = [k for ks in keys.ike if (k := ks.to_keys()) is not None]
    written = write_wireshark_keys(folder, keys.esp, ike)
    assert [p.name for p in written] == ["esp_sa", "ikev2_decryption_table"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    # diag esp reads its own esp_sa file back
    from ipsecctl.diag.packets.keys import load_keys

    again = load_keys(folder / "esp_sa")
    assert analyse(CHARON / "cbc.pcapng", again).summary["icv_ok"] == 10
    if not shutil.which("tshark"):
        return
    out = subprocess.run(
        ["tshark", "-n", "-r", str(CHARON / "cbc.pcapng"), "-o",
         "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE",
         "-T", "fields", "-e", "esp.icv_good", "-e", "icmp.type", "-e", "isakmp.auth.data"],
        capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "WIRESHARK_CONFIG_DIR": str(folder)},
    ).stdout  # fmt: skip
    rows = [ln.split("\t") for ln in out.splitlines()]
    esp = [r for r in rows if r[0]]
    assert len(esp) == 10 and all(r[0] in ("1", "True") and r[1] in ("0", "8") for r in esp)
    assert sum(1 for r in rows if len(r) > 2 and r[2]) == 2  # AUTH of both IKE_AUTH messages
