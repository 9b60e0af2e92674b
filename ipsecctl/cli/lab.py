"""``ipsecctl lab up|status|list|down``: thin wrappers over :mod:`ipsecctl.lab`.

``up`` prints the inventory path as its last stdout line so scripts can do
``INV=$(ipsecctl lab up | tail -1)``; human chatter goes to stderr. A lab started anywhere is
recorded in the user's state directory, so later commands find it without options; with
several running, ``--lab D`` (or ``IPSECCTL_LAB=D``) picks one.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from ipsecctl.errors import UsageError
from ipsecctl.lab import Lab, LabError, clean_stale, find_lab, list_labs, start_lab
from ipsecctl.lab.manage import default_dir

app = typer.Typer(no_args_is_help=True, help="The embedded lab of simulated devices.")

DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        "--lab",
        help="Lab directory (default: the user state dir's "
        "ipsecctl/lab, or the running lab this machine knows of).",
        show_default=False,
    ),
]


def _err(text: str) -> None:
    print(text, file=sys.stderr)


@app.command("up")
def up(
    devices: Annotated[int, typer.Option("--devices", "-n", help="Number of devices.")] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Fleet seed (same seed, same lab).")] = 1,
    dir: DirOpt = None,
    time_scale: Annotated[
        float, typer.Option("--time-scale", help="Simulated seconds per real second.")
    ] = 1.0,
    port: Annotated[
        int | None, typer.Option("--port", help="SSH port (default 2222, else a free one).")
    ] = None,
    asa: Annotated[
        int | None,
        typer.Option(
            "--asa", help="How many devices are ASAs (default: a third from 6 devices up)."
        ),
    ] = None,
    real: Annotated[
        bool,
        typer.Option(
            "--real",
            help="Add real strongSwan and libreswan gateways in "
            "network namespaces (needs root and the packages).",
        ),
    ] = False,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Run in this process until Ctrl-C.")
    ] = False,
    reuse: Annotated[
        bool, typer.Option("--reuse", help="If a lab is already running there, use it.")
    ] = False,
) -> None:
    """Start the lab; the last stdout line is the inventory path."""
    if devices < 1 or devices > 2000:
        raise UsageError(f"--devices {devices}: choose between 1 and 2000 routers")
    if time_scale <= 0:
        raise UsageError(f"--time-scale {time_scale}: must be a positive number")
    d = dir.expanduser().resolve() if dir is not None else default_dir()
    existing = find_lab(d)
    if existing is not None and existing.running:
        if reuse:
            _err(f"lab already running in {d} (pid {existing.pid}); reusing it")
            print(existing.inventory_path)
            return
        raise LabError(
            f"a lab is already running in {d} (pid {existing.pid})",
            hint="use --reuse, or stop it with 'ipsecctl lab down'",
        )
    for stale in clean_stale():
        _err(f"removed the stale lab in {stale} (its process was gone)")
    if foreground:
        if real:
            raise UsageError("--real runs in the background lab only", hint="drop --foreground")
        lab = Lab(d, devices, seed, time_scale, port, asa).start()
        _err(f"lab up: {len(lab.routers)} devices on port {lab.routers[0].port}; Ctrl-C stops")
        print(lab.inventory_path, flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        lab.stop()
        lab.remove_files()
        return
    handle = start_lab(
        d, devices=devices, seed=seed, time_scale=time_scale, port=port, real=real, asa=asa
    )
    broken = sum(1 for r in handle.routers if r.scenario != "healthy")
    asas = sum(1 for r in handle.routers if r.platform == "cisco_asa")
    _err(
        f"lab up: {len(handle.routers)} devices ({asas} ASA, {broken} with a broken "
        f"scenario), pid {handle.pid}, log {handle.log_path}"
    )
    if real:
        info = handle.real
        if info.get("missing"):
            _err("real gateways not started: missing " + ", ".join(info["missing"]))
        else:
            _err(
                "real gateways: " + ", ".join(info.get("gateways", [])) + f" (ESP: "
                f"{info.get('esp', '?')})"
            )
            for key in ("missing_libreswan", "error", "error_libreswan"):
                if info.get(key):
                    value = info[key]
                    _err(
                        f"{key.replace('_', ' ')}: "
                        + (", ".join(value) if isinstance(value, list) else str(value))
                    )
            if isinstance(info.get("libreswan"), dict) and info["libreswan"].get("esp"):
                _err("libreswan: " + str(info["libreswan"]["esp"]))
    print(handle.inventory_path)


@app.command("status")
def status(
    dir: DirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (ipsecctl/v1).")] = False,
) -> None:
    """Show the lab's devices and whether its process runs (exit 1 when there is no lab)."""
    handle = find_lab(dir)
    if handle is None:
        where = dir.expanduser().resolve() if dir is not None else default_dir()
        if as_json:
            print(
                json.dumps(
                    {
                        "schema": "ipsecctl/v1",
                        "kind": "lab status",
                        "dir": str(where),
                        "pid": None,
                        "running": False,
                        "routers": [],
                    }
                )
            )
        raise LabError(f"no lab in {where}", hint="start one with 'ipsecctl lab up'")
    if as_json:
        print(json.dumps(handle.status_json(), indent=2))
    else:
        state = "running" if handle.running else "NOT running (stale state; run 'lab down')"
        print(f"lab {handle.dir}: {state}, pid {handle.pid}, inventory {handle.inventory_path}")
        print(f"{'NAME':<8} {'ADDRESS':<15} {'PORT':>5}  {'PLATFORM':<12} SCENARIO")
        for r in handle.routers:
            print(f"{r.name:<8} {r.address:<15} {r.port:>5}  {r.platform:<12} {r.scenario}")
        if handle.real.get("missing"):
            print("real gateways not started: missing " + ", ".join(handle.real["missing"]))
    if not handle.running:
        raise typer.Exit(1)


@app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (ipsecctl/v1).")] = False,
) -> None:
    """Every lab this machine knows of, newest first (stale ones say so)."""
    labs = list_labs()
    if as_json:
        print(
            json.dumps(
                {
                    "schema": "ipsecctl/v1",
                    "kind": "lab list",
                    "labs": [
                        {
                            "dir": str(h.dir),
                            "pid": h.pid,
                            "running": h.running,
                            "devices": len(h.routers),
                            "inventory": str(h.inventory_path),
                        }
                        for h in labs
                    ],
                },
                indent=2,
            )
        )
        return
    if not labs:
        _err("no lab on this machine; start one with 'ipsecctl lab up'")
        return
    for h in labs:
        state = "running" if h.running else "stale"
        print(f"{h.dir}  {state:<7} pid {h.pid:<7} {len(h.routers)} devices")


@app.command("down")
def down(
    dir: DirOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Stop every lab of this machine.")] = False,
) -> None:
    """Stop the lab (its process, real gateways and files); stale labs are removed too."""
    if all_:
        for h in list_labs():
            h.stop()
            _err(f"lab in {h.dir} stopped")
        return
    handle = find_lab(dir)
    if handle is None:
        where = dir.expanduser().resolve() if dir is not None else default_dir()
        _err(f"no lab in {where}; nothing to stop")
    else:
        handle.stop()
        _err(f"lab in {handle.dir} stopped")
    for stale in clean_stale():
        _err(f"removed the stale lab in {stale} (its process was gone)")
