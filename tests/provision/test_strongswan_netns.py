"""Generated swanctl.conf loads into a real charon and negotiates (namespace lab)."""

from __future__ import annotations

import pytest

from ipsecctl.lab.strongswan import NetnsLab, strongswan_missing
from ipsecctl.provision.device_configs import render_pair
from ipsecctl.provision.model import parse_spec
from tests.helpers import need

PSK = "netns-provision-key-41"


@pytest.mark.netns
def test_rendered_swanctl_loads_and_establishes() -> None:
    missing = strongswan_missing()
    need(not missing, f"strongSwan namespace lab unavailable: {', '.join(missing)}")
    with NetnsLab() as lab:
        lab.up()
        assert lab.a is not None and lab.b is not None
        ends = [
            {
                "name": side,
                "platform": "strongswan",
                "outside_address": gw.wan.split("/")[0],
                "inside_networks": [gw.inside_net],
            }
            for side, gw in (("a", lab.a), ("b", lab.b))
        ]
        spec = parse_spec({"name": "prov-ss", "psk": "${X_PSK}", "force_encap": True, "ends": ends})
        for r, gw in zip(render_pair(spec, psk=PSK), (lab.a, lab.b), strict=True):
            path = gw.workdir / "swanctl" / "prov.conf"
            path.write_text(r.text)
            out = lab.swanctl(gw, "--load-all", "--file", str(path))
            assert "loaded connection 'prov-ss'" in out, out
            assert "loaded ike secret 'ike-prov-ss'" in out, out
        out = lab.swanctl(lab.a, "--initiate", "--child", "prov-ss", "--timeout", "15", timeout=25)
        assert "initiate completed successfully" in out, out
        assert "CHILD_SA prov-ss{" in out and "AES_GCM_16_256" in out, out
        sas = lab.list_sas("a")
        assert "prov-ss" in sas and "INSTALLED" in sas.upper()
