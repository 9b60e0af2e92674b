"""TTP templates per platform and command, and ``parse(platform, command, text)``.

Contract (this package imports nothing from ``ipsecctl``):

``parse(platform, command, text) -> ParseResult`` returns plain records keyed by kind (the
result is a mapping: ``result["tunnels"]``): ``ike_sas`` (keys = ``ipsecctl.models.IkeSa`` field
names), ``tunnels`` (keys = ``Tunnel`` field names, with ``sas`` a list of ``IpsecSa``-shaped
dicts and ``local_ts``/``remote_ts`` as ``{prefix, protocol, port}``), and for other commands
their own kinds; plus ``result.warnings``, a list of :class:`ParseWarning` (line number, text,
reason). Records never carry ``device``/``platform``; the caller adds them. Values the output
does not show are absent or ``None``, never guessed (``aes`` without a key size gives
``encryption: None`` and the spelling in ``extra.encryption_raw``); DH groups are IANA numbers.

The reader is tolerant where devices differ and strict where it matters: a line no grammar
knows (a newer image's counter, an older image's missing line) is left out and reported as a
warning; the records around it are kept. Block boundaries are explicit: a record belongs to
the block whose header it follows, and a block whose header line is missing is reported, not
merged into its neighbour. Only output with nothing recognisable (another command, another
platform, a device error, garbage) raises :class:`ParseError` naming the command and the first
unknown line; an empty but valid output returns empty lists.

Commands (platforms ``cisco_ios`` and ``cisco_iosxe`` share templates):

- ``show crypto ipsec sa`` [``detail`` | ``peer X`` | ``interface X`` | ``ipv6`` ...] ->
  ``tunnels`` (one per ident). Streaming: :func:`iter_parse`.
- ``show crypto isakmp sa`` [``detail``] -> ``ike_sas`` (version 1).
- ``show crypto ikev2 sa`` [``detail``/``detailed`` | ``local X`` | ``remote X``] ->
  ``ike_sas`` (version 2).
- ``show crypto session`` [``detail`` | ``local X`` | ``remote X`` | ``interface X``] ->
  ``sessions`` (keys in :mod:`parsers.cisco_session`).
- ``show crypto map`` -> ``crypto_maps`` (keys in :mod:`parsers.cisco_map`).

Platform ``cisco_asa`` (alias ``asa``):

- ``show crypto ipsec sa`` [...] -> ``tunnels`` (``map_seq`` set, ASA counters).
- ``show crypto ikev1 sa`` / ``show crypto isakmp sa`` [``detail``] -> ``ike_sas`` (v1;
  MM_ACTIVE/AM_ACTIVE up, other MM_/AM_ states negotiating; block and old table layouts).
- ``show crypto ikev2 sa`` [``detail``] -> ``ike_sas`` (v2; child SAs in ``extra.child_sas``).

Platform ``strongswan``:

- ``swanctl --list-sas`` [``--ike X`` ...] [``--raw``] -> ``ike_sas`` and ``tunnels`` (kind
  ``child_sa``; keys in :mod:`parsers.strongswan`). :func:`iter_parse` yields the tunnels.

Templates live in ``parsers/templates/<platform>/<command_slug>.ttp`` (device knowledge as
data); lines a command prints that carry nothing we keep are listed in ``<slug>.known``, and a
template that sees pre-joined logical lines keeps its physical line grammar in ``<slug>.lines``.
``import parsers`` is cheap (~3 ms): TTP and each command's module load on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from parsers._engine import (
    PLATFORM_DIRS,
    Notes,
    ParseError,
    ParseResult,
    ParseWarning,
    Template,
    checked_lines,
    load_template,
)

__all__ = [
    "COMMANDS",
    "ParseError",
    "ParseResult",
    "ParseWarning",
    "iter_parse",
    "parse",
    "resolve_command",
]

Records = dict[str, list[dict[str, Any]]]

#: ``Tunnel1``, or the type and number apart as IOS also takes them: ``tunnel 1``
_IFACE = r"[\w./:-]+(?: \d[\w./:-]*)?"
_ADDR = r"[\w.:-]+"
_OPT_IPSEC = (
    rf"(?: (?:detail|detailed|ipv6|ipv4|address|identity|active|standby"
    rf"|peer {_ADDR}|interface {_IFACE}|vrf \S+|map \S+))*"
)

#: normalised command regex -> (template slug, result kind)
COMMANDS: dict[str, tuple[str, str]] = {
    rf"show crypto ipsec sa{_OPT_IPSEC}": ("show_crypto_ipsec_sa", "tunnels"),
    r"show crypto isakmp sa(?: detail)?(?: active| standby)?": ("show_crypto_isakmp_sa", "ike_sas"),
    rf"show crypto ikev2 sa(?: (?:local|remote) {_ADDR})?(?: detail| detailed)?": (
        "show_crypto_ikev2_sa",
        "ike_sas",
    ),
    rf"show crypto session(?: (?:local|remote) {_ADDR}| interface {_IFACE}| isakmp)*"
    r"(?: detail)?": ("show_crypto_session", "sessions"),  # "brief" prints a table: not read
    rf"show crypto map(?: tag \S+| interface {_IFACE})?": ("show_crypto_map", "crypto_maps"),
    # ASA (platform cisco_asa) only: its IKEv1 view; on ASA "isakmp sa" prints the same
    r"show crypto ikev1 sa(?: detail)?": ("show_crypto_ikev1_sa", "ike_sas"),
    # strongSwan (platform strongswan): both kinds from one command
    r"swanctl (?:--list-sas|-l)(?: (?:--ike|-i|--ike-id|-I|--child|-c|--child-id|-C) \S+"
    r"| --noblock| -n)*": ("swanctl_list_sas", "tunnels"),
    r"swanctl (?:--list-sas|-l)(?: (?:--ike|-i|--ike-id|-I|--child|-c|--child-id|-C) \S+"
    r"| --noblock| -n)* (?:--raw|-r)": ("swanctl_list_sas_raw", "tunnels"),
    # libreswan (platform libreswan): parsers/libreswan.py
    r"ipsec (?:status|whack --status|auto --status|showstates)": ("ipsec_status", "tunnels"),
    r"ipsec (?:trafficstatus|whack --trafficstatus)": ("ipsec_trafficstatus", "tunnels"),
}


@functools.lru_cache(maxsize=256)  # pure; a poll asks about the same few commands per device
def resolve_command(command: str) -> tuple[str, str]:
    """Normalise ``command`` and return ``(template slug, kind)``; ``ValueError`` if unknown."""
    text = " ".join(command.split())
    # tried in order, each compiled (and kept by ``re``) the first time it is tried: a
    # process that reads IOS outputs never compiles the strongSwan and libreswan forms
    for pattern, target in COMMANDS.items():
        if re.fullmatch(pattern, text, re.IGNORECASE):
            return target
    raise ValueError(
        f"no parser for command {command!r}; supported: "
        + ", ".join(sorted({slug.replace("_", " ") for slug, _ in COMMANDS.values()}))
    )


def _template(platform: str, command: str) -> tuple[Template, str, str]:
    slug, kind = resolve_command(command)
    try:
        return load_template(platform, slug), slug, kind
    except FileNotFoundError:
        known = sorted(set(PLATFORM_DIRS))
        raise ValueError(
            f"no {command!r} parser for platform {platform!r} (supported: {', '.join(known)})"
        ) from None


def _platform_dir(platform: str, wanted: str, command: str) -> None:
    if PLATFORM_DIRS.get(platform, platform) != wanted:
        raise ValueError(f"no {command!r} parser for platform {platform!r} (it is {wanted}'s)")


Builder = Callable[[Iterable[tuple[int, str]], Template, Notes], Records]


def _builder(slug: str, platform: str = "cisco_ios") -> Builder:
    asa = PLATFORM_DIRS.get(platform, platform) == "cisco_asa"
    if asa and slug in ("show_crypto_isakmp_sa", "show_crypto_ikev1_sa"):
        from parsers.cisco_asa_ike import build_ikev1

        return build_ikev1
    if asa and slug == "show_crypto_ikev2_sa":
        from parsers.cisco_asa_ike import build_ikev2 as build_asa_ikev2

        return build_asa_ikev2
    if slug == "swanctl_list_sas":
        from parsers.strongswan import build_list_sas

        return build_list_sas
    if slug == "show_crypto_isakmp_sa":
        from parsers.cisco_ike import build_isakmp

        return build_isakmp
    if slug == "show_crypto_ikev2_sa":
        from parsers.cisco_ike import build_ikev2

        return build_ikev2
    if slug == "show_crypto_session":
        from parsers.cisco_session import build_sessions

        return build_sessions
    if slug == "show_crypto_map":
        from parsers.cisco_map import build_maps

        return build_maps
    raise ValueError(f"no builder for {slug}")


def parse(platform: str, command: str, text: str) -> ParseResult:
    """Parse one command's output; see the module docstring for kinds and record keys.

    Raises :class:`ParseError` only for output with nothing of this command in it, and
    ``ValueError`` for an unknown platform or command.
    """
    notes = Notes(command)
    if resolve_command(command)[0] == "swanctl_list_sas_raw":
        from parsers.strongswan import build_list_sas_raw

        _platform_dir(platform, "strongswan", command)
        records = build_list_sas_raw(text, command, notes)
    elif resolve_command(command)[0].startswith("ipsec_"):
        from parsers.libreswan import parse_libreswan

        _platform_dir(platform, "libreswan", command)
        records = parse_libreswan(resolve_command(command)[0], text, command)
    else:
        template, slug, _kind = _template(platform, command)
        if slug == "show_crypto_ipsec_sa":
            from parsers.cisco_ipsec_sa import iter_tunnels

            records = {"tunnels": list(iter_tunnels(text, command, template, notes))}
        elif slug == "show_crypto_isakmp_sa" and PLATFORM_DIRS.get(platform, platform) == (
            "cisco_asa"
        ):
            records = _asa_isakmp(text, command, template, notes)
        else:
            numbered = checked_lines(text.splitlines(), command, template, notes)
            records = _builder(slug, platform)(numbered, template, notes)
    notes.reject_if_unrecognisable(sum(len(v) for v in records.values()))
    return ParseResult(records, notes.warnings())


def _asa_isakmp(text: str, command: str, template: Template, notes: Notes) -> Records:
    """ASA 8.4+ ``show crypto isakmp sa``: its IKEv1 section, then an ``IKEv2 SAs:`` section
    in the ``show crypto ikev2 sa`` layout; each part is read with its own grammar (line
    numbers kept), and the IKE SAs of both are returned."""
    from parsers.cisco_asa_ike import build_ikev1, build_ikev2

    lines = text.splitlines()
    cut = next(
        (i for i, line in enumerate(lines) if line.strip() == "IKEv2 SAs:"),
        len(lines),
    )
    records = build_ikev1(checked_lines(lines[:cut], command, template, notes), template, notes)
    if cut < len(lines):
        v2 = load_template("cisco_asa", "show_crypto_ikev2_sa")
        rest = [""] * cut + lines[cut:]  # blank lines are skipped, but keep line numbers
        records["ike_sas"] += build_ikev2(checked_lines(rest, command, v2, notes), v2, notes)[
            "ike_sas"
        ]
    return records


def iter_parse(
    platform: str,
    command: str,
    lines: Iterable[str],
    warnings: list[ParseWarning] | None = None,
) -> Iterator[dict[str, Any]]:
    """Stream records of ``command`` from an iterable of lines (a file, an SSH channel).

    For ``show crypto ipsec sa`` records come out in small batches of idents, so memory stays
    bounded on huge hubs; other commands are parsed whole, then yielded. Warnings are
    appended to ``warnings`` (when given) once the output is read to its end.
    """
    slug = resolve_command(command)[0]
    if slug != "show_crypto_ipsec_sa":
        result = parse(platform, command, "".join(_with_newlines(lines)))
        if warnings is not None:
            warnings.extend(result.warnings)
        yield from result.get(slug_kind(command), [])
        return
    template, _slug, _kind = _template(platform, command)
    from parsers.cisco_ipsec_sa import iter_tunnels

    notes = Notes(command)
    count = 0
    for record in iter_tunnels(lines, command, template, notes):
        count += 1
        yield record
    notes.reject_if_unrecognisable(count)
    if warnings is not None:
        warnings.extend(notes.warnings())


def slug_kind(command: str) -> str:
    """The record kind a command's parse yields from :func:`iter_parse` (``tunnels``, ...)."""
    return resolve_command(command)[1]


def _with_newlines(lines: Iterable[str]) -> Iterator[str]:
    if isinstance(lines, str):
        yield lines
        return
    read = getattr(lines, "read", None)
    if callable(read):
        yield read()
        return
    for line in lines:
        yield line if line.endswith("\n") else line + "\n"
