"""Peak memory and CPU of reading a hostile device's 100 MB output.

Starts the IOS-like test SSH server (tests/transport/ios_server.py) on 127.0.0.51 with one
poll command (``show crypto isakmp sa``) answering 100 MB, with or without newlines, then:

* ``status``: runs the real ``python -m ipsecctl status`` against it (default output limit,
  generous timeouts) and reports the child's peak RSS, CPU time and its error line;
* ``transport``: in a child process, one ``SshSession.send`` of the whole 100 MB with the
  limit raised to 200 MB (the transport's own cost of a complete 100 MB output).

Peak RSS is the child's ``ru_maxrss`` from ``wait4``; the server runs in this process and is
not counted. ``--checkout DIR`` runs another checkout of ipsecctl (e.g. an older commit) for a
before/after comparison.

Usage: ``python benchmarks/transport_memory.py`` (writes benchmarks/transport_memory_results.md;
``--no-write`` prints only). Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.transport.ios_server import IosServer  # noqa: E402

ADDR = "127.0.0.51"
COMMAND = "show crypto isakmp sa"
FLOOD = 100 * 1024 * 1024

TRANSPORT_CHILD = """
import sys
from pathlib import Path
from ipsecctl.platforms import get_platform
from ipsecctl.transport import ConnectionParams, KnownHosts, Timeouts, open_session

address, port, known = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
params = ConnectionParams(
    name="flood", hostname=address, port=port, username="admin", password="cisco-pw-Zq9",
    enable_secret="en-secret-Xy7", use_agent=False, use_ssh_config=False, known_hosts=(known,),
    timeouts=Timeouts(connect=30, banner=30, auth=30, command=600, overall=1200),
    max_output=200 * 1024 * 1024,
)
ios = get_platform("cisco_ios")
with open_session(params, ios, known_hosts=KnownHosts([known], system=())) as s:
    out = s.send(sys.argv[4])
    print(f"received {len(out)} characters in {out.count(chr(10))} lines")
"""


def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, str]:
    """(peak RSS MiB, CPU s, wall s, output) of one child, via wait4."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True
        )
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0  # reaped by wait4
        wall = time.monotonic() - started
        out.seek(0)
        text = out.read().strip()
    cpu = usage.ru_utime + usage.ru_stime
    return usage.ru_maxrss / 1024, cpu, wall, text


def scenario_status(
    checkout: Path, kind: str, home: Path
) -> tuple[str, tuple[float, float, float, str]]:
    server = IosServer(address=ADDR, misbehave={COMMAND: kind})
    with server:
        inventory = home / f"inv-{kind}.yaml"
        inventory.write_text(
            "hosts:\n  flood:\n"
            f"    hostname: {server.address}\n    port: {server.port}\n"
            "    platform: cisco_ios\n    username: admin\n    password: cisco-pw-Zq9\n"
            "    enable_secret: en-secret-Xy7\n    use_agent: false\n"
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(checkout),
            "HOME": str(home),
            "IPSECCTL_STATE_DIR": str(home / "state"),
            "IPSECCTL_DATA_DIR": str(home / "data"),
            "IPSECCTL_COMMAND_TIMEOUT": "600",
            "IPSECCTL_DEVICE_TIMEOUT": "1200",
            "NO_COLOR": "1",
        }
        argv = [
            sys.executable,
            "-m",
            "ipsecctl",
            "-i",
            str(inventory),
            "--host-key-policy",
            "accept-new",
            "status",
        ]
        result = measure(argv, env, checkout)
    last = [line for line in result[3].splitlines() if line.startswith("error")]
    return (last[0] if last else result[3].splitlines()[-1] if result[3] else ""), result


def scenario_transport(
    checkout: Path, kind: str, home: Path
) -> tuple[str, tuple[float, float, float, str]]:
    server = IosServer(address=ADDR, misbehave={COMMAND: kind})
    with server:
        known = home / "known_hosts"
        key = server.host_key
        known.write_text(f"[{server.address}]:{server.port} {key.get_name()} {key.get_base64()}\n")
        env = {**os.environ, "PYTHONPATH": str(checkout), "HOME": str(home)}
        argv = [
            sys.executable,
            "-c",
            TRANSPORT_CHILD,
            server.address,
            str(server.port),
            str(known),
            COMMAND,
        ]
        result = measure(argv, env, checkout)
    return result[3].splitlines()[-1] if result[3] else "", result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--scenarios", nargs="*", default=["status", "transport"])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ipsecctl-bench-") as tmp:
        home = Path(tmp)
        for scenario in args.scenarios:
            run = scenario_status if scenario == "status" else scenario_transport
            for kind in ("flood", "flood-no-newline"):
                what, (rss, cpu, wall, _) = run(args.checkout, kind, home)
                newlines = "with newlines" if kind == "flood" else "no newline"
                row = f"| {scenario} | {newlines} | {rss:.0f} | {cpu:.1f} | {wall:.1f} | {what} |"
                print(row, flush=True)
                rows.append(row)
    if args.no_write:
        return
    command = "python benchmarks/transport_memory.py"
    if args.checkout != ROOT:
        command += f" --checkout {args.checkout}"
    text = (
        "# Transport memory: a device that prints 100 MB\n\n"
        f"`{command}`, 2 cores shared with other work, server and client on loopback.\n\n"
        "| run | 100 MB output | peak RSS (MiB) | CPU (s) | wall (s) | result |\n"
        "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
    (ROOT / "benchmarks" / "transport_memory_results.md").write_text(text)


if __name__ == "__main__":
    main()
