"""diag pair on configuration pairs: every mismatch kind, matching pairs, both directions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipsecctl.cli.diag import app
from ipsecctl.diag.config import parse_config, same_key
from ipsecctl.diag.pair import check_pair
from ipsecctl.errors import InputFileError

CFG = Path(__file__).parent.parent / "fixtures" / "configs"


def pair(a: str, b: str) -> dict:
    return check_pair(
        parse_config((CFG / a).read_text(), a),
        parse_config((CFG / b).read_text(), b),
        name_a="A",
        name_b="B",
    )


def failing(result: dict) -> dict[str, str | None]:
    """initiator -> first failing step (None when that direction passes)."""
    out: dict[str, str | None] = {}
    for d in result["directions"]:
        bad = [s["step"] for s in d["steps"] if not s["ok"]]
        out[d["initiator"]] = bad[0] if bad else None
    return out


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ok_v1_a.cfg", "ok_v1_b.cfg"),
        ("ok_v2_a.cfg", "ok_v2_b.cfg"),
        ("ok_v1_a.cfg", "mismatch_wildcard_b.cfg"),
    ],
)
def test_matching_pairs(a: str, b: str) -> None:
    r = pair(a, b)
    assert r["verdict"] == "ok" and r["first_failure"] is None
    assert failing(r) == {"A": None, "B": None}
    assert all(len(d["steps"]) == 5 for d in r["directions"])
    r2 = pair(b, a)
    assert r2["verdict"] == "ok"


@pytest.mark.parametrize(
    ("b", "first", "per_direction"),
    [
        ("mismatch_peer_b.cfg", "peer", {"A": "peer", "B": "peer"}),
        ("mismatch_psk_b.cfg", "psk", {"A": "psk", "B": "psk"}),
        ("mismatch_nopsk_b.cfg", "psk", {"A": "psk", "B": "psk"}),
        ("mismatch_phase1_b.cfg", "phase1", {"A": "phase1", "B": "phase1"}),
        # lifetime rule: A (28800 s) initiating to B (3600 s) fails; B initiating passes.
        ("mismatch_lifetime_b.cfg", "phase1", {"A": "phase1", "B": None}),
        ("mismatch_phase2_b.cfg", "phase2", {"A": "phase2", "B": "phase2"}),
        ("mismatch_mode_b.cfg", "phase2", {"A": "phase2", "B": "phase2"}),
        ("mismatch_pfs_b.cfg", "phase2", {"A": "phase2", "B": "phase2"}),
        ("mismatch_proxy_b.cfg", "proxy", {"A": "proxy", "B": "proxy"}),
        # B's ACL is a subset: B initiating works, A's superset is rejected.
        ("mismatch_subset_b.cfg", "proxy", {"A": "proxy", "B": None}),
    ],
)
def test_each_mismatch_both_directions(b: str, first: str, per_direction: dict) -> None:
    r = pair("ok_v1_a.cfg", b)
    assert r["verdict"] == "fail" and r["first_failure"] == first
    assert failing(r) == per_direction


def test_ikev2_mismatch() -> None:
    r = pair("ok_v2_a.cfg", "mismatch_ikev2_b.cfg")
    assert r["first_failure"] == "phase1"
    assert "IKEv2" in r["directions"][0]["steps"][2]["reason"]


def test_reasons_name_the_difference() -> None:
    reason = next(
        s["reason"]
        for s in pair("ok_v1_a.cfg", "mismatch_phase1_b.cfg")["directions"][0]["steps"]
        if not s["ok"]
    )
    assert "aes256 vs aes128" in reason
    reason = next(
        s["reason"]
        for s in pair("ok_v1_a.cfg", "mismatch_pfs_b.cfg")["directions"][0]["steps"]
        if not s["ok"]
    )
    assert "group19" in reason and "group14" in reason
    reason = next(
        s["reason"]
        for s in pair("ok_v1_a.cfg", "mismatch_subset_b.cfg")["directions"][0]["steps"]
        if not s["ok"]
    )
    assert "superset" in reason


def test_keys_never_printed() -> None:
    cfg = parse_config((CFG / "ok_v1_a.cfg").read_text())
    assert "S3cretKey" not in repr(cfg) and "S3cretKey" not in cfg.model_dump_json()
    for name in ("ok_v1_b.cfg", "mismatch_psk_b.cfg"):
        doc = json.dumps(pair("ok_v1_a.cfg", name))
        assert "S3cretKey" not in doc and "WrongKey" not in doc
    other = parse_config((CFG / "ok_v1_b.cfg").read_text())
    assert same_key(cfg.keys[0], other.keys[0]) is True


def test_cli_offline_json_and_exit_codes() -> None:
    runner = CliRunner()
    args = ["pair", "--config-a", str(CFG / "ok_v1_a.cfg"), "--config-b"]
    res = runner.invoke(app, [*args, str(CFG / "ok_v1_b.cfg"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["kind"] == "diag pair" and doc["verdict"] == "ok"
    assert {"verdict", "first_failure", "directions", "a", "b"} <= set(doc)
    assert doc["directions"][0]["steps"][0] == {
        "step": "peer",
        "ok": True,
        "reason": doc["directions"][0]["steps"][0]["reason"],
    }
    res = runner.invoke(app, [*args, str(CFG / "mismatch_pfs_b.cfg")])
    assert res.exit_code == 3
    assert "phase2" in res.stdout and "S3cretKey" not in res.stdout


def test_unparseable_config_names_the_file() -> None:
    with pytest.raises(InputFileError, match=r"garbage\.cfg"):
        parse_config((CFG / "garbage.cfg").read_text(), "garbage.cfg")
    res = CliRunner().invoke(
        app,
        ["pair", "--config-a", str(CFG / "garbage.cfg"), "--config-b", str(CFG / "ok_v1_b.cfg")],
    )
    assert res.exit_code == 2 and "garbage.cfg" in res.stderr
    assert "Traceback" not in res.stderr
