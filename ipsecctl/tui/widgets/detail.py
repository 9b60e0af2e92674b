"""Detail pane: everything about the tunnel under the cursor (IKE SA, both SAs, counters)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ipsecctl.models import COUNTER_NAMES, IkeSa, IpsecSa, Tunnel
from ipsecctl.ops.formatting import fmt_dh

# IOS defaults, used as the bar's full length when the device does not say the lifetime
DEFAULT_LIFETIME_S = 3600
DEFAULT_LIFETIME_KB = 4_608_000


def _bar(remaining: int | None, total: int | None, unit: str) -> RenderableType:
    if remaining is None:
        return Text("-")
    full = max(total or 0, remaining, 1)
    grid = Table.grid(padding=(0, 1))
    grid.add_row(ProgressBar(total=full, completed=remaining, width=8),
                 Text(f"{remaining} {unit}"))
    return grid


def _sa_table(sas: list[IpsecSa]) -> RenderableType:
    table = Table(box=None, pad_edge=False, expand=False, header_style="bold")
    for name in ("dir", "proto", "SPI", "mode", "NAT-T", "life s", "life kB"):
        table.add_column(name, no_wrap=True, min_width={"SPI": 10, "mode": 9}.get(name, len(name)))
    table.add_column("transform", no_wrap=True, overflow="ellipsis")
    for sa in sorted(sas, key=lambda s: (s.direction != "in", s.protocol)):
        table.add_row(
            sa.direction, sa.protocol, f"0x{sa.spi:08X}",
            sa.mode or "-", "yes" if sa.udp_encap else "no",
            _bar(sa.remaining_s, sa.extra.get("lifetime_s") or DEFAULT_LIFETIME_S, "s"),
            _bar(sa.remaining_kb, sa.extra.get("lifetime_kb") or DEFAULT_LIFETIME_KB, "kB"),
            sa.transform or "-",
        )
    return table


def _ike_text(ike: IkeSa | None, tunnel: Tunnel) -> Text:
    if ike is None:
        return Text(f"IKE: {tunnel.ike_state or 'no IKE SA'}", style="dim")
    parts = [
        f"IKEv{ike.version or '?'} {ike.state or '-'} ({ike.status})",
        f"{ike.src or ike.local or '-'} -> {ike.dst or ike.remote or '-'}",
    ]
    algs = [a for a in (ike.encryption, ike.integrity, ike.prf) if a]
    if ike.dh_group:
        algs.append(fmt_dh(ike.dh_group))
    if algs:
        parts.append("/".join(algs))
    if ike.auth:
        parts.append(f"auth {ike.auth}")
    if ike.remaining_s is not None:
        parts.append(f"life {ike.remaining_s}s")
    if ike.conn_id is not None:
        parts.append(f"conn {ike.conn_id}")
    if ike.nat_t:
        parts.append("NAT-T")
    return Text("IKE: " + "  ".join(parts))


def render_tunnel(tunnel: Tunnel, ike: IkeSa | None) -> RenderableType:
    head = Text()
    head.append(f"{tunnel.device} ", style="bold")
    head.append(f"-> {tunnel.peer or '?'}  ")
    head.append(tunnel.state, style={"up": "green", "down": "bold red"}.get(tunnel.state, "yellow"))
    head.append(f"  {tunnel.kind}")
    if tunnel.interface:
        head.append(f" {tunnel.interface}")
    if tunnel.crypto_map:
        head.append(f" map {tunnel.crypto_map} {tunnel.map_seq or ''}")
    if tunnel.vrf:
        head.append(f" vrf {tunnel.vrf}")
    sel = Text(f"local {tunnel.local_ts or '-'}  remote {tunnel.remote_ts or '-'}"
               f"  pfs {_pfs(tunnel)}  id {tunnel.id}", style="dim")
    counters = Table.grid(padding=(0, 2))
    names = list(COUNTER_NAMES) + sorted(k for k in tunnel.counters if k not in COUNTER_NAMES)
    cells = [f"{n} {tunnel.counters[n]}" for n in names if n in tunnel.counters]
    for i in range(0, len(cells), 3):
        counters.add_row(*cells[i:i + 3])
    parts: list[Any] = [head, sel, _ike_text(ike, tunnel)]
    parts.append(_sa_table(tunnel.sas) if tunnel.sas else Text("no IPsec SA", style="dim"))
    parts.append(counters)
    return Group(*parts)


def render_device(name: str, platform: str, reachable: bool | None, error: str,
                  summary: str) -> RenderableType:
    """A device selected in the fleet pane: the full error text, wrapped, since the fleet's
    ERROR column can only show its start."""
    head = Text()
    head.append(f"{name} ", style="bold")
    head.append(f"({platform})  ")
    reach = {None: ("not polled yet", "dim"), True: ("reachable", "green"),
             False: ("unreachable", "bold red")}[reachable]
    head.append(*reach)
    parts: list[Any] = [head, Text(summary, style="dim")]
    if error:
        parts.append(Text(error, style="red"))
    parts.append(Text("enter: show only this device's tunnels (again: all)", style="dim"))
    return Group(*parts)


class DetailPane(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("select a tunnel", id=id)
        self.tunnel_id: str | None = None
        self.device_name: str | None = None  # set while it shows a device, not a tunnel

    def show(self, tunnel: Tunnel | None, ike: IkeSa | None, device_error: str = "") -> None:
        self.tunnel_id = tunnel.id if tunnel else None
        self.device_name = None
        if tunnel is None:
            self.update("select a tunnel")
            return
        body = render_tunnel(tunnel, ike)
        if device_error:
            note = Text(f"{tunnel.device}: {device_error}", style="red")
            body = Group(note, body)
        self.update(body)

    def show_device(self, name: str, platform: str, reachable: bool | None, error: str,
                    summary: str) -> None:
        self.tunnel_id = None
        self.device_name = name
        self.update(render_device(name, platform, reachable, error, summary))


def _pfs(tunnel: Tunnel) -> str:
    """PFS as operators read it: the group when used, ``no`` when not, ``-`` when unknown."""
    if tunnel.pfs is None:
        return "-"
    if not tunnel.pfs:
        return "no"
    return fmt_dh(tunnel.dh_group) if tunnel.dh_group else "yes"
