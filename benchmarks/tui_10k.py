"""Dashboard at 10,000 tunnels: keystrokes during a live refresh, memory, and our virtual
table against Textual's built-in DataTable.

Run: ``python benchmarks/tui_10k.py [--tunnels 10000] [--devices 50] [--live-only]``
(headless, ~2 min). First the dashboard as it runs (fleet, health rules in their thread,
each device's poll arriving on its own with 5% of its tunnels changed) while keys are
pressed: every keystroke's time to repaint, whether the cursor stayed on its tunnel, and the
process's resident memory. Then, for both tables on the same generated DeviceStates: first
paint, filter keystroke to repaint, a refresh with 5% of rows changed (in place), a full
rebuild. Results go to stdout as Markdown (copy into benchmarks/tui_results.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import textual
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from inventory import Host
from ipsecctl.models import DeviceState, IpsecSa, TrafficSelector, Tunnel
from ipsecctl.ops.fleet import Fleet
from ipsecctl.ops.setup import open_workflow
from ipsecctl.settings import Settings
from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.gc_policy import IdleCollector
from ipsecctl.tui.messages import DevicePolled
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
            tl.append(
                Tunnel(
                    device=name,
                    platform="cisco_iosxe",
                    peer=peer,
                    local_addr="127.0.0.1",
                    local_ts=TrafficSelector(prefix=f"172.{d % 16 + 16}.{i % 256}.0/24"),
                    remote_ts=TrafficSelector(prefix=f"10.{100 + n % 100}.{i % 256}.0/24"),
                    state="up" if n % 37 else "down",
                    ike_state="QM_IDLE",
                    ike_status="up",
                    uptime_s=rnd.randrange(10, 10**6),
                    counters={"pkts_encaps": pk, "pkts_decaps": pk + 7, "send_errors": 0},
                    sas=[
                        IpsecSa(
                            direction=dr,
                            spi=rnd.getrandbits(32),
                            transform=TRANSFORM,
                            remaining_s=3000,
                            remaining_kb=4_000_000,
                        )
                        for dr in ("in", "out")
                    ],
                ).with_identity()
            )
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
    """The benchmark feeds DeviceStates directly; nothing is polled over SSH."""

    pool = None

    def submit(self, host: Any, extra: Any = None) -> Any:
        raise RuntimeError("benchmark: no polling")

    def close(self, *, abandon: bool = False) -> None:
        return None


def make_ctx(states: list[DeviceState], tmp: Path) -> DashboardContext:
    """A dashboard over a fleet whose polls the benchmark delivers itself (as the poll
    threads do: accepted by the fleet, then posted to the app)."""
    hosts = [Host(name=s.device, hostname=s.device, platform="cisco_iosxe") for s in states]
    settings = Settings(audit_log=tmp / "audit.jsonl", actions_dir=tmp / "actions")
    fleet = Fleet(hosts, _NoCollector())  # type: ignore[arg-type]
    workflow = open_workflow(settings, read_only=True, source="dashboard")
    return DashboardContext(
        hosts=hosts, fleet=fleet, workflow=workflow, refresh=10**6, clock=lambda: T0
    )


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


async def bench_ours(states: list[DeviceState], tmp: Path) -> dict[str, float]:
    ctx = make_ctx(states, tmp)
    ctx.diagnose = False  # the table alone, as the DataTable column measures it
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


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class KeyClock:
    """Keystroke to repaint during a live refresh: from just before the key is sent to the
    moment the table has drawn the cursor line where the key put it (or, for a filter key,
    the first frame after the filter was applied). Poll results keep arriving meanwhile, so
    a key that waits behind them is counted with its wait."""

    def __init__(self, app: IpsecApp) -> None:
        self.app = app
        self.pending: str | None = None
        self.painted = 0.0
        self.last_start = 0.0
        table = app.table
        row_strip = table._row_strip
        render_line = table.render_line
        action_cursor = table.action_cursor
        set_filter = app.set_filter

        def wrapped_row(row: Any, index: int, base: Any) -> Any:
            strip = row_strip(row, index, base)
            if (
                self.pending == "cursor"
                and index == table._cursor_index
                and row.key == table.cursor_key
            ):
                self.painted, self.pending = time.perf_counter(), None
            return strip

        def wrapped_line(y: int) -> Any:
            strip = render_line(y)
            if self.pending == "filter-done":
                self.painted, self.pending = time.perf_counter(), None
            return strip

        def wrapped_cursor(delta: int) -> None:
            action_cursor(delta)
            self.pending = "cursor"

        def wrapped_filter(text: str) -> bool:
            ok = set_filter(text)
            self.pending = "filter-done"
            return ok

        table._row_strip = wrapped_row  # type: ignore[method-assign]
        table.render_line = wrapped_line  # type: ignore[method-assign]
        table.action_cursor = wrapped_cursor  # type: ignore[method-assign]
        app.set_filter = wrapped_filter  # type: ignore[method-assign]

    async def press(self, pilot: Any, key: str) -> float:
        self.painted = 0.0
        start = time.perf_counter()
        self.last_start = start
        await pilot.press(key)
        end = time.monotonic() + 5
        while not self.painted and time.monotonic() < end:
            await asyncio.sleep(0.002)
        return (self.painted or time.perf_counter()) - start


class GcPauses:
    """CPython's collections while the benchmark runs (measurement only)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self.spans: list[tuple[float, float]] = []  # (start, end) of full collections
        self._t = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            end = time.perf_counter()
            self.pauses.append((int(info["generation"]), end - self._t))
            if info["generation"] == 2:
                self.spans.append((self._t, end))

    def during(self, start: float, end: float) -> bool:
        return any(a < end and b > start for a, b in self.spans)

    def full(self) -> list[float]:
        return [p for g, p in self.pauses if g == 2]


