"""The documents scripts read (JSON envelopes, CSV rows), built once for every front end.

``ipsecctl tunnels --json`` and the dashboard's export of the same tunnels are the same
document; CSV columns are the JSON fields flattened (SPIs as integers separated by spaces,
durations in seconds, booleans ``true``/``false``, null as empty).

Documents hold the models themselves; :func:`ipsecctl.models.to_json` writes them (orjson, the
shape of ``model_dump(mode="json")``), so 10,000 tunnels are never copied into a dict tree
first. JSON is UTF-8, two-space indented.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipsecctl import errors, models
from ipsecctl.models import DeviceState, IkeSa, Tunnel, envelope
from ipsecctl.ops.formatting import fmt_ts

if TYPE_CHECKING:
    from ipsecctl.diag.mtu import MtuResult

STATUS_HEADER = (
    "device",
    "platform",
    "reachable",
    "ike_up",
    "ike_total",
    "tunnels_up",
    "tunnels_total",
    "errors",
)
TUNNEL_HEADER = (
    "device",
    "peer",
    "vrf",
    "local_ts",
    "remote_ts",
    "ike_state",
    "state",
    "spi_in",
    "spi_out",
    "pkts_in",
    "pkts_out",
    "errors",
    "uptime_s",
    "expected_up",
    "id",
)
IKE_HEADER = (
    "device",
    "version",
    "local",
    "remote",
    "src",
    "dst",
    "state",
    "status",
    "conn_id",
    "encryption",
    "integrity",
    "dh_group",
    "auth",
    "remaining_s",
)


def csv_value(value: Any) -> Any:
    """CSV speaks like the JSON: ``true``/``false``, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_value(v) for v in row])
    return buf.getvalue()


def tunnel_figures(tunnel: Tunnel) -> dict[str, Any] | None:
    """What a document adds to a tunnel: its MTU figures (``diag mtu``'s formula fed from its
    outbound SA) as ``extra.mtu``, computed as the document is written, never per poll; None
    without an SA or with a transform the formula does not know."""
    if "mtu" in tunnel.extra:
        return None
    from ipsecctl.diag.mtu import for_tunnel

    result = for_tunnel(tunnel)
    return None if result is None else _mtu_figures(result)


@functools.lru_cache(maxsize=1024)
def _mtu_figures(result: MtuResult) -> dict[str, Any]:
    """The figures of one result, built once: a hub's tunnels share a few (the result
    itself is cached by the formula). Shared between tunnels, so read-only: documents
    copy it into each tunnel's ``extra`` as they write it."""
    return {"mtu": result.summary()}


def to_json_bytes(doc: dict[str, Any], *, indent: bool = True) -> bytes:
    """The document as UTF-8 JSON and a final newline (models in it written as their JSON,
    tunnels with their derived figures)."""
    return models.to_json(doc, indent=indent, derive=tunnel_figures) + b"\n"


def to_json(doc: dict[str, Any], *, indent: bool = True) -> str:
    return to_json_bytes(doc, indent=indent).decode()


# -- documents -------------------------------------------------------------------------------
def status_doc(states: Sequence[DeviceState]) -> dict[str, Any]:
    return envelope("status", devices=[s.summary() for s in states])


def tunnels_doc(
    states: Sequence[DeviceState], tunnels: Iterable[Tunnel] | None = None
) -> dict[str, Any]:
    """``tunnels``: the given tunnels (default: all of ``states``), and every device's
    summary so a failed device is visible in the same document."""
    chosen = tunnels if tunnels is not None else (t for s in states for t in s.tunnels)
    return envelope("tunnels", tunnels=list(chosen), devices=[s.summary() for s in states])


def ike_doc(states: Sequence[DeviceState]) -> dict[str, Any]:
    return envelope(
        "ike",
        ike_sas=[sa for s in states for sa in s.ike_sas],
        devices=[s.summary() for s in states],
    )


def show_doc(states: Sequence[DeviceState], *, raw: bool = False) -> dict[str, Any]:
    devices: list[Any] = [
        s if raw or s.raw is None else s.model_copy(update={"raw": None}) for s in states
    ]
    return envelope("show", devices=devices)


# -- CSV rows ----------------------------------------------------------------------------------
def status_rows(states: Sequence[DeviceState]) -> list[list[Any]]:
    rows = []
    for s in states:
        summary = s.summary()
        err = "; ".join(e["message"] for e in summary["errors"])
        rows.append([summary[k] if k != "errors" else err for k in STATUS_HEADER])
    return rows


def tunnel_row(t: Tunnel) -> list[Any]:
    return [
        t.device,
        t.peer,
        t.vrf,
        fmt_ts(t, "local"),
        fmt_ts(t, "remote"),
        t.ike_state,
        t.state,
        " ".join(map(str, t.spis("in"))),
        " ".join(map(str, t.spis("out"))),
        t.pkts_in,
        t.pkts_out,
        t.error_count,
        t.uptime_s,
        t.expected_up,
        t.id,
    ]


def tunnel_rows(tunnels: Iterable[Tunnel]) -> list[list[Any]]:
    return [tunnel_row(t) for t in tunnels]


def ike_row(sa: IkeSa) -> list[Any]:
    return [getattr(sa, k) for k in IKE_HEADER]


# -- files -----------------------------------------------------------------------------------
def write_private(path: Path, text: str) -> None:
    """Write an export 0600 (peers, SPIs and counters are nobody else's business); a folder
    ipsecctl creates for it is 0700."""
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(text)
    except OSError as exc:
        raise errors.InputFileError(
            f"cannot write export file {path}: {exc.strerror or exc}; choose another path"
        ) from None


def export_tunnels(path: Path, states: Sequence[DeviceState], tunnels: Sequence[Tunnel]) -> str:
    """The ``tunnels`` document as JSON when ``path`` ends in .json, else its CSV; returns
    the format written."""
    if path.suffix.lower() == ".json":
        write_private(path, to_json(tunnels_doc(states, tunnels)))
        return "JSON"
    write_private(path, csv_text(TUNNEL_HEADER, tunnel_rows(tunnels)))
    return "CSV"
