"""Real samples, mutated: every line deleted, duplicated, or preceded by an unknown line.

What must hold for each mutation (the tolerant reader's contract):

- the parse never raises (a sample stays recognisable after one line changes);
- an inserted unknown line is reported with its line number and text;
- SAs of blocks the mutation did not touch keep their SPIs and their peer (nothing credited
  to a neighbour), and a peer whose ``current_peer`` line is still in the text has a tunnel.

Expected SPIs and peers come from the sample text itself (the ``spi:`` and ``current_peer``
lines, read with plain regexes here), not from the parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import parse
from tests.parsers.conftest import FIXTURES

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
STRONGSWAN = Path(__file__).parent / "data" / "strongswan"

IPSEC_SAMPLES = sorted(
    [
        *FIXTURES.glob("*/show_crypto_ipsec_sa*/*.txt"),
        *REAL.glob("*/show_crypto_ipsec_sa*/*.txt"),
    ]
)
UNKNOWN = "    #pkts by a future image: 7, brand-new field: on"
_OPENER = re.compile(r"\s*(?:protected vrf:|Protected vrf \(ivrf\):|access-list |local\s+ident)")
_HEADER = re.compile(r"\s*(?:interface:|Crypto map tag:|peer address:|IPsecv6 policy name:)")
_PEER = re.compile(r"\s*current_peer:? ([^\s,]+)")
_SPI = re.compile(r"\s*spi: 0x([0-9A-Fa-f]+)")


def _platform(sample: Path) -> str:
    return "cisco_asa" if "/asa/" in str(sample) else "cisco_iosxe"


def _command(sample: Path) -> str:
    folder = sample.parent.name
    return "show crypto ipsec sa detail" if "detail" in folder else "show crypto ipsec sa"


def _blocks(lines: list[str]) -> list[tuple[int, int, str | None, set[int]]]:
    """(first line index, end index, peer, SPIs) per ident block, read from the text."""
    starts: list[int] = []
    for i, line in enumerate(lines):
        if _OPENER.match(line) and not (i and _OPENER.match(lines[i - 1])):
            starts.append(i)
        elif _HEADER.match(line):
            starts.append(-i - 1)  # a header ends the block before it
    out = []
    for n, start in enumerate(starts):
        if start < 0:
            continue
        end = next((abs(s) - (1 if s < 0 else 0) for s in starts[n + 1 :]), len(lines))
        end = end if end > start else len(lines)
        body = lines[start:end]
        peers = [m.group(1) for line in body if (m := _PEER.match(line))]
        spis = {int(m.group(1), 16) for line in body if (m := _SPI.match(line))}
        out.append((start, end, peers[0] if peers else None, spis))
    return out


def _pairs(result: dict[str, list[dict[str, object]]]) -> set[tuple[str | None, int]]:
    return {
        (t["peer"], sa["spi"])  # type: ignore[index]
        for t in result["tunnels"]
        for sa in t["sas"]  # type: ignore[attr-defined]
    }


def _mutations(lines: list[str]) -> Iterator[tuple[str, int, list[str]]]:
    for i in range(len(lines)):
        if not lines[i].strip():
            continue
        yield "delete", i, lines[:i] + lines[i + 1 :]
        yield "duplicate", i, lines[: i + 1] + lines[i:]
        yield "insert", i, [*lines[:i], UNKNOWN, *lines[i:]]


@pytest.mark.parametrize(
    "sample", IPSEC_SAMPLES, ids=[f"{p.parts[-3]}/{p.parts[-2]}/{p.stem}" for p in IPSEC_SAMPLES]
)
def test_ipsec_sa_mutations_keep_untouched_blocks(sample: Path) -> None:
    lines = sample.read_text().splitlines()
    blocks = _blocks(lines)
    platform, command = _platform(sample), _command(sample)
    for how, at, mutated in _mutations(lines):
        result = parse(platform, command, "\n".join(mutated))
        got = _pairs(result)
        for start, end, peer, spis in blocks:
            if start <= at < end or (how == "insert" and at == end):
                continue  # the touched block
            for spi in spis:
                assert (peer, spi) in got, (how, at + 1, lines[at], peer, hex(spi))
        if how == "insert":
            assert (at + 1, UNKNOWN.strip()) in {(w.lineno, w.line) for w in result.warnings}
        if how == "delete":
            peers_in_text = {m.group(1) for line in mutated if (m := _PEER.match(line))}
            peers_parsed = {t["peer"] for t in result["tunnels"]}
            assert peers_in_text <= peers_parsed, (at + 1, lines[at])


def test_lost_ident_line_is_not_merged_into_the_previous_peer() -> None:
    """A hub output whose second ident lost its ``local ident``/``protected vrf`` lines: the
    second peer's SAs stay with the second peer, and the broken block is reported."""
    text = (FIXTURES / "iosxe/show_crypto_ipsec_sa/genieparser-1.txt").read_text()
    lines = text.splitlines()
    blocks = _blocks(lines)
    start = blocks[-1][0]
    broken = [
        line for i, line in enumerate(lines) if not (start <= i < start + 3 and _OPENER.match(line))
    ]
    result = parse("cisco_iosxe", "show crypto ipsec sa", "\n".join(broken))
    last_peer, last_spis = blocks[-1][2], blocks[-1][3]
    assert {(last_peer, spi) for spi in last_spis} <= _pairs(result)
    assert any("local ident" in w.reason for w in result.warnings)
    orphan = [t for t in result["tunnels"] if t["peer"] == last_peer and t["local_ts"] is None]
    assert orphan, "the headless block is its own record"


