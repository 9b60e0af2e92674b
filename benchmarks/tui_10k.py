"""Dashboard at 10,000 tunnels: our virtual table vs Textual's built-in DataTable.

Run: ``python benchmarks/tui_10k.py [--tunnels 10000] [--devices 50]`` (headless, ~1 min).
Measures, for both tables, in the same process on the same generated DeviceStates:
time to first paint, filter keystroke to repaint, a refresh with 5% of rows changed (in
place), and a full rebuild. Results go to stdout as a Markdown table (copy into
benchmarks/tui_results.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import textual
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from ipsecctl.models import DeviceState, IpsecSa, TrafficSelector, Tunnel
from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.state import TunnelModel, columns

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TRANSFORM = "esp-aes esp-sha-hmac"
FILTER = "rtr-01"  # typed one key at a time: 10,000 -> 2,000 -> ... -> 2,000 rows


def make_states(tunnels: int, devices: int, seed: int = 1) -> list[DeviceState]:
    rnd = random.Random(seed)
    per = tunnels // devices
    states = []
    for d in range(devices):
        name = f"rtr-{d:03d}"
        tl = []
        for i in range(per):
            n = d * per + i
            peer = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
            pk = rnd.randrange(1, 10**6)
            tl.append(Tunnel(
                device=name, platform="cisco_iosxe", peer=peer, local_addr="127.0.0.1",
                local_ts=TrafficSelector(prefix=f"172.{d % 16 + 16}.{i % 256}.0/24"),
                remote_ts=TrafficSelector(prefix=f"10.{100 + n % 100}.{i % 256}.0/24"),
                state="up" if n % 37 else "down", ike_state="QM_IDLE", ike_status="up",
                uptime_s=rnd.randrange(10, 10**6),
                counters={"pkts_encaps": pk, "pkts_decaps": pk + 7, "send_errors": 0},
                sas=[IpsecSa(direction=dr, spi=rnd.getrandbits(32), transform=TRANSFORM,
                             remaining_s=3000, remaining_kb=4_000_000) for dr in ("in", "out")],
            ).with_identity())
        states.append(DeviceState(device=name, platform="cisco_iosxe", polled_at=T0, tunnels=tl))
    return states


def change_5pct(states: list[DeviceState], seconds: int, seed: int = 2) -> list[DeviceState]:
    """Next poll: 5% of the tunnels got new counters; the rest is identical."""
    rnd = random.Random(seed + seconds)
    out = []
    for st in states:
        new = st.model_copy(update={"polled_at": T0 + timedelta(seconds=seconds)})
        tl = []
        for t in st.tunnels:
            if rnd.random() < 0.05:
                c = dict(t.counters)
                c["pkts_encaps"] += rnd.randrange(1, 1000)
                c["pkts_decaps"] += rnd.randrange(1, 1000)
                t = t.model_copy(update={"counters": c})
            tl.append(t)
        new.tunnels = tl
        out.append(new)
    return out


class _NoCollector:
    """The benchmark feeds DeviceStates directly; nothing is polled."""

    def submit(self, host: Any) -> Any:
        raise RuntimeError("benchmark: no polling")

    def close(self) -> None:
        return None


class _Host:
    def __init__(self, name: str) -> None:
        self.name, self.platform = name, "cisco_iosxe"


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


class PaintClock:
    """Time of the last line the table painted: "keystroke to repaint" is measured to the
    moment the table finished drawing the new frame, not to when Pilot's idle waits end
    (those add a fixed ~60 ms that no user sees)."""

    def __init__(self, widget: Any) -> None:
        self.last = 0.0
        original = widget.render_line

        def render_line(y: int) -> Any:
            strip = original(y)
            self.last = time.perf_counter()
            return strip

        widget.render_line = render_line

    async def measure(self, pilot: Any, action: Any) -> float:
        start = time.perf_counter()
        self.last = 0.0
        result = action()
        if asyncio.iscoroutine(result):
            await result
        await pilot.pause()
        return (self.last or time.perf_counter()) - start


async def bench_ours(states: list[DeviceState]) -> dict[str, float]:
    ctx = DashboardContext(hosts=[_Host(s.device) for s in states], collector=_NoCollector(),
                           refresh=10**6, evaluate=None)
    app = IpsecApp(ctx)
    res: dict[str, float] = {}
    async with app.run_test(size=(200, 50)) as pilot:
        clock = PaintClock(app.table)

        def load() -> None:
            for st in states:
                app.apply_state(st)

        res["first paint"] = ms(await clock.measure(pilot, load))
        assert len(app.model.view) == sum(len(s.tunnels) for s in states)
        await pilot.press("slash")
        samples = []
        for ch in FILTER:
            samples.append(await clock.measure(pilot, lambda ch=ch: pilot.press(ch)))
        assert 0 < len(app.model.view) < len(app.model.rows)
        res["filter keystroke (median)"] = ms(statistics.median(samples))
        res["filter keystroke (max)"] = ms(max(samples))
        await pilot.press("escape")
        await pilot.press("down", "down", "down")
        key = app.table.cursor_key
        samples = []
        for n in range(1, 4):
            nxt = change_5pct(states, n * 5)

            def refresh(nxt: list[DeviceState] = nxt) -> None:
                for st in nxt:
                    app.apply_state(st)

            samples.append(await clock.measure(pilot, refresh))
            states = nxt
        assert app.table.cursor_key == key, "cursor moved on refresh"
        res["refresh 5% changed, in place (median)"] = ms(statistics.median(samples))

        def rebuild() -> None:
            app.model = TunnelModel()
            app.table.model = app.model
            for st in states:
                app.model.apply(st)
            app.table.refresh_view()

        res["full rebuild"] = ms(await clock.measure(pilot, rebuild))
    return res


class DataTableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(id="t")


async def bench_datatable(states: list[DeviceState]) -> dict[str, float]:
    """The built-in DataTable fed by the same model (rows keyed by Tunnel.id)."""
    model = TunnelModel()
    for st in states:
        model.apply(st)
    cols = columns(False)
    app = DataTableApp()
    res: dict[str, float] = {}
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.query_one(DataTable)

        def fill(keys: list[str]) -> None:
            table.add_rows([model.rows[k].cells[c.key] for c in cols] for k in keys)

        clock = PaintClock(table)

        def load() -> None:
            for c in cols:
                table.add_column(c.title, key=c.key)
            for k in model.view:
                table.add_row(*[model.rows[k].cells[c.key] for c in cols], key=k)

        res["first paint"] = ms(await clock.measure(pilot, load))
        samples = []
        text = ""
        for ch in FILTER:  # DataTable has no filter: clear and re-add the matching rows
            text += ch

            def refilter(text: str = text) -> None:
                model.set_filter(text)
                table.clear()
                for k in model.view:
                    table.add_row(*[model.rows[k].cells[c.key] for c in cols], key=k)

            samples.append(await clock.measure(pilot, refilter))
        res["filter keystroke (median)"] = ms(statistics.median(samples))
        res["filter keystroke (max)"] = ms(max(samples))
        model.set_filter("")
        table.clear()
        for k in model.view:
            table.add_row(*[model.rows[k].cells[c.key] for c in cols], key=k)
        await pilot.pause()
        samples = []
        for n in range(1, 4):
            nxt = change_5pct(states, n * 5)

            def refresh(nxt: list[DeviceState] = nxt) -> None:
                for st in nxt:
                    before = {k: model.rows[k].cells for k in model.by_device.get(st.device, ())}
                    r = model.apply(st)
                    for k in r.updated:  # update_cell only the cells that changed
                        cells = model.rows[k].cells
                        for c, value in cells.items():
                            if before[k].get(c) != value and c in table.columns:
                                table.update_cell(k, c, value)

            samples.append(await clock.measure(pilot, refresh))
            states = nxt
        res["refresh 5% changed, in place (median)"] = ms(statistics.median(samples))

        def rebuild() -> None:
            table.clear()
            fill(model.view)

        res["full rebuild"] = ms(await clock.measure(pilot, rebuild))
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tunnels", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    t = time.perf_counter()
    states = make_states(args.tunnels, args.devices)
    gen = time.perf_counter() - t
    ours = asyncio.run(bench_ours(states))
    theirs = asyncio.run(bench_datatable(states))
    print(f"{args.tunnels} tunnels on {args.devices} devices (generated in {gen:.1f} s); "
          f"textual {textual.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPU(s)\n")
    print("| measure (ms) | TunnelTable (virtual, ipsecctl) | DataTable (built-in) |")
    print("|---|---:|---:|")
    for k in ours:
        print(f"| {k} | {ours[k]} | {theirs.get(k, '-')} |")


if __name__ == "__main__":
    main()
