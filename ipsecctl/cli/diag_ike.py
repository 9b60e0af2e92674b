"""``ipsecctl diag ike`` and ``ipsecctl diag probe``: thin typer commands over diag.ike.

Parsing, decryption, verdicts and probing live in :mod:`ipsecctl.diag.ike`; this module only
reads options, calls them, and renders JSON (the ``ipsecctl/v1`` envelope) or rich tables.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ipsecctl.cli.render import stdout_console
from ipsecctl.diag.packets.common import iso_utc
from ipsecctl.errors import EXIT_OK, EXIT_PROBLEM, IpsecctlError, UsageError
from ipsecctl.models import envelope


def analyse_capture(
    capture: Path, keys_path: Path | None, capture_format: str | None = None
) -> dict[str, Any]:
    """The ``diag ike`` document for a capture (pcap/pcapng, a printed capture saved from a
    device, or one raw IKE message file).

    The file is opened by the same reader as ``diag esp`` (same errors for unreadable and
    non-capture files); only a file that holds a well-formed IKE header is taken as a raw
    message (ike-scan ``.dat``), so random or text files are refused, never decoded.
    """
    from ipsecctl.diag.capture.formats import check_format
    from ipsecctl.diag.ike.decode import decode_capture, decode_raw, is_raw_message
    from ipsecctl.diag.ike.keys import load_keys
    from ipsecctl.diag.ike.timeline import build_sas
    from ipsecctl.diag.packets.reader import CaptureInfo
    from ipsecctl.errors import InputFileError

    keys = load_keys(keys_path) if keys_path else None
    info = CaptureInfo()
    try:
        messages = decode_capture(capture, keys, info, check_format(capture_format))
    except InputFileError as exc:
        data = _read_or_none(capture)
        if data is None or not is_raw_message(data):
            if data is None:
                raise
            raise InputFileError(f"{exc.message}, nor a raw IKE message", hint=exc.hint) from None
        m = decode_raw(data, keys)
        messages = [{"frame": 1, "time": None, "src": None, "dst": None, **m}]
    sas = build_sas(messages)
    for m in messages:
        m["time"] = iso_utc(m.get("time"))
    return envelope(
        "diag ike",
        capture=str(capture),
        messages=messages,
        ike_sas=sas,
        warnings=list(info.warnings),
    )


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _render(doc: dict[str, Any], console: Console) -> None:
    from ipsecctl.diag.ike.timeline import outcome

    msgs = {m["frame"]: m for m in doc["messages"]}
    if not doc["ike_sas"]:
        console.print(f"{doc['capture']}: no IKE messages")
    for sa in doc["ike_sas"]:
        style = {"ok": "green", "failed": "red"}.get(outcome(sa["verdict"]), "yellow")
        title = (
            f"IKEv{sa['version']} SA {sa['spi_i']}/{sa['spi_r']}  "
            f"[{style}]{sa['verdict']}[/{style}]"
        )
        table = Table(title=title, title_justify="left", expand=False)
        for col in ("frame", "t (s)", "dir", "exchange", "mid", "", "payloads", "icv"):
            table.add_column(col, overflow="fold")
        for e in sa["timeline"]:
            m = msgs.get(e["frame"], {})
            note = e["summary"] + (" [dim](retransmission)[/dim]" if e["retransmission"] else "")
            for err in e["errors"]:
                note += f"\n[red]! {err}[/red]"
            for n in m.get("notify", []):
                if n.get("group") is not None:
                    note += f"\n  {n['name']}: wants group {n['group']} ({n['group_name']})"
            table.add_row(
                str(e["frame"]),
                f"{e['t']:.3f}",
                e["direction"],
                str(e["exchange"]),
                str(e["message_id"]),
                e["kind"],
                note,
                str(e["icv"] or ""),
            )
        console.print(table)
        for m in (msgs.get(f) for f in sa["messages"]):
            if not m:
                continue
            inner = [q for outer in m["payloads"] for q in outer.get("payloads") or []]
            for p in m["payloads"] + inner:
                if p.get("type") == "SA" and m.get("response") in (True, None):
                    for prop in p.get("proposals", [])[:1]:
                        console.print(f"  frame {m['frame']} SA: " + _proposal_text(prop))
                if p.get("type") in ("V", "VID"):
                    console.print(f"  frame {m['frame']} VID: {p.get('name') or p['data']}")
                if p.get("type") in ("IDi", "IDr", "ID"):
                    console.print(
                        f"  frame {m['frame']} {p['type']}: {p.get('id_type')} {p.get('value')}"
                    )
                if p.get("type") in ("TSi", "TSr"):
                    sel = ", ".join(
                        s.get("prefix") or f"{s.get('start')}-{s.get('end')}"
                        for s in p.get("selectors", [])
                    )
                    console.print(f"  frame {m['frame']} {p['type']}: {sel}")


def _proposal_text(prop: dict[str, Any]) -> str:
    parts = []
    for t in prop.get("transforms", []):
        if "attributes" in t:
            a = t["attributes"]
            parts.append(" ".join(f"{k}={v}" for k, v in a.items() if not k.endswith("_name")))
        else:
            kl = f" keylen {t['keylen']}" if "keylen" in t else ""
            parts.append(f"{t['name']}{kl}")
    return f"#{prop.get('number')} {prop.get('protocol')}: " + ", ".join(parts)


def _fail(exc: IpsecctlError) -> None:
    print(f"error: {exc}", file=sys.stderr)
    raise typer.Exit(exc.exit_code)


def ike_command(
    capture: Path = typer.Argument(
        ...,
        help="pcap/pcapng capture, a printed capture saved from a device, or one raw IKE message",
    ),
    keys: Path | None = typer.Option(
        None,
        "--keys",
        help="IKE keys: Wireshark ikev2_decryption_table, tcpdump 'ikev2 I|R' "
        "secrets, or ipsecctl YAML (ikev2: [{spi_i, spi_r, sk_ei, sk_er, "
        "encryption, sk_ai, sk_ar, integrity}]; format and examples in "
        "docs/keys.md)",
    ),
    as_json: bool = typer.Option(False, "--json", help="one JSON document (schema ipsecctl/v1)"),
    capture_format: str | None = typer.Option(
        None,
        "--format",
        help="capture format (default: detected): auto, pcap, pcapng, "
        "ios-dump, ios-detailed, asa-dump, asa-detail, hex",
    ),
) -> None:
    """Decode IKEv1/IKEv2 in a capture: per IKE SA a timeline and a verdict.

    Exit 0 when no IKE SA failed (an IKE_AUTH that needs --keys to be judged is not a
    failure), 3 when one failed (no answer, proposal rejected, invalid KE, authentication
    failed, TS unacceptable, ...) or an ICV did not verify, 2 when the file is not a capture.
    """
    from ipsecctl.diag.ike.timeline import is_problem

    try:
        doc = analyse_capture(capture, keys, capture_format)
    except IpsecctlError as exc:
        _fail(exc)
        return
    for w in doc["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        _render(doc, stdout_console())
    bad = any(is_problem(sa["verdict"]) for sa in doc["ike_sas"]) or any(
        m.get("icv") == "bad" for m in doc["messages"]
    )
    raise typer.Exit(EXIT_PROBLEM if bad else EXIT_OK)


def probe_command(
    peer: str = typer.Argument(..., help="IP address of the IKE responder to probe"),
    ikev2: bool = typer.Option(False, "--ikev2", help="IKEv2 IKE_SA_INIT (default)"),
    ikev1: bool = typer.Option(False, "--ikev1", help="IKEv1 main mode"),
    aggressive: bool = typer.Option(False, "--aggressive", help="IKEv1 aggressive mode"),
    proposal: list[str] = typer.Option(
        [], "--proposal", "-p", help="strongSwan syntax, e.g. aes256-sha256-modp2048 (repeatable)"
    ),
    enumerate_: bool = typer.Option(
        False, "--enumerate", help="try a bounded list of common proposals"
    ),
    port: int = typer.Option(500, "--port", help="500, or 4500 (non-ESP marker)"),
    timeout: float = typer.Option(2.0, "--timeout", help="seconds to wait per try"),
    retries: int = typer.Option(2, "--retries", help="resends before 'no_response'"),
    identity: str = typer.Option("probe@ipsecctl", "--id", help="aggressive-mode identity"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document (schema ipsecctl/v1)"),
) -> None:
    """Send a real first IKE message to PEER and report what it accepts (never authenticates).

    Exit 0 accepted, 3 rejected or no response, 2 bad proposal syntax.
    """
    from ipsecctl.diag.ike import probe as P

    try:
        if ikev1 and ikev2:
            raise UsageError("--ikev1 and --ikev2 exclude each other", hint="pick one")
        if aggressive and not ikev1:
            raise UsageError("--aggressive is an IKEv1 mode", hint="add --ikev1")
        if port not in (500, 4500):
            raise UsageError(f"--port {port}: IKE uses 500 or 4500")
        version = 1 if ikev1 else 2
        opts = P.ProbeOptions(
            port=port, timeout=timeout, retries=retries, aggressive=aggressive, identity=identity
        )
        if enumerate_:
            doc = P.enumerate_peer(peer, version, opts, proposals=proposal or None)
            ok = any(r["result"] == "accepted" for r in doc["results"])
        else:
            doc = P.probe(peer, version, proposal or None, opts)
            ok = doc["result"] == "accepted"
    except IpsecctlError as exc:
        _fail(exc)
        return
    out = envelope("diag probe", **doc)
    if as_json:
        print(json.dumps(out, indent=2))
    else:
        _render_probe(out, stdout_console())
    raise typer.Exit(EXIT_OK if ok else EXIT_PROBLEM)


def _render_probe(doc: dict[str, Any], console: Console) -> None:
    rows = doc.get("results") or [doc]
    table = Table(
        title=f"IKE probe of {doc['peer']}:{doc['port']} (IKEv{doc['version']})",
        title_justify="left",
    )
    for col in ("proposal", "result", "chosen", "notify", "rtt ms"):
        table.add_column(col, overflow="fold")
    for r in rows:
        chosen = r.get("chosen") or {}
        extra = f" (wants group {r['wanted_group']})" if r.get("wanted_group") else ""
        table.add_row(
            " ".join(r.get("proposals") or []),
            r["result"] + extra,
            chosen.get("proposal", ""),
            ", ".join(n["name"] for n in r.get("notify", [])),
            "" if r.get("rtt_ms") is None else f"{r['rtt_ms']:.1f}",
        )
    console.print(table)
    for v in doc.get("vendor_ids") or []:
        console.print(f"  VID: {v.get('name') or v['data']}")


def register(diag_app: typer.Typer) -> None:
    """Add ``ike`` and ``probe`` to the ``ipsecctl diag`` group."""
    diag_app.command("ike")(ike_command)
    diag_app.command("probe")(probe_command)


def _standalone() -> typer.Typer:
    app = typer.Typer(add_completion=False)
    app.command("ike")(ike_command)
    app.command("probe")(probe_command)
    return app


if __name__ == "__main__":  # `python -m ipsecctl.cli.diag_ike ike CAPTURE` (benchmarks)
    _standalone()()
