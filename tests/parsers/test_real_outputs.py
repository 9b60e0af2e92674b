"""Real outputs from public documents (cloud providers' VPN guides, issue threads, vendor and
community labs), each compared field by field with values read by hand from its text.

Each ``tests/fixtures/real/<platform>/<command>/<name>.txt`` has a ``<name>.expected.yaml`` (or
``.expected.json``), written by hand from the text (SPIs may be written as the hex the device
prints, ``0x...``, which YAML reads as the integer):
``platform``, ``command``, ``source`` (where the text was published), ``warnings`` (line
numbers expected to be reported; usually none), and the expected records. Only the fields
listed are compared (for ``extra`` and ``counters``, only the keys listed); record counts must
match exactly. ``spis_in``/``spis_out`` list a
tunnel's SPIs per direction; ``sa`` holds fields every SA of the tunnel shares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from parsers import parse
from tests.parsers.conftest import strip_indent

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
#: strongSwan captured in this project's namespace lab (real charon output, not published
#: anywhere): states and layouts no public sample shows (IPv6, IKEv1, DELETED after a rekey).
LAB = Path(__file__).resolve().parent / "data" / "strongswan"
SAMPLES = sorted(REAL.glob("*/*/*.txt")) + sorted(
    p for p in LAB.glob("*.txt") if p.with_name(p.name[: -len(".txt")] + ".expected.yaml").exists()
)


def _expected(sample: Path) -> dict[str, Any]:
    stem = sample.name[: -len(".txt")]
    yml = sample.with_name(stem + ".expected.yaml")
    if yml.exists():
        data: dict[str, Any] = yaml.safe_load(yml.read_text())
    else:
        data = json.loads(sample.with_name(stem + ".expected.json").read_text())
    return data


def _tunnel_view(tunnel: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    got: dict[str, Any] = {}
    for key in want:
        if key == "spis_in":
            got[key] = [sa["spi"] for sa in tunnel["sas"] if sa["direction"] == "in"]
        elif key == "spis_out":
            got[key] = [sa["spi"] for sa in tunnel["sas"] if sa["direction"] == "out"]
        elif key == "sa":
            got[key] = [{k: sa.get(k) for k in want["sa"]} for sa in tunnel["sas"]]
            want = {**want, "sa": [want["sa"]] * len(tunnel["sas"])}
        elif key in ("counters", "extra"):
            got[key] = {k: tunnel[key].get(k) for k in want[key]}
        else:
            got[key] = tunnel.get(key)
    return got


@pytest.mark.parametrize("stripped", [False, True], ids=["real", "stripped"])
@pytest.mark.parametrize(
    "sample", SAMPLES, ids=[f"{p.parts[-3]}/{p.parts[-2]}/{p.stem}" for p in SAMPLES]
)
def test_real_output(sample: Path, stripped: bool) -> None:
    want = _expected(sample)
    if REAL in sample.parents:
        assert want.get("source", "").startswith("http"), "every sample names its source"
    text = sample.read_text()
    result = parse(want["platform"], want["command"], strip_indent(text) if stripped else text)
    assert sorted(w.lineno or 0 for w in result.warnings) == sorted(want.get("warnings", [])), [
        str(w) for w in result.warnings
    ]
    if "ike_sas" in want:
        assert len(result["ike_sas"]) == len(want["ike_sas"])
        for got, exp in zip(result["ike_sas"], want["ike_sas"], strict=True):
            view = {k: got.get(k) for k in exp}
            if "extra" in exp:  # only the extra keys the expectation lists
                view["extra"] = {k: got["extra"].get(k) for k in exp["extra"]}
            assert view == exp
    if "tunnels" in want:
        assert len(result["tunnels"]) == len(want["tunnels"])
        for got, exp in zip(result["tunnels"], want["tunnels"], strict=True):
            view = _tunnel_view(got, exp)
            exp = {**exp, "sa": [exp["sa"]] * len(got["sas"])} if "sa" in exp else exp
            assert view == exp
    if "sessions" in want:
        assert len(result["sessions"]) == len(want["sessions"])
        for got, exp in zip(result["sessions"], want["sessions"], strict=True):
            assert _listed(got, exp) == exp


def _listed(got: Any, want: Any) -> Any:
    """``got`` cut down to the keys ``want`` lists (lists of records element by element)."""
    if isinstance(want, dict) and isinstance(got, dict):
        return {k: _listed(got.get(k), v) for k, v in want.items()}
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [_listed(g, w) for g, w in zip(got, want, strict=True)]
    return got
