"""Chunked and streamed parsing of big ``show crypto ipsec sa`` outputs give the same records
as one whole parse, keep memory flat, and report unknown lines at the right line number."""

from __future__ import annotations

import gc
import importlib.util
import io
import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from parsers import ParseWarning, cisco_ipsec_sa, iter_parse, parse

ROOT = Path(__file__).resolve().parents[2]
CMD = "show crypto ipsec sa"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks/parse_ipsec_sa.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def _hub(peers: int, detail: bool = False) -> tuple[str, int]:
    text: str
    sas: int
    text, sas = GEN.generate(peers, detail)
    return text, sas


def _crypto_map_hub(peers: int) -> str:
    """All idents under one interface, as a crypto-map hub prints them."""
    text, _ = _hub(peers)
    blocks = text.split("interface: ")[1:]
    idents = ["   protected vrf:" + b.split("   protected vrf:", 1)[1] for b in blocks]
    return (
        "interface: GigabitEthernet1\n    Crypto map tag: HUB, local addr 10.0.0.1\n\n"
        + "".join(idents)
    )


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cisco_ipsec_sa, "CHUNK_CHARS", 4096)


def _whole(text: str, command: str = CMD) -> list[dict[str, Any]]:
    return list(cisco_ipsec_sa.iter_tunnels(text, command, _template()))


def _template() -> Any:
    from parsers._engine import load_template

    return load_template("cisco_iosxe", "show_crypto_ipsec_sa")


def test_chunked_streams_equal_whole_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    text, sas = _hub(60, detail=True)
    want = _whole(text, CMD + " detail")
    assert sum(len(t["sas"]) for t in want) == sas
    monkeypatch.setattr(cisco_ipsec_sa, "CHUNK_CHARS", 4096)
    assert len(list(cisco_ipsec_sa.iter_chunks(text))) > 10
    for source in (text, io.StringIO(text), iter(text.splitlines()), io.StringIO(text).readlines()):
        assert list(iter_parse("cisco_iosxe", CMD + " detail", source)) == want


def test_one_interface_with_many_idents_is_chunked(small_chunks: None) -> None:
    text = _crypto_map_hub(80)
    chunks = list(cisco_ipsec_sa.iter_chunks(text))
    got = list(cisco_ipsec_sa.iter_tunnels(io.StringIO(text), CMD, _template()))
    assert len(chunks) > 10
    assert len(got) == 80
    assert {(t["interface"], t["crypto_map"], t["local_addr"]) for t in got} == {
        ("GigabitEthernet1", "HUB", "10.0.0.1")
    }
    assert [t["peer"] for t in got] == [f"198.18.0.{i}" for i in range(80)]


def test_a_consumer_may_stop_early(small_chunks: None) -> None:
    text, _ = _hub(120)
    stream = iter_parse("cisco_iosxe", CMD, io.StringIO(text))
    assert next(stream)["peer"] == "198.18.0.0"
    stream.close()


@pytest.mark.parametrize("where", [0.1, 0.5, 0.95])
def test_unknown_line_number_across_chunks(small_chunks: None, where: float) -> None:
    """An unknown line anywhere is reported with its number, and every peer is still there."""
    lines = ("hub#show crypto ipsec sa\n" + _hub(60)[0] + "hub#").splitlines()
    at = int(len(lines) * where)
    lines.insert(at, "    #pkts garbled: x")
    warnings: list[ParseWarning] = []
    got = list(iter_parse("cisco_iosxe", CMD, io.StringIO("\n".join(lines)), warnings))
    assert [(w.lineno, w.line) for w in warnings] == [(at + 1, "#pkts garbled: x")]
    assert [t["peer"] for t in got] == [f"198.{18 + (i >> 16)}.0.{i}" for i in range(60)]


def test_prompt_in_the_middle_is_reported(small_chunks: None) -> None:
    text, _ = _hub(20)
    half = text.index("interface: Tunnel10")
    result = parse("cisco_iosxe", CMD, text[:half] + "hub#\n" + text[half:] + "hub#")
    assert [w.line for w in result.warnings] == ["hub#"]
    assert len(result["tunnels"]) == 20


def test_memory_stays_flat_when_streaming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cisco_ipsec_sa, "CHUNK_CHARS", 1 << 15)
    peaks = []
    for peers in (50, 1500, 4500):  # the first run only warms caches and compiled templates
        path = tmp_path / f"hub{peers}.txt"
        path.write_text(_hub(peers)[0])
        gc.collect()  # garbage of the previous run is not this run's peak
        tracemalloc.start()
        with path.open() as fh:
            count = sum(1 for _ in cisco_ipsec_sa.iter_tunnels(fh, CMD, _template()))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert count == peers
    # 3x the peers, not 3x the memory: one chunk plus its records at a time (a whole-text
    # parse would grow about 3x; the margin is for the collector's timing)
    assert peaks[2] < 1.5 * peaks[1]
