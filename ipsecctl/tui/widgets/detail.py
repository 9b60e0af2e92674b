"""A tunnel as the detail pane and the tunnel screen show it: IKE SA, both directions' SAs
labelled in and out, counters with rates.

Nothing here wraps an address or an SPI: tables are built with ``no_wrap`` and the transform
is the column that gives way (cut with an ellipsis; the tunnel screen has room for it whole).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ipsecctl.models import COUNTER_NAMES, IkeSa, IpsecSa, Tunnel
from ipsecctl.ops.formatting import fmt_dh, fmt_duration, fmt_rate, rate
from ipsecctl.tui.widgets.body import PaneBody

# IOS defaults, used as the bar's full length when the device does not say the lifetime
DEFAULT_LIFETIME_S = 3600
DEFAULT_LIFETIME_KB = 4_608_000
BAR_WIDTH = 10
STATE_STYLES = {"up": "green", "down": "bold red", "idle": "dim"}


def bar(remaining: int | None, total: int | None, unit: str, width: int = BAR_WIDTH) -> Text:
    """``━━━━━━╸─── 1794 s``: what is left of a lifetime, as a bar and a number."""
    if remaining is None:
        return Text("-")
    full = max(total or 0, remaining, 1)
    filled = remaining / full * width
    whole = int(filled)
    text = Text(no_wrap=True)
    ratio = remaining / full
    style = "green" if ratio > 0.25 else ("yellow" if ratio > 0.1 else "red")
    text.append("━" * whole, style=style)
    if whole < width:
        text.append(
            "╸" if filled - whole >= 0.5 else "─", style=style if filled - whole >= 0.5 else "dim"
        )
        text.append("─" * (width - whole - 1), style="dim")
    text.append(f" {remaining} {unit}")
    return text


def _life(sa: IpsecSa, key: str, default: int) -> int:
    value = sa.extra.get(key)
    return int(value) if isinstance(value, int) and value > 0 else default


def sa_table(
    sas: list[IpsecSa], *, bars: bool = False, compact: bool = False, bar_width: int = BAR_WIDTH
) -> Table:
    """One line per SA, inbound first: direction, SPI, remaining lifetimes (bars on the tunnel
    screen), protocol, mode, NAT-T and transform. Every column but the transform keeps its
    full width; the transform is cut with an ellipsis when the pane is narrow. ``compact``
    leaves out protocol, mode and NAT-T (the detail pane; the tunnel screen has them)."""
    rows = []
    for sa in sorted(sas, key=lambda s: (s.direction != "in", s.protocol, s.spi)):
        if bars:
            life_s: Any = bar(
                sa.remaining_s, _life(sa, "lifetime_s", DEFAULT_LIFETIME_S), "s", bar_width
            )
            life_kb: Any = bar(
                sa.remaining_kb, _life(sa, "lifetime_kb", DEFAULT_LIFETIME_KB), "kB", bar_width
            )
        else:
            life_s = Text("-" if sa.remaining_s is None else f"{sa.remaining_s}")
            life_kb = Text("-" if sa.remaining_kb is None else f"{sa.remaining_kb}")
        status = "" if sa.live else f" ({sa.status})"
        cells: list[Any] = [
            Text(sa.direction + status, style="bold" if sa.live else "dim"),
            Text(f"0x{sa.spi:08X}"),
            life_s,
            life_kb,
        ]
        if not compact:
            cells += [
                Text(sa.protocol),
                Text(sa.mode or "-"),
                Text("yes" if sa.udp_encap else "no"),
            ]
        cells.append(Text(sa.transform or "-"))
        rows.append(cells)
    names = ["dir", "SPI", "life s", "life kB"]
    if not compact:
        names += ["proto", "mode", "NAT-T"]
    names.append("transform")
    # one space between columns; the transform gives way: cut with an ellipsis in the detail
    # pane, wrapped at a space (never inside a word) on the tunnel screen
    table = Table(box=None, pad_edge=False, expand=False, header_style="bold", padding=(0, 1, 0, 0))
    for n, name in enumerate(names):
        if name == "transform":
            table.add_column(
                name, no_wrap=not bars, overflow="ellipsis" if not bars else "fold", min_width=9
            )
            continue
        widest = max([len(name), *(r[n].cell_len for r in rows)])
        table.add_column(
            name,
            no_wrap=True,
            min_width=widest,
            justify="right" if name.startswith("life") and not bars else "left",
        )
    for cells in rows:
        table.add_row(*cells)
    return table


def ike_text(ike: IkeSa | None, tunnel: Tunnel, *, wrap: bool = False) -> Text:
    text = Text(no_wrap=not wrap, overflow="ellipsis")
    text.append("IKE  ", style="bold")
    if ike is None:
        text.append(tunnel.ike_state or "no IKE SA", style="dim")
        return text
    text.append(f"IKEv{ike.version or '?'} {ike.state or '-'} ")
    text.append(f"({ike.status})", style=STATE_STYLES.get(ike.status, "yellow"))
    text.append(f"  {ike.src or ike.local or '-'} → {ike.dst or ike.remote or '-'}")
    algs = [a for a in (ike.encryption, ike.integrity, ike.prf) if a]
    if ike.dh_group:
        algs.append(fmt_dh(ike.dh_group))
    if algs:
        text.append("  " + "/".join(algs))
    if ike.auth:
        text.append(f"  {ike.auth}")
    if ike.remaining_s is not None:
        text.append(f"  life {ike.remaining_s} s")
    if ike.conn_id is not None:
        text.append(f"  conn {ike.conn_id}")
    if ike.nat_t:
        text.append("  NAT-T")
    return text


def head_text(tunnel: Tunnel, *, wrap: bool = False) -> Text:
    head = Text(no_wrap=not wrap, overflow="ellipsis")
    head.append(f"{tunnel.device} ", style="bold")
    head.append(f"→ {tunnel.peer or '?'}  ")
    head.append(tunnel.state, style=STATE_STYLES.get(tunnel.state, "yellow"))
    head.append(f"  {tunnel.kind}")
    if tunnel.interface:
        head.append(f" {tunnel.interface}")
    if tunnel.crypto_map:
        head.append(f" map {tunnel.crypto_map} {tunnel.map_seq or ''}".rstrip())
    if tunnel.vrf:
        head.append(f"  vrf {tunnel.vrf}", style="bold")
    return head


def selectors_text(tunnel: Tunnel, *, wrap: bool = False) -> Text:
    return Text(
        f"local {tunnel.local_ts or '-'}  remote {tunnel.remote_ts or '-'}  "
        f"pfs {pfs_text(tunnel)}  up {fmt_duration(tunnel.uptime_s)}  id {tunnel.id}",
        style="dim",
        no_wrap=not wrap,
        overflow="ellipsis",
    )


def counters_table(
    tunnel: Tunnel,
    previous: Tunnel | None = None,
    seconds: float = 0.0,
    *,
    columns: int = 3,
    compact: bool = False,
) -> Table:
    """Counters with their rate between the last two polls (``/s``), ``columns`` per line."""
    grid = Table.grid(padding=(0, 2))
    names: list[str]
    if compact:  # packets both ways and the errors that are not zero
        names = [n for n in ("pkts_encaps", "pkts_decaps") if n in tunnel.counters]
        names += [n for n, v in tunnel.counters.items() if v and ("error" in n or "fail" in n)]
    else:
        names = [n for n in COUNTER_NAMES if n in tunnel.counters]
        names += sorted(k for k in tunnel.counters if k not in COUNTER_NAMES)
    cells = []
    for name in names:
        value = tunnel.counters[name]
        text = Text(no_wrap=True)
        text.append(f"{name} ", style="dim")
        text.append(str(value))
        old = previous.counters.get(name) if previous is not None else None
        r = rate(old, value, seconds)
        if r is not None:
            bad = r > 0 and ("error" in name or "fail" in name)
            text.append(f" ({fmt_rate(r)}/s)", style="bold red" if bad else "dim")
        cells.append(text)
    for i in range(0, len(cells), columns):
        grid.add_row(*cells[i : i + columns])
    return grid


def render_tunnel(
    tunnel: Tunnel,
    ike: IkeSa | None,
    *,
    previous: Tunnel | None = None,
    seconds: float = 0.0,
    bars: bool = False,
    counters: int = 3,
    note: str = "",
    width: int = 200,
) -> RenderableType:
    """The detail pane's form (compact, one line per fact), or with ``bars`` the tunnel
    screen's (lines wrap at word boundaries, lifetimes as bars; below 110 columns the SA
    table leaves out protocol, mode and NAT-T so the transform keeps its room)."""
    parts: list[Any] = []
    if note:
        parts.append(Text(note, style="red"))
    parts += [
        head_text(tunnel, wrap=bars),
        selectors_text(tunnel, wrap=bars),
        ike_text(ike, tunnel, wrap=bars),
    ]
    narrow = width < 110
    parts.append(
        sa_table(
            tunnel.sas, bars=bars, compact=not bars or narrow, bar_width=5 if narrow else BAR_WIDTH
        )
        if tunnel.sas
        else Text("no IPsec SA", style="dim")
    )
    if counters:
        parts.append(counters_table(tunnel, previous, seconds, columns=counters, compact=not bars))
    return Group(*parts)


def render_device(
    name: str,
    platform: str,
    reachable: bool | None,
    error: str,
    summary: str,
    hint: str = "enter: device screen   space: mark",
) -> RenderableType:
    """A device selected in the fleet pane: the full error text, wrapped, since the fleet's
    ERROR column can only show its start."""
    head = Text()
    head.append(f"{name} ", style="bold")
    head.append(f"({platform})  ")
    reach = {
        None: ("not polled yet", "dim"),
        True: ("reachable", "green"),
        False: ("unreachable", "bold red"),
    }[reachable]
    head.append(*reach)
    parts: list[Any] = [head, Text(summary, style="dim")]
    if error:
        parts.append(Text(error, style="red"))
    if hint:
        parts.append(Text(hint, style="dim"))
    return Group(*parts)


def pfs_text(tunnel: Tunnel) -> str:
    """PFS as operators read it: the group when used, ``no`` when not, ``-`` when unknown."""
    if tunnel.pfs is None:
        return "-"
    if not tunnel.pfs:
        return "no"
    return fmt_dh(tunnel.dh_group) if tunnel.dh_group else "yes"


def seconds_between(a: datetime | None, b: datetime | None) -> float:
    if a is None or b is None:
        return 0.0
    return max(0.0, (b - a).total_seconds())


class DetailPane(VerticalScroll, can_focus=True):
    ALLOW_MAXIMIZE = True
    """The main screen's compact detail of the tunnel under the cursor (or the device under
    the fleet's cursor); Enter opens the full tunnel screen. Focusable, so it scrolls and
    zooms like every pane."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.tunnel_id: str | None = None
        self.device_name: str | None = None  # set while it shows a device, not a tunnel
        self.content: RenderableType = Text("select a tunnel")

    def compose(self) -> ComposeResult:
        yield PaneBody(self.content, id="detail-body")

    def _set(self, renderable: RenderableType) -> None:
        self.content = renderable
        if self.is_mounted:
            self.query_one("#detail-body", Static).update(renderable)

    def show(
        self,
        tunnel: Tunnel | None,
        ike: IkeSa | None,
        device_error: str = "",
        previous: Tunnel | None = None,
        seconds: float = 0.0,
    ) -> None:
        self.tunnel_id = tunnel.id if tunnel else None
        self.device_name = None
        if tunnel is None:
            self._set(Text("select a tunnel", style="dim"))
            return
        note = f"{tunnel.device}: {device_error}" if device_error else ""
        self._set(
            render_tunnel(tunnel, ike, previous=previous, seconds=seconds, note=note, counters=2)
        )

    def show_device(
        self, name: str, platform: str, reachable: bool | None, error: str, summary: str
    ) -> None:
        self.tunnel_id = None
        self.device_name = name
        self._set(render_device(name, platform, reachable, error, summary))