def test_vrf_value_never_swallows_the_next_line() -> None:
    text = (FIXTURES / "iosxe/show_crypto_ipsec_sa/genieparser-1.txt").read_text()
    lines = [line for line in text.splitlines() if "local  ident" not in line]
    result = parse("cisco_iosxe", "show crypto ipsec sa", "\n".join(lines))
    assert all(t["vrf"] is None or ";" not in str(t["vrf"]) for t in result["tunnels"])


SWANCTL = sorted(
    [
        *(p for p in STRONGSWAN.glob("*.txt") if ".raw." not in p.name),
        *REAL.glob("strongswan/swanctl_list_sas/*.txt"),
    ]
)
_IKE_HEAD = re.compile(r"\S+: #\d+, [A-Z_]+, IKEv")
_REMOTE = re.compile(r"\s*remote '[^']*' @ (\S+?)(?:\[|\s*$)")  # 5.2 prints no [port]
_CHILD_SPI = re.compile(r"\s*in\s+([0-9a-f]{8})")


@pytest.mark.parametrize("sample", SWANCTL, ids=[p.stem for p in SWANCTL])
def test_swanctl_mutations_never_move_a_child_sa(sample: Path) -> None:
    lines = sample.read_text().splitlines()
    # per IKE_SA block (read from the text): its remote address and its CHILD_SAs' inbound SPIs
    owners: dict[int, str | None] = {}
    owner_block: dict[int, int] = {}
    block_of: list[int] = []
    block = -1
    remote: dict[int, str | None] = {}
    for line in lines:
        if _IKE_HEAD.match(line.strip()):
            block += 1
        block_of.append(block)
        if (m := _REMOTE.match(line)) is not None:
            remote[block] = m.group(1)
    for i, line in enumerate(lines):
        if (m := _CHILD_SPI.match(line)) is not None:
            owners[int(m.group(1), 16)] = remote.get(block_of[i])
            owner_block[int(m.group(1), 16)] = block_of[i]
    for how, at, mutated in _mutations(lines):
        result = parse("strongswan", "swanctl --list-sas", "\n".join(mutated))
        for tunnel in result["tunnels"]:
            for sa in tunnel["sas"]:
                if sa["direction"] == "in" and sa["spi"] in owners:
                    # its own IKE_SA's peer, or unknown when that block lost its remote line
                    lost = tunnel["peer"] is None and owner_block[sa["spi"]] == block_of[at]
                    assert tunnel["peer"] == owners[sa["spi"]] or lost, (how, at + 1, lines[at])
        untouched = {spi for i, spi in _spi_lines(lines) if block_of[i] != block_of[at]}
        got = {sa["spi"] for t in result["tunnels"] for sa in t["sas"]}
        assert untouched <= got, (how, at + 1, lines[at])
        if how == "insert":
            assert any(w.lineno == at + 1 for w in result.warnings)


def _spi_lines(lines: list[str]) -> Iterator[tuple[int, int]]:
    for i, line in enumerate(lines):
        if (m := _CHILD_SPI.match(line)) is not None:
            yield i, int(m.group(1), 16)


IKE_SAMPLES = sorted(
    [
        *FIXTURES.glob("*/show_crypto_isakmp_sa*/*.txt"),
        *FIXTURES.glob("*/show_crypto_ikev*_sa*/*.txt"),
        *REAL.glob("*/show_crypto_isakmp_sa*/*.txt"),
        *REAL.glob("*/show_crypto_ikev*_sa*/*.txt"),
    ]
)


def _ike_command(sample: Path) -> str:
    words = sample.parent.name.replace("_", " ")
    return re.sub(r" (local|remote)( detail)?$", r" \1 X\2", words)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(IKE_SAMPLES),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(["delete", "duplicate", "insert"]),
)
def test_ike_tables_mutated_never_raise_and_report(sample: Path, where: int, how: str) -> None:
    lines = sample.read_text().splitlines()
    at = where % max(len(lines), 1)
    mutated = {
        "delete": lines[:at] + lines[at + 1 :],
        "duplicate": lines[: at + 1] + lines[at:],
        "insert": [*lines[:at], UNKNOWN, *lines[at:]],
    }[how]
    result = parse(_platform(sample), _ike_command(sample), "\n".join(mutated))
    if how == "insert":
        assert (at + 1, UNKNOWN.strip()) in {(w.lineno, w.line) for w in result.warnings}
        original = parse(_platform(sample), _ike_command(sample), "\n".join(lines))
        assert len(result["ike_sas"]) == len(original["ike_sas"])
