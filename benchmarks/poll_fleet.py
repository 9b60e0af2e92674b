"""Polling N lab routers: ipsecctl vs netmiko + ntc-templates, against the lab's own minimum.

For each fleet size the embedded lab is started (the default mix: IOS/IOS-XE and ASA), and
four clients poll it, each in a process of its own, one after the other:

* **bare paramiko** (the lab's minimum): one interactive shell per router, the same show
  commands ipsecctl runs on that platform, each read until the prompt; no parsing. Its wall
  time is one command round-trip per router and command, as fast as the lab answers;
* **ipsecctl**: the collector the dashboard and the CLI use (``Collector.poll`` over a
  ``SessionPool``): connect, prepare the session, run the platform's show commands, parse
  them into models;
* **ipsecctl --transport openssh**: the same collector over the OpenSSH transport: one
  ``ssh`` client process per router (a pty shell), read with ``poll`` by the workers;
* **netmiko + ntc-templates**: ``ConnectHandler`` per router with the netmiko device type of
  its platform (``cisco_ios`` for IOS/IOS-XE, ``cisco_asa`` for ASA), host keys checked
  against the lab's known_hosts, and what ntc-templates can parse: on IOS
  ``show crypto session detail`` then ``show crypto ipsec sa peer X detail`` per peer (its
  IPsec template fails on an interface with several peers; it has no isakmp template), on
  ASA ``show crypto ikev1 sa detail`` and ``show crypto ipsec sa``; ``use_textfsm=True``.

Every client uses the same number of threads. After the first poll (connect included) it
refreshes ``--refreshes`` times over its open sessions; each refresh is measured three ways:
wall time, the client's CPU time (all threads of its process, SSH crypto and reading
included, plus its child processes: the ssh clients of the openssh transport) and the lab
process's CPU time over the same interval (``/proc/PID/stat``), so that the
lab's work is not mistaken for the client's. Medians are reported.

Usage: ``python benchmarks/poll_fleet.py --sizes 50 200 --workers 16 --refreshes 5`` (writes
benchmarks/poll_results.md). Not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def _lab_cpu(pid: int) -> float:
    """CPU seconds the lab process has used so far (user + system, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _own_cpu() -> float:
    """CPU seconds of this process (all threads) and of its children that have ended
    (RUSAGE_CHILDREN); the running ones are :func:`_live_children_cpu`. A child that ends
    between two readings moves from that term to RUSAGE_CHILDREN."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def _live_children_cpu() -> float:
    """CPU seconds of this process's running children (the OpenSSH transport's ssh clients),
    from /proc/PID/task/TID/schedstat: nanoseconds on the CPU, exact where /proc/PID/stat
    counts 10 ms ticks."""
    me = os.getpid()
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != me:
                continue
            total += sum(
                int(Path(task.path, "schedstat").read_text().split()[0])
                for task in os.scandir(Path(entry.path, "task"))
            )
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total / 1e9


def _hosts(inventory_path: str) -> list[Any]:
    import inventory as inv

    return list(inv.load_inventory(Path(inventory_path)).select(["all"]))


# -- the three clients (each runs in a child process) ----------------------------------------
class Client:
    """connect() once, then refresh() over the open sessions; returns a record count."""

    def connect(self) -> int:
        raise NotImplementedError

    def refresh(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        return None


class Ipsecctl(Client):
    transport = "paramiko"

    def __init__(self, inventory_path: str, workers: int) -> None:
        from ipsecctl.collect import Collector
        from ipsecctl.sessions import SessionPool
        from ipsecctl.settings import load_settings

        self.hosts = _hosts(inventory_path)
        pool = SessionPool(load_settings(), host_key_policy="reject", transport=self.transport)
        self.collector = Collector(pool, workers=workers)

    def _poll(self) -> int:
        states = self.collector.poll(self.hosts)
        failed = [s.device for s in states if not s.reachable or any(e.fatal for e in s.errors)]
        if failed:
            print(f"ipsecctl: {len(failed)} device(s) failed: {failed[:3]}", file=sys.stderr)
        return sum(len(s.tunnels) + len(s.ike_sas) for s in states)

    connect = _poll
    refresh = _poll

    def close(self) -> None:
        self.collector.close()


class IpsecctlOpenSsh(Ipsecctl):
    """The same collector over the OpenSSH transport (an ssh process per router)."""

    transport = "openssh"


class Netmiko(Client):
    def __init__(self, inventory_path: str, workers: int) -> None:
        self.hosts = _hosts(inventory_path)
        self.pool = ThreadPoolExecutor(workers)
        self.conns: list[Any] = []

    def _connect_one(self, h: Any) -> Any:
        from netmiko import ConnectHandler

        # ssh_strict: netmiko's default would add unknown keys; the lab's known_hosts holds
        # every router's key, so host keys are checked as ipsecctl checks them
        return ConnectHandler(
            device_type="cisco_asa" if h.platform == "cisco_asa" else "cisco_ios",
            host=h.hostname,
            port=h.port,
            username=h.username,
            password=h.password.get() if h.password else None,
            secret=h.enable_secret.get() if h.enable_secret else "",
            fast_cli=True,
            ssh_strict=True,
            system_host_keys=False,
            alt_host_keys=True,
            alt_key_file=str(h.known_hosts[0]),
        )

    @staticmethod
    def _run(conn: Any) -> int:
        if not conn.check_enable_mode():
            conn.enable()
        if conn.device_type == "cisco_asa":
            ike = conn.send_command("show crypto ikev1 sa detail", use_textfsm=True)
            sas = conn.send_command("show crypto ipsec sa", use_textfsm=True)
            return sum(len(x) for x in (ike, sas) if isinstance(x, list))
        sessions = conn.send_command("show crypto session detail", use_textfsm=True)
        if not isinstance(sessions, list):
            return 0
        count = len(sessions)
        peers = sorted(
            {
                row.get("peer") or row.get("remote") or ""
                for row in sessions
                if isinstance(row, dict)
            }
            - {""}
        )
        for peer in peers:
            out = conn.send_command(f"show crypto ipsec sa peer {peer} detail", use_textfsm=True)
            count += len(out) if isinstance(out, list) else 0
        return count

    def connect(self) -> int:
        self.conns = list(self.pool.map(self._connect_one, self.hosts))
        return self.refresh()

    def refresh(self) -> int:
        return sum(self.pool.map(self._run, self.conns))

    def close(self) -> None:
        for conn in self.conns:
            conn.disconnect()
        self.pool.shutdown()


class BareParamiko(Client):
    """The lab's minimum: the same commands over persistent shells, read to the prompt."""

    def __init__(self, inventory_path: str, workers: int) -> None:
        from ipsecctl.platforms import get_platform

        self.hosts = _hosts(inventory_path)
        self.pool = ThreadPoolExecutor(workers)
        self.shells: list[tuple[Any, Any, list[str], re.Pattern[str]]] = []
        self.platforms = {h.platform: get_platform(h.platform) for h in self.hosts}

    def _connect_one(self, h: Any) -> tuple[Any, Any, list[str], re.Pattern[str]]:
        import paramiko

        plat = self.platforms[h.platform]
        client = paramiko.SSHClient()
        client.load_host_keys(str(h.known_hosts[0]))
        client.connect(
            h.hostname,
            port=h.port,
            username=h.username,
            password=h.password.get() if h.password else None,
            look_for_keys=False,
            allow_agent=False,
            timeout=30,
        )
        shell = client.invoke_shell(width=511, height=0)
        prompt = re.compile(plat.prompt)
        self._read(shell, prompt)
        if plat.enable is not None and h.enable_secret:
            shell.send("enable\n")
            self._read(shell, re.compile(plat.enable.password_prompt))
            shell.send(h.enable_secret.get() + "\n")
            self._read(shell, prompt)
        for command in plat.prepare:
            shell.send(command + "\n")
            self._read(shell, prompt)
        return client, shell, plat.commands(), prompt

    @staticmethod
    def _read(shell: Any, prompt: re.Pattern[str]) -> str:
        """Bytes until the last line is a prompt (what any shell client has to do)."""
        buf = b""
        while True:
            chunk = shell.recv(65536)
            if not chunk:
                raise EOFError("session closed")
            buf += chunk
            tail = buf[-256:].decode("utf-8", "replace").rsplit("\n", 1)[-1].strip("\r")
            if prompt.search(tail):
                return buf.decode("utf-8", "replace")

    def _run(self, item: tuple[Any, Any, list[str], re.Pattern[str]]) -> int:
        _client, shell, commands, prompt = item
        for command in commands:
            shell.send(command + "\n")
            self._read(shell, prompt)
        return len(commands)

    def connect(self) -> int:
        self.shells = list(self.pool.map(self._connect_one, self.hosts))
        return self.refresh()

    def refresh(self) -> int:
        return sum(self.pool.map(self._run, self.shells))

    def close(self) -> None:
        for client, *_ in self.shells:
            client.close()
        self.pool.shutdown()


