"""Corpus samples as parametrised cases: (platform folder, command folder, sample path)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cisco"


def samples(*commands: str, platforms: tuple[str, ...] = ("ios", "iosxe")) -> list[Path]:
    return sorted(
        p for c in commands for p in FIXTURES.glob(f"*/{c}/*.txt") if p.parts[-3] in platforms
    )


def expected(sample: Path) -> Any:
    data = json.loads(sample.with_name(sample.name.replace(".txt", ".expected.json")).read_text())
    return data.get("parsed_sample", data) if isinstance(data, dict) else data


def strip_indent(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines())


def command_of(sample: Path) -> str:
    """The CLI command a sample folder stands for (arguments filled with a placeholder)."""
    folder = sample.parent.name
    words = folder.replace("_", " ")
    words = re.sub(r" (interface|peer|local|remote)( detail)?$", r" \1 X\2", words)
    words = words.replace("ipv6 detailed", "ipv6 detail")
    return words
