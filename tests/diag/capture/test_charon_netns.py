"""The charon key parser on logs made now by real strongSwan in namespaces (root, strongSwan,
dumpcap; mandatory under CI=true). Same checks as the fixture tests, on fresh SAs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecctl.diag.capture.analysis import analyse_capture
from ipsecctl.diag.ike.charon_keys import bind_from_list_sas, parse_charon_log
from ipsecctl.diag.packets.reader import open_capture
from ipsecctl.models import IpsecSa
from tests.diag.capture.test_charon_keys import _spis


@pytest.mark.parametrize(("ike", "esp"), [("aes256-sha256-modp2048", "aes256gcm16"),
                                           ("aes128-sha256-ecp256", "aes128-sha256")])  # fmt: skip
def test_fresh_charon_keys_decrypt_the_fresh_capture(
    tmp_path: Path,
    netns_tshark_ok: None,
    ike: str,
    esp: str,
) -> None:
    from ipsecctl.lab.strongswan import NetnsLab, Tunnel

    with NetnsLab(Tunnel(ike_proposals=ike, esp_proposals=esp), prefix="ipscap") as lab:
        lab.up()
        cap = lab.capture()
        lab.initiate()
        assert lab.ping(count=4) == 4
        capture = tmp_path / "lab.pcapng"
        capture.write_bytes(cap.stop().read_bytes())
        log_b = lab.b.log.read_text(errors="replace")  # type: ignore[union-attr]
        list_sas = lab.list_sas("a")
    keys = parse_charon_log(log_b)
    assert bind_from_list_sas(keys, list_sas) == 1
    spi_in, spi_out, _, _ = _spis(list_sas)
    local = list_sas.split("local-host=")[1].split()[0]
    rep = analyse_capture(open_capture(capture), device="gw-a", peer=None, local_addr=local,
                          sas=[IpsecSa(direction="in", spi=spi_in),
                               IpsecSa(direction="out", spi=spi_out)],
                          keys=keys.esp, ike_keys=keys.ike_table())  # fmt: skip
    doc = rep.to_dict()
    assert sorted(e["packets"] for e in doc["esp"]) == [4, 4]
    assert all(e["decrypted"] == e["icv_ok"] == 4 and e["known"] == "current"
               for e in doc["esp"])  # fmt: skip
    assert all(m["icv"] == "ok" for m in doc["ike"] if m["exchange"] != "IKE_SA_INIT")
    assert doc["findings"] == []