CLIENTS: dict[str, Callable[[str, int], Client]] = {
    "bare paramiko (lab minimum)": BareParamiko,
    "ipsecctl": Ipsecctl,
    "ipsecctl --transport openssh": IpsecctlOpenSsh,
    "netmiko + ntc-templates": Netmiko,
}


def child(name: str, inventory_path: str, workers: int, refreshes: int, lab_pid: int) -> None:
    """One client, in this process: first poll, then the refreshes, as JSON on stdout."""
    client = CLIENTS[name](inventory_path, workers)

    def measured(step: Callable[[], int]) -> dict[str, float]:
        # the /proc scans for running children stay outside the measured interval: their
        # own cost is the benchmark's, not the client's
        children = _live_children_cpu()
        wall, cpu, lab = time.perf_counter(), _own_cpu(), _lab_cpu(lab_pid)
        records = step()
        cpu = _own_cpu() - cpu
        wall = time.perf_counter() - wall
        lab = _lab_cpu(lab_pid) - lab
        cpu += _live_children_cpu() - children
        return {"wall": wall, "cpu": cpu, "lab_cpu": lab, "records": records}

    try:
        first = measured(client.connect)
        runs = [measured(client.refresh) for _ in range(refreshes)]
    finally:
        client.close()
    print(json.dumps({"first": first, "refreshes": runs}))


