"""The readers of the usual layouts give exactly what the template gives.

``show crypto isakmp sa [detail]``, ``show crypto ikev2 sa [detailed]`` and ``show crypto
session [detail]`` in the layouts IOS prints on nearly every device, and the structure of
``show crypto ipsec sa`` (IOS, IOS-XE, ASA), are read without TTP (a hub prints tens of
thousands of rows, a poll parses every device); any other layout is left to the template. Here both
are run on every real sample and on
every one-line mutation of it (a line deleted, duplicated, or moved up one): wherever the
fast reader answers, its rows must equal the template's, and on the usual layouts it must
answer at all (else the speed is silently lost).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import parsers.cisco_ipsec_sa as ipsec_sa
from parsers import resolve_command
from parsers._engine import Notes, Template, checked_lines, clean_lines, load_template
from parsers.cisco_asa_ike import usual_ikev1
from parsers.cisco_ike import usual_ikev2, usual_isakmp
from parsers.cisco_session import usual_sessions
from tests.parsers.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"


def _samples(slug: str, platforms: tuple[str, ...] = ("ios", "iosxe")) -> list[Path]:
    return sorted(
        p
        for root in (FIXTURES, REAL)
        for p in root.glob(f"*/{slug}*/*.txt")
        if p.parts[-3] in platforms
    )


ISAKMP = _samples("show_crypto_isakmp_sa")
SESSION = _samples("show_crypto_session")
IKEV2 = _samples("show_crypto_ikev2_sa")
IPSEC = _samples("show_crypto_ipsec_sa", ("ios", "iosxe", "asa"))
#: ASA IKEv1 tables: ``show crypto ikev1 sa`` and the IKEv1 part of ``show crypto isakmp sa``
ASA_IKEV1 = _samples("show_crypto_ikev1_sa", ("asa",)) + _samples("show_crypto_isakmp_sa", ("asa",))


def _mutations(text: str) -> Iterator[str]:
    lines = text.splitlines()
    yield text
    for i in range(len(lines)):
        yield "\n".join(lines[:i] + lines[i + 1 :])
        yield "\n".join(lines[: i + 1] + lines[i:])
        if i:
            yield "\n".join([*lines[: i - 1], lines[i], lines[i - 1], *lines[i + 1 :]])


def _checked(command: str, text: str) -> list[str]:
    template = load_template("cisco_ios", resolve_command(command)[0])
    return [line for _, line in clean_lines(text.splitlines(), command, template, Notes(command))]


def _template_isakmp(text: str) -> list[tuple[Any, Any]]:
    result = load_template("cisco_ios", "show_crypto_isakmp_sa").run(text)
    sections = result.get("sections") or []
    sections = [sections] if isinstance(sections, dict) else sections
    out = []
    for section in sections:
        rows = section.get("rows") or []
        out.append((section.get("family"), [rows] if isinstance(rows, dict) else rows))
    return out


@pytest.mark.parametrize("sample", ISAKMP, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_isakmp_reader_agrees_with_the_template(sample: Path) -> None:
    command = sample.parent.name.replace("_", " ")
    for text in _mutations(sample.read_text()):
        checked = "".join(line + "\n" for line in _checked(command, text))
        fast = usual_isakmp(checked)
        if fast is not None:
            assert fast == _template_isakmp(checked), text


@pytest.mark.parametrize("sample", SESSION, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_session_reader_agrees_with_the_template(sample: Path) -> None:
    template = load_template("cisco_ios", "show_crypto_session")
    for text in _mutations(sample.read_text()):
        lines = _checked("show crypto session detail", text)
        fast = usual_sessions(lines)
        if fast is not None:
            want = template.run("".join(line + "\n" for line in lines)).get("sessions") or []
            assert fast == ([want] if isinstance(want, dict) else want), text


@pytest.mark.parametrize("sample", IKEV2, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_ikev2_reader_agrees_with_the_template(sample: Path) -> None:
    template = load_template("cisco_ios", "show_crypto_ikev2_sa")
    for text in _mutations(sample.read_text()):
        lines = _checked("show crypto ikev2 sa detailed", text)
        fast = usual_ikev2(lines)
        if fast is not None:
            want = template.run("".join(line + "\n" for line in lines)).get("sas") or []
            assert fast == ([want] if isinstance(want, dict) else want), text


def _asa_ikev1_part(sample: Path, text: str) -> str:
    """The checked IKEv1 lines of an ASA IKE output, as :func:`parsers.parse` hands them to
    the reader (an ``IKEv2 SAs:`` section of ``show crypto isakmp sa`` has its own)."""
    command = sample.parent.name.replace("_", " ")
    template = load_template("cisco_asa", "show_crypto_ikev1_sa")
    lines = text.splitlines()
    cut = next((i for i, line in enumerate(lines) if line.strip() == "IKEv2 SAs:"), len(lines))
    numbered = clean_lines(lines[:cut], command, template, Notes(command))
    return "".join(line + "\n" for _, line in numbered)


@pytest.mark.parametrize("sample", ASA_IKEV1, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_asa_ikev1_reader_agrees_with_the_template(sample: Path) -> None:
    template = load_template("cisco_asa", "show_crypto_ikev1_sa")
    for text in _mutations(sample.read_text()):
        checked = _asa_ikev1_part(sample, text)
        fast = usual_ikev1(checked)
        if fast is not None:
            want = template.run_ttp(checked).get("blocks") or []
            assert fast == ([want] if isinstance(want, dict) else want), text
            assert not template.run_ttp(checked).get("rows"), text


def test_the_usual_layouts_take_the_fast_path() -> None:
    """IPv4 tables as IOS prints them (the AWS and cisco.com samples) are read without TTP."""
    fast_isakmp = [
        p
        for p in ISAKMP
        if usual_isakmp(
            "".join(
                line + "\n" for line in _checked(p.parent.name.replace("_", " "), p.read_text())
            )
        )
        is not None
    ]
    fast_session = [
        p
        for p in SESSION
        if usual_sessions(_checked("show crypto session detail", p.read_text())) is not None
    ]
    fast_ikev2 = [
        p
        for p in IKEV2
        if usual_ikev2(_checked("show crypto ikev2 sa detailed", p.read_text())) is not None
    ]
    assert len(fast_isakmp) >= len(ISAKMP) // 3, [p.name for p in fast_isakmp]
    # detail rows with a name in the I-VRF column (a VRF-aware hub's) are read without TTP too
    with_ivrf = [p for p in ISAKMP if p.parent.name.endswith("detail") and " RED " in p.read_text()]
    assert with_ivrf and set(with_ivrf) <= set(fast_isakmp), [p.name for p in with_ivrf]
    assert len(fast_ikev2) >= len(IKEV2) // 3, [p.name for p in fast_ikev2]
    assert len(fast_session) >= len(SESSION) // 3, [p.name for p in fast_session]
    # ASA 8.4+ blocks (the documented sample and the handbook's responder); the older table
    # layout and the samples with unknown lines are the template's
    fast_asa = [p.stem for p in ASA_IKEV1 if usual_ikev1(_asa_ikev1_part(p, p.read_text()))]
    assert {"documented-1", "fortigate-handbook-asa-vti-ikev1-responder"} <= set(fast_asa)


def _logical_texts(sample: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The logical texts the parser hands to the structure reader for ``text``."""
    seen: list[str] = []
    real = ipsec_sa.structure

    def spy(logical: str, asa: bool) -> list[dict[str, Any]] | None:
        seen.append(logical)
        return real(logical, asa)

    monkeypatch.setattr(ipsec_sa, "structure", spy)
    platform = "cisco_asa" if sample.parts[-3] == "asa" else "cisco_ios"
    command = sample.parent.name.replace("_", " ")
    template = load_template(platform, "show_crypto_ipsec_sa")
    list(ipsec_sa.iter_tunnels(text, command, template, Notes(command)))
    monkeypatch.setattr(ipsec_sa, "structure", real)
    return seen


