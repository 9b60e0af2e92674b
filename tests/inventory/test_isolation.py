"""The inventory package must stay usable without ipsecctl (dependency direction)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from inventory.interpolate import interpolate_str

ROOT = Path(__file__).resolve().parents[2]


def test_inventory_imports_nothing_from_ipsecctl():
    code = (
        "import sys, inventory\n"
        "inventory.load_inventory('inventory/examples/single.yaml', env={})\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'ipsecctl')\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


@given(
    name=st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
    value=st.text(max_size=20),
    prefix=st.text(alphabet="abc -/", max_size=5),
)
def test_interpolation_substitutes_exactly(name, value, prefix):
    text = f"{prefix}${{{name}}}{prefix}"
    assert interpolate_str(text, {name: value}, "f:1", "x") == f"{prefix}{value}{prefix}"
    # a default is used only when the variable is unset or empty
    assert interpolate_str(f"${{{name}:-d}}", {}, "f:1", "x") == "d"
    assert interpolate_str(f"${{{name}:-d}}", {name: value}, "f:1", "x") == (value or "d")