async def bench_live(
    states: list[DeviceState],
    tmp: Path,
    rounds: int = 4,
    spread: float = 5.0,
    collector: IdleCollector | None = None,
) -> dict[str, Any]:
    """The dashboard as it runs: fleet, diagnosis (health rules over 10,000 tunnels in their
    thread) and 50 devices' polls arriving one by one, each with 5% of its tunnels changed,
    while the operator moves the cursor and types a filter."""
    res: dict[str, Any] = {"rss before (MB)": round(rss_mb(), 1)}
    ctx = make_ctx(states, tmp)
    app = IpsecApp(ctx, collector=collector)
    async with app.run_test(size=(200, 50)) as pilot:
        for st in states:
            ctx.fleet.accept(st, record=False)
            app.apply_state(st)
        t = time.perf_counter()
        app.run_diagnosis(wait=True)
        res["diagnosis of every tunnel (s)"] = round(time.perf_counter() - t, 2)
        await pilot.pause()
        res["rss loaded (MB)"] = round(rss_mb(), 1)
        middle = app.model.view[len(app.model.view) // 2]
        app.table.move_to_key(middle)
        await pilot.pause()
        clock = KeyClock(app)
        device = app.model.rows[middle].device
        delivered = threading.Event()

        def feeder() -> None:
            cur = states
            for n in range(1, rounds + 1):
                nxt = change_5pct(cur, n * 5)
                for st in nxt:
                    ctx.fleet.accept(st, record=False)  # as the poll thread does
                    app.post_message(DevicePolled(st.device, st))
                    time.sleep(spread / len(nxt))
                cur = nxt
            delivered.set()

        gcp = GcPauses()
        gc.callbacks.append(gcp)
        thread = threading.Thread(target=feeder, daemon=True)
        thread.start()
        cursor: list[float] = []
        typed: list[float] = []
        slow_in_gc = [0, 0]  # keys over 100 ms: (during a full collection, not)

        async def timed(key: str) -> float:
            took = await clock.press(pilot, key)
            if took > 0.1:
                slow_in_gc[0 if gcp.during(clock.last_start, clock.last_start + took) else 1] += 1
            return took

        moved_away = 0
        while not delivered.is_set():
            for key in ("j", "k"):
                cursor.append(await timed(key))
            if app.table.cursor_key != middle:
                moved_away += 1
            await pilot.press("slash")
            for ch in device:
                typed.append(await timed(ch))
            await pilot.press("escape")
            if app.table.cursor_key != middle:
                moved_away += 1
        thread.join()
        gc.callbacks.remove(gcp)
        await pilot.pause(0.5)
        res["keystrokes"] = len(cursor) + len(typed)
        res["cursor key, median / max (ms)"] = (
            f"{ms(statistics.median(cursor))} / {ms(max(cursor))}"
        )
        res["filter key, median / max (ms)"] = f"{ms(statistics.median(typed))} / {ms(max(typed))}"
        res["keys over 100 ms"] = sum(1 for x in cursor + typed if x > 0.1)
        res["of those, during a full garbage collection / not"] = (
            f"{slow_in_gc[0]} / {slow_in_gc[1]}"
        )
        res["cursor left its tunnel"] = moved_away
        full = gcp.full()
        res["full garbage collections, count / median / max (ms)"] = (
            f"{len(full)} / {ms(statistics.median(full)) if full else '-'} / "
            f"{ms(max(full)) if full else '-'}"
        )
        res["objects tracked by the collector"] = len(gc.get_objects())
        if collector is not None:
            res["objects frozen (out of the collector's walks)"] = gc.get_freeze_count()
            res["settlings (collect, then freeze)"] = collector.settled
        res["polls applied"] = sum(i.polls for i in app.infos.values()) or rounds * len(states)
        res["rss after refreshes (MB)"] = round(rss_mb(), 1)
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tunnels", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--live-only", action="store_true", help="skip the table comparison")
    parser.add_argument(
        "--collector",
        choices=("dashboard", "default"),
        default="dashboard",
        help="dashboard: the garbage collection `ipsecctl dashboard` runs with (the console "
        "script's settings and the dashboard's idle collector); default: CPython's",
    )
    args = parser.parse_args()
    collector = None
    if args.collector == "dashboard":
        from ipsecctl.cli.app import _tune_collector

        _tune_collector()
        collector = IdleCollector()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    with tempfile.TemporaryDirectory(prefix="ipsecctl-10k-") as tmp_name:
        tmp = Path(tmp_name)
        base = rss_mb()
        t = time.perf_counter()
        states = make_states(args.tunnels, args.devices)
        gen = time.perf_counter() - t
        live = asyncio.run(bench_live(states, tmp, collector=collector))
        ours = theirs = {}
        if not args.live_only:
            ours = asyncio.run(bench_ours(states, tmp))
            theirs = asyncio.run(bench_datatable(states))
    print(
        f"{args.tunnels} tunnels on {args.devices} devices (generated in {gen:.1f} s); "
        f"textual {textual.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU(s)\n"
    )
    print(
        "Live refresh (5% of the tunnels change per refresh, polls arriving one device at a "
        f"time, diagnosis on; garbage collection: {args.collector}):\n"
    )
    print("| measure | value |")
    print("|---|---:|")
    print(f"| process RSS before the states were built (MB) | {round(base, 1)} |")
    for k, v in live.items():
        print(f"| {k} | {v} |")
    if ours:
        print("\n| measure (ms) | TunnelTable (virtual, ipsecctl) | DataTable (built-in) |")
        print("|---|---:|---:|")
        for k in ours:
            print(f"| {k} | {ours[k]} | {theirs.get(k, '-')} |")


if __name__ == "__main__":
    main()