@pytest.mark.parametrize("sample", IPSEC, ids=lambda p: f"{p.parts[-3]}/{p.parent.name}/{p.stem}")
def test_ipsec_structure_agrees_with_the_template(
    sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asa = sample.parts[-3] == "asa"
    template = load_template("cisco_asa" if asa else "cisco_ios", "show_crypto_ipsec_sa")
    for text in _mutations(sample.read_text()):
        for logical in _logical_texts(sample, text, monkeypatch):
            fast = ipsec_sa.structure(logical, asa)
            if fast is not None:
                want = template.run(logical).get("ifaces") or []
                want = [want] if isinstance(want, dict) else want
                for iface in want:  # the template gives one match as a dict, not a list
                    for key in ("maps", "idents"):
                        if isinstance(iface.get(key), dict):
                            iface[key] = [iface[key]]
                    for entry in iface.get("maps") or []:
                        if isinstance(entry.get("idents"), dict):
                            entry["idents"] = [entry["idents"]]
                assert fast == want, logical


def test_the_usual_ipsec_layouts_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every IPsec SA sample but the odd one is read without TTP."""
    slow = [
        f"{p.parts[-3]}/{p.stem}"
        for p in IPSEC
        if any(
            ipsec_sa.structure(logical, p.parts[-3] == "asa") is None
            for logical in _logical_texts(p, p.read_text(), monkeypatch)
        )
    ]
    assert len(slow) <= len(IPSEC) // 10, slow


LINE_CHECKED = [
    (p, "cisco_asa" if p.parts[-3] == "asa" else "cisco_ios", slug.replace("_", " "))
    for slug in ("show_crypto_isakmp_sa", "show_crypto_ikev2_sa", "show_crypto_session")
    for p in _samples(slug, ("ios", "iosxe", "asa"))
]


@pytest.mark.parametrize("sample", LINE_CHECKED, ids=lambda s: f"{s[0].parts[-3]}/{s[0].stem}")
def test_whole_output_check_agrees_with_the_line_by_line_one(
    sample: tuple[Path, str, str],
) -> None:
    """Same lines, same line numbers, same warnings, on every sample and its mutations (an
    echo, a trailing prompt and unknown lines among them)."""
    path, platform, command = sample
    template = load_template(platform, resolve_command(command)[0])
    texts = [*_mutations(path.read_text())]
    texts += [f"router#{command}\n{texts[0]}\nrouter#", f"{texts[0]}\nsome unknown line\n"]
    for text in texts:
        fast_notes, slow_notes = Notes(command), Notes(command)
        fast = checked_lines(text.splitlines(), command, template, fast_notes)
        assert fast == list(clean_lines(text.splitlines(), command, template, slow_notes)), text
        assert fast_notes.warnings() == slow_notes.warnings()
        assert fast_notes.known == slow_notes.known


@pytest.mark.parametrize(
    ("platform", "slug"),
    [
        ("cisco_ios", "show_crypto_isakmp_sa"),
        ("cisco_asa", "show_crypto_ikev2_sa"),
        ("strongswan", "swanctl_list_sas"),
    ],
)
def test_template_variables_are_no_line_forms(platform: str, slug: str) -> None:
    """A ``<vars>`` block defines patterns for the template lines; its own lines
    (``SA_STATUS = "..."``) are nothing a device prints, so neither check accepts them."""
    template = load_template(platform, slug)
    block = template.text.split("<vars>", 1)[1].split("</vars>", 1)[0]
    definitions = [" ".join(line.split()) for line in block.splitlines() if "=" in line]
    assert definitions
    for line in definitions:
        assert not template.recognises(line), line
        assert not template.knows_all(line + "\n"), line


def test_other_layouts_patterns_compile_on_first_use() -> None:
    """A process that reads the usual IOS output never compiles the ASA and older-IOS
    patterns; an ASA output compiles them once, and the same object serves every call."""
    sample = FIXTURES / "ios" / "show_crypto_ipsec_sa_detail" / "ntc-templates-1.txt"
    asa = sorted((FIXTURES / "asa" / "show_crypto_ipsec_sa").glob("*.txt"))[0]
    code = (
        "import parsers, parsers.cisco_ipsec_sa as m\n"
        "parsers.parse('cisco_ios', 'show crypto ipsec sa detail',"
        f" open({str(sample)!r}).read())\n"
        "print('compiled' in vars(m._PEER), 'compiled' in vars(m._ACL_JOIN))\n"
        f"parsers.parse('cisco_asa', 'show crypto ipsec sa', open({str(asa)!r}).read())\n"
        "print('compiled' in vars(m._PEER), 'compiled' in vars(m._ACL_JOIN))\n"
        "print(m._PEER.compiled is m._PEER.compiled)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split("\n")
    assert out[:3] == ["False False", "True True", "True"]


def _is_command(command: str) -> bool:
    """Whether ``command`` is one the parsers take (sample folders also hold the outputs of
    ``... remote``, ``... local``, which take an argument)."""
    try:
        resolve_command(command)
    except ValueError:
        return False
    return True


#: every template the line checks use as it is (a ``.lines`` grammar describes other lines)
ALL_SAMPLES = [
    (p, "cisco_asa" if p.parts[-3] == "asa" else "cisco_ios", p.parent.name.replace("_", " "))
    for slug in (
        "show_crypto_isakmp_sa",
        "show_crypto_ikev1_sa",
        "show_crypto_ikev2_sa",
        "show_crypto_session",
        "show_crypto_map",
    )
    for p in _samples(slug, ("ios", "iosxe", "asa"))
    if _is_command(p.parent.name.replace("_", " "))
]


@pytest.mark.parametrize("sample", ALL_SAMPLES, ids=lambda s: f"{s[0].parts[-3]}/{s[0].stem}")
def test_a_text_of_header_lines_holds_no_records(sample: tuple[Path, str, str]) -> None:
    """What the template is spared (``holds_records`` false: only summary and header lines,
    "There are no IKEv2 SAs") is exactly what TTP finds nothing in. Checked line by line on
    every real sample and its mutations: each checked line alone, and the whole text."""
    path, platform, command = sample
    template = load_template(platform, resolve_command(command)[0])
    for text in _mutations(path.read_text()):
        lines = [line for _, line in clean_lines(text.splitlines(), command, template, Notes(""))]
        for piece in [*(line + "\n" for line in lines), "".join(line + "\n" for line in lines)]:
            if not template.holds_records(piece):
                assert template.run_ttp(piece) == {}, piece
                assert template.run(piece) == {}


def test_no_sas_skips_the_template() -> None:
    """An ASA without IKEv2 SAs says so in one line: read without starting TTP, and a line
    of the template (an SA row) is never skipped."""
    template = load_template("cisco_asa", "show_crypto_ikev2_sa")
    assert not template.holds_records("There are no IKEv2 SAs\n")
    assert not template.holds_records("IKEv2 SAs:\n")
    row = "Tunnel-id Local Remote Status Role\n1 10.0.0.1/500 10.0.0.2/500 READY INITIATOR\n"
    assert template.holds_records(row)
    assert template.run(row) == template.run_ttp(row)
    # the real one: an ASA 9 talking to strongSwan over IKEv1 only
    sample = REAL / "asa" / "show_crypto_isakmp_sa" / "satishdotpatel-asa-to-strongswan-no-ikev2"
    sample = sample.with_suffix(".txt")
    part = sample.read_text().split("IKEv2 SAs", 1)[0].rsplit("\n", 1)[1] + "IKEv2 SAs\n"
    assert part == "There are no IKEv2 SAs\n"
    assert not template.holds_records(part)
    assert template.run_ttp(part) == {}


@pytest.mark.parametrize(
    "template",
    sorted((ROOT / "parsers" / "templates").glob("*/*.ttp")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_an_empty_text_is_nothing_to_every_template(template: Path) -> None:
    """An empty output skips TTP, and TTP finds nothing in it either; a template without a
    ``.known`` list of its own (strongSwan's, the configuration's) never skips a line."""
    loaded = Template(template)
    assert loaded.run("") == loaded.run_ttp("") == {}
    known = template.with_suffix(".known")
    listed = known.read_text().splitlines() if known.exists() else []
    if not [line for line in listed if line.strip() and not line.startswith("#")]:
        assert loaded.holds_records("anything at all\n")