def _ssh_client() -> str:
    """The OpenSSH client the openssh transport ran (the first ``ssh`` on PATH), as its
    ``-V`` names it: from 9.5 on it has keystroke-timing obfuscation, which ipsecctl turns
    off in its sessions."""
    import shutil

    path = shutil.which("ssh")
    if path is None:
        return "no OpenSSH client"
    said = subprocess.run([path, "-V"], capture_output=True, text=True, check=False).stderr
    return f"{said.strip().split(',')[0]} ({path})"


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--refreshes", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("poll_results.md"))
    ap.add_argument(
        "--clients",
        nargs="+",
        choices=list(CLIENTS),
        default=list(CLIENTS),
        metavar="NAME",
        help="only these clients (default: all four)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--inventory", help=argparse.SUPPRESS)
    ap.add_argument("--lab-pid", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.inventory, args.workers, args.refreshes, args.lab_pid)
        return

    from ipsecctl.lab import start_lab

    state = tempfile.mkdtemp(prefix="ipsecctl-bench-")
    env = {**os.environ, "IPSECCTL_STATE_DIR": state, "PYTHONPATH": str(ROOT)}
    rows: list[str] = []
    notes: list[str] = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            lab = start_lab(Path(tmp) / "lab", devices=size, seed=7)
            mix = {}
            for h in _hosts(str(lab.inventory_path)):
                mix[h.platform] = mix.get(h.platform, 0) + 1
            notes.append(
                f"- {size} routers: " + ", ".join(f"{n} {p}" for p, n in sorted(mix.items()))
            )
            results: dict[str, dict[str, Any]] = {}
            try:
                for name in args.clients:
                    proc = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--child",
                            name,
                            "--inventory",
                            str(lab.inventory_path),
                            "--workers",
                            str(args.workers),
                            "--refreshes",
                            str(args.refreshes),
                            "--lab-pid",
                            str(lab.pid),
                        ],
                        capture_output=True,
                        text=True,
                        env=env,
                        check=False,
                        timeout=1800,
                    )
                    if proc.returncode != 0:
                        err = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                        print(f"{size} {name}: failed: {err}", flush=True)
                        rows.append(f"| {size} | {name} | failed: {err} | | | | | | |")
                        continue
                    if proc.stderr.strip():
                        print(proc.stderr.strip()[-500:], file=sys.stderr)
                    results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            finally:
                lab.stop()
            floor = results.get("bare paramiko (lab minimum)")
            netmiko = results.get("netmiko + ntc-templates")
            for name, res in results.items():
                runs = res["refreshes"]
                wall, cpu, lab_cpu = (_median(runs, k) for k in ("wall", "cpu", "lab_cpu"))
                vs_floor = (
                    f"{wall / _median(floor['refreshes'], 'wall'):.2f}x"
                    if floor and name != "bare paramiko (lab minimum)"
                    else ""
                )
                vs_netmiko = (
                    f"{_median(netmiko['refreshes'], 'cpu') / cpu:.1f}x"
                    if netmiko and name.startswith("ipsecctl")
                    else ""
                )
                rows.append(
                    f"| {size} | {name} | {res['first']['wall']:.2f} | {res['first']['cpu']:.2f}"
                    f" | {wall:.2f} | {cpu:.2f} | {lab_cpu:.2f} | {vs_floor} | {vs_netmiko} |"
                    f" {runs[-1]['records']} |"
                )
                print(rows[-1], flush=True)
    lines = [
        "# Polling lab routers: ipsecctl vs netmiko + ntc-templates, and the lab's minimum",
        "",
        f"Run: `python benchmarks/poll_fleet.py --sizes {' '.join(map(str, args.sizes))} "
        f"--workers {args.workers} --refreshes {args.refreshes}` on "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} "
        f"CPUs, {time.strftime('%Y-%m-%d')}, {_ssh_client()}; the lab runs on the same "
        "machine (loopback). "
        f"Load average at the end: {os.getloadavg()[0]:.2f} (the machine is shared).",
        "",
        "Each client runs in its own process with the same thread count. *first poll*: "
        "connect, prepare and poll once; *refresh*: one more poll over the open sessions "
        f"(median of {args.refreshes}). *client CPU*: the client process's CPU seconds (all "
        "threads, SSH included) plus its child processes' (the openssh transport's ssh "
        "clients: /proc/PID/schedstat of the running ones, RUSAGE_CHILDREN of ended ones); "
        "*lab CPU*: the lab server's CPU seconds over the same "
        "interval. *wall vs lab minimum*: refresh wall time over the bare paramiko client's. "
        "*netmiko CPU ÷ this*: netmiko's refresh client CPU over this client's (how many "
        "times less CPU than netmiko it needs). *records*: what "
        "each client got back (ipsecctl: tunnels + IKE SAs; netmiko: TextFSM rows; bare: "
        "commands answered).",
        "",
        "| routers | client | first poll wall (s) | first poll client CPU (s) | refresh wall (s)"
        " | refresh client CPU (s) | refresh lab CPU (s) | wall vs lab minimum | "
        "netmiko CPU ÷ this | records |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Fleet mix (netmiko device type per platform: cisco_ios for IOS/IOS-XE, cisco_asa "
        "for ASA):",
        "",
        *notes,
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
