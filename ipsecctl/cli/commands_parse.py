"""``ipsecctl parse FILE``: a saved device output, offline, into the ipsecctl/v1 model.

Lines no grammar knows do not reject an output: they come back as ``warnings`` (JSON) or on
stderr, and the exit code stays 0. Output with nothing of the command in it (another command,
another platform, a device error, garbage) exits 1 with the first line that did not fit.
``--explain`` lists every line with what became of it: the record it went to, or why it was
left out, which is what a bug report about an unrecognised output needs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ipsecctl import errors
from ipsecctl.cli import render
from ipsecctl.cli.context import escape, stderr
from ipsecctl.models import SCHEMA, DeviceState
from ipsecctl.ops import export

OutputOpt = Annotated[str, typer.Option("-o", "--output", help="table | json | csv")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as -o json.")]

#: Lines that open a record, per record kind of a command (for --explain): the n-th such line
#: is the n-th record of that kind.
_OPENERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    "show_crypto_ipsec_sa": [
        ("tunnels", re.compile(r"protected vrf:|Protected vrf \(ivrf\):|access-list |local ident")),
    ],
    "show_crypto_isakmp_sa": [
        (
            "ike_sas",
            re.compile(r"\S+ \S+ [A-Z]+_[A-Z_]+ \d+|\d+ \S+ \S+ .*(?:ACTIVE|STDBY|DELETED)"),
        ),
        ("ike_sas", re.compile(r"\d+ IKE Peer: |\d+ \S+ \S+ (?:Init|Resp) ")),
    ],
    "show_crypto_ikev1_sa": [("ike_sas", re.compile(r"\d+ IKE Peer: |\d+ \S+ \S+ (?:Init|Resp) "))],
    "show_crypto_ikev2_sa": [
        ("ike_sas", re.compile(r"\d+ (?:\S+ \S+ )?\S+/\S+ [A-Z-]+")),
        ("ike_sas", re.compile(r"\d+ \S+ \S+ \S+ (?:INITIATOR|RESPONDER)")),
    ],
    "show_crypto_session": [("sessions", re.compile(r"Interface: "))],
    "show_crypto_map": [("crypto_maps", re.compile(r"Crypto Map (?:IPv6 )?\S+ \d+ "))],
    "swanctl_list_sas": [
        ("ike_sas", re.compile(r"\S+: #\d+, [A-Z_]+, IKEv")),
        ("tunnels", re.compile(r"\S+: #\d+, reqid \d+, ")),
    ],
}


def register(app: typer.Typer) -> None:
    app.command()(parse)


def parse(
    file: Annotated[Path, typer.Argument(help="Saved device output ('-' for stdin).")],
    platform: Annotated[str, typer.Option("--platform", "-p", help="cisco_ios, ...")],
    command: Annotated[str, typer.Option("--command", "-c", help="The show command.")],
    output: OutputOpt = "table",
    as_json: JsonOpt = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            "-v",
            help="List every line: the record it went to, or why it was left out.",
        ),
    ] = False,
) -> int:
    """Parse a saved output offline into the ipsecctl/v1 model."""
    import parsers
    from ipsecctl.assemble import assemble
    from ipsecctl.platforms import canonical

    platform = canonical(platform)
    fmt = "json" if as_json else output
    if fmt not in render.FORMATS:
        raise errors.UsageError(f"-o {fmt!r}: choose one of {', '.join(render.FORMATS)}")
    try:
        slug, _kind = parsers.resolve_command(command)
        parsers.parse(platform, command, "")  # this platform has a grammar for it
    except ValueError as exc:
        raise errors.UsageError(f"--command: {exc}") from None
    text, replaced = _read_input(file)
    result: parsers.ParseResult | None = None
    if slug == "show_crypto_ipsec_sa" and not explain:
        # a hub's output: each record becomes its model as the parser yields it, so the
        # records of every tunnel are never all in memory beside their models
        state = assemble(file.name, platform, {command: text})
        text = ""
    else:
        try:
            result = parsers.parse(platform, command, text)
        except parsers.ParseError as exc:
            if explain:
                _explain(text, slug, None, [])
            raise errors.ParseError(f"{file}: {exc}") from None
        if not explain:
            text = ""  # the records are all that is needed now: let a big output go
        state = assemble(file.name, platform, {command: text}, parsed={command: result})
    hard = [e for e in state.errors if e.fatal]
    if hard:
        raise errors.ParseError(f"{file}: {hard[0].message}")
    warnings = _warnings(replaced, state)
    others = (
        {}
        if result is None
        else {k: v for k, v in result.items() if k not in ("ike_sas", "tunnels")}
    )
    if explain and result is not None:
        _explain(text, slug, result, result.warnings, to_stderr=fmt != "table")
    if result is not None:
        result.records.clear()  # the models hold it all now
    if fmt == "json":
        _emit_json(state, others, warnings)
    elif fmt == "csv":
        render.emit_csv(export.TUNNEL_HEADER, export.tunnel_rows(state.tunnels))
        for kind, recs in others.items():
            stderr().print(f"{kind}: {len(recs)} record(s) not in the CSV (use --json)")
    else:
        _tables(state)
        for kind, recs in others.items():
            render.stdout_console().print(f"{kind}: {len(recs)} record(s) (see --json)")
    if fmt != "json" and warnings:
        _report_warnings(file, warnings)
    return 0


def _emit_json(state: DeviceState, others: dict[str, Any], warnings: list[Any]) -> None:
    """The ``parse`` document, written one record at a time: a 50 MB output's models are in
    memory once, not also as one dict tree and one string (same bytes as a whole dump)."""
    from ipsecctl.models import to_json
    from ipsecctl.ops.export import tunnel_figures

    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stream (embedding): same bytes, decoded
        render.emit_json(
            {
                "schema": SCHEMA,
                "kind": "parse",
                "ike_sas": state.ike_sas,
                "tunnels": state.tunnels,
                **others,
                "warnings": warnings,
            }
        )
        return
    sys.stdout.flush()
    out.write(b'{\n  "schema": ' + to_json(SCHEMA) + b',\n  "kind": "parse"')
    lists: list[tuple[str, Any]] = [("ike_sas", state.ike_sas), ("tunnels", state.tunnels)]
    lists += [(k, v) for k, v in others.items()] + [("warnings", warnings)]
    for key, items in lists:
        out.write(b",\n  " + to_json(key) + b": ")
        if not items:
            out.write(b"[]")
            continue
        out.write(b"[\n")
        for n, item in enumerate(items):
            text = to_json(item, derive=tunnel_figures)
            out.write((b"" if n == 0 else b",\n") + b"    " + text.replace(b"\n", b"\n    "))
            items[n] = None  # written: let it go
        out.write(b"\n  ]")
    out.write(b"\n}\n")
    out.flush()


def _read_input(file: Path) -> tuple[str, int]:
    """The text, and how many bytes were not UTF-8 (each replaced by U+FFFD)."""
    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise errors.InputFileError(f"{file}: cannot read ({exc.strerror})") from None
    already = data.count("\ufffd".encode())
    text = data.decode("utf-8", errors="replace")
    del data
    return text, text.count("\ufffd") - already


def _warnings(replaced: int, state: DeviceState) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if replaced:
        out.append(
            {
                "line": None,
                "text": "",
                "reason": f"{replaced} byte(s) that are not UTF-8 were replaced by U+FFFD",
            }
        )
    for err in state.errors:
        if err.kind == "parse_warning":
            out.append(_warning_doc(err.message))
    return out


_WARNING_TEXT = re.compile(r"(?:line (\d+)|record): (.*?): (.*)$", re.S)


def _warning_doc(message: str) -> dict[str, Any]:
    """``line 12: unrecognised line: '...'`` -> ``{line, text, reason}`` (the JSON form)."""
    match = _WARNING_TEXT.match(message)
    if match is None:
        return {"line": None, "text": "", "reason": message}
    lineno, reason, shown = match.groups()
    try:
        import ast

        text = ast.literal_eval(shown)
    except (ValueError, SyntaxError):
        text = shown
    return {"line": int(lineno) if lineno else None, "text": text, "reason": reason}


def _report_warnings(file: Path, warnings: list[dict[str, Any]]) -> None:
    console = stderr()
    console.print(
        f"{escape(str(file))}: {len(warnings)} part(s) not understood and left out "
        "(--explain lists every line; the README says how to report them):"
    )
    for w in warnings[:20]:
        where = f"line {w['line']}" if w["line"] else "record"
        console.print(f"  {where}: {escape(w['reason'])}: {escape(repr(w['text']))}")
    if len(warnings) > 20:
        console.print(f"  ... and {len(warnings) - 20} more (see --json)")


def _tables(state: DeviceState) -> None:
    from ipsecctl.cli.commands_views import show_human

    if not state.ike_sas and not state.tunnels:
        render.stdout_console().print("no SAs in this output")
        return
    show_human([state], offline=True)


def _explain(
    text: str,
    slug: str,
    result: Any,
    warnings: list[Any],
    to_stderr: bool = False,
) -> None:
    """Every line with what became of it: ``kind #n (peer)`` or why it was left out."""
    from parsers._engine import normalise

    console = stderr() if to_stderr else render.stdout_console()
    left_out = {w.lineno: w.reason for w in warnings if w.lineno is not None}
    openers = _OPENERS.get(slug.removesuffix("_raw"), [])
    seen: dict[str, int] = {}
    current = "header"
    previous = ""
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = normalise(raw)
        if not line:
            continue
        if lineno in left_out:
            console.print(f"{lineno:>6} ?  {escape(line)}   [dim]<- {escape(left_out[lineno])}[/]")
            continue
        for kind, pattern in openers:
            if pattern.match(line) and not (
                line.startswith(("local ident", "Protected vrf")) and _opens_ident(previous)
            ):
                seen[kind] = seen.get(kind, 0) + 1
                current = _label(result, kind, seen[kind])
                break
        console.print(f"{lineno:>6}    {escape(line)}   [dim]-> {escape(current)}[/]")
        previous = line
    for w in warnings:
        if w.lineno is None:
            console.print(f"     -  [dim]{escape(w.reason)}: {escape(w.line)}[/]")


def _opens_ident(previous: str) -> bool:
    return previous.startswith(("protected vrf:", "Protected vrf (ivrf):", "access-list "))


def _label(result: Any, kind: str, n: int) -> str:
    records = result.get(kind, []) if result is not None else []
    if n > len(records):
        return f"{kind} #{n}"
    record = records[n - 1]
    peer = record.get("peer") or record.get("remote") or record.get("dst")
    return f"{kind} #{n}" + (f" (peer {peer})" if peer else "")
