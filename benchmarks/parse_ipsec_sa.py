"""Benchmark: the commands users run on a generated N-peer hub, as whole processes, against
Genie and ntc-templates doing the same on the same text, in one run.

* ``ipsecctl parse FILE -p cisco_ios -c "show crypto ipsec sa" --json`` (plain output) against
  Genie's ``ShowCryptoIpsecSa`` (and the detail output against Genie's detail parser and
  ntc-templates, the only form ntc-templates parses);
* ``ipsecctl --replay DIR tunnels --json``: a full poll of the hub saved with ipsecctl's own
  ``--save-raw`` recorder (``show crypto isakmp sa``, ``... detail``, ``show crypto ipsec sa``;
  the IKEv2 and session outputs empty), read back, assembled into tunnels, the fault rules
  run, the document written; against Genie parsing the same three saved outputs.

Every process writes its JSON document to stdout (ipsecctl's ``--json``; Genie's result dict
through ``json.dumps(..., indent=2)``, as a script would print it; ntc's rows likewise), sent
to /dev/null. The console script ``ipsecctl`` is the installed entry point.

Usage::

    python benchmarks/parse_ipsec_sa.py [--peers 1000 10000] [--repeat 3]

The generator follows the real IOS layout of ``ios/show_crypto_ipsec_sa_detail`` samples in
the corpus: one ``interface: TunnelN`` per peer, ~30 % NAT-T (port 4500, UDP-Encaps), ~4 %
idle idents (no SA), ~5 % in rekey overlap (2 in + 2 out SPIs). Plain and detail variants
describe the same SAs. Competitors that are not installed are reported as such, not skipped
silently.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_PLAIN_COUNTERS = """    #send errors 0, #recv errors 0
"""
_DETAIL_COUNTERS = """    #pkts no sa (send) 0, #pkts invalid sa (rcv) 0
    #pkts encaps failed (send) 0, #pkts decaps failed (rcv) 0
    #pkts invalid prot (recv) 0, #pkts verify failed: 0
    #pkts invalid identity (recv) 0, #pkts invalid len (rcv) 0
    #pkts replay rollover (send): 0, #pkts replay rollover (rcv) 0
    ##pkts replay failed (rcv): {replay}
    #pkts tagged (send): 0, #pkts untagged (rcv): 0
    #pkts not tagged (send): 0, #pkts not untagged (rcv): 0
    #pkts internal err (send): 0, #pkts internal err (recv) 0
"""


def _sa(spi: int, conn: int, nat: bool, tag: str, detail: bool) -> str:
    settings = "Transport UDP-Encaps" if nat else "Tunnel"
    replay = "  replay window size: 1024" if detail else ""
    return (
        f"      spi: 0x{spi:X}({spi})\n"
        "        transform: esp-256-aes esp-sha-hmac ,\n"
        f"        in use settings ={{{settings}, }}\n"
        f"        conn id: {conn}, flow_id: Onboard VPN:{conn}, sibling_flags 80000000,"
        f" crypto map: {tag}\n"
        f"        sa timing: remaining key lifetime (k/sec): ({4608000 - conn % 9999}/"
        f"{3600 - conn % 3000})\n"
        "        IV size: 16 bytes\n"
        f"        replay detection support: Y{replay}\n"
        "        Status: ACTIVE(ACTIVE)\n\n"
    )


def generate(peers: int, detail: bool) -> tuple[str, int]:
    """Return (text, number of ESP SAs) for an ``peers``-peer hub."""
    out: list[str] = []
    sas = 0
    for i in range(peers):
        peer = f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"
        tag = f"Tunnel{i}-head-0"
        nat = i % 10 < 3
        idle = i % 25 == 7
        rekey = i % 20 == 3
        n = 0 if idle else 2 if rekey else 1
        spis_in = [(i * 7919 + k * 104729 + 0x10000000) & 0xFFFFFFFF for k in range(n)]
        spis_out = [(i * 6151 + k * 130363 + 0x80000000) & 0xFFFFFFFF for k in range(n)]
        counters = _DETAIL_COUNTERS.format(replay=i % 3) if detail else _PLAIN_COUNTERS
        out.append(
            f"interface: Tunnel{i}\n"
            f"    Crypto map tag: {tag}, local addr 10.0.0.1\n\n"
            "   protected vrf: (none)\n"
            "   local  ident (addr/mask/prot/port): (10.0.0.1/255.255.255.255/47/0)\n"
            f"   remote ident (addr/mask/prot/port): ({peer}/255.255.255.255/47/0)\n"
            f"   current_peer {peer} port {4500 if nat else 500}\n"
            "     PERMIT, flags={origin_is_acl,}\n"
            f"    #pkts encaps: {i * 13}, #pkts encrypt: {i * 13}, #pkts digest: {i * 13}\n"
            f"    #pkts decaps: {i * 11}, #pkts decrypt: {i * 11}, #pkts verify: {i * 11}\n"
            "    #pkts compressed: 0, #pkts decompressed: 0\n"
            "    #pkts not compressed: 0, #pkts compr. failed: 0\n"
            "    #pkts not decompressed: 0, #pkts decompress failed: 0\n"
            f"{counters}\n"
            f"     local crypto endpt.: 10.0.0.1, remote crypto endpt.: {peer}\n"
            "     plaintext mtu 1438, path mtu 1500, ip mtu 1500, ip mtu idb GigabitEthernet1\n"
            f"     current outbound spi: 0x{spis_out[-1] if n else 0:X}"
            f"({spis_out[-1] if n else 0})\n"
            "     PFS (Y/N): N, DH group: none\n\n"
            "     inbound esp sas:\n"
        )
        for k, spi in enumerate(spis_in):
            out.append(_sa(spi, 2 * (i * 2 + k) + 1, nat, tag, detail))
        out.append("\n     inbound ah sas:\n\n     inbound pcp sas:\n\n     outbound esp sas:\n")
        for k, spi in enumerate(spis_out):
            out.append(_sa(spi, 2 * (i * 2 + k) + 2, nat, tag, detail))
        out.append("\n     outbound ah sas:\n\n     outbound pcp sas:\n\n")
        sas += 2 * n
    return "".join(out), sas


def _peer(i: int) -> str:
    return f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"


def generate_isakmp(peers: int) -> str:
    """``show crypto isakmp sa`` of the same hub (IOS layout: dst, src, state, conn-id)."""
    rows = [
        "IPv4 Crypto ISAKMP SA",
        "dst             src             state          conn-id status",
    ]
    for i in range(peers):
        state = "MM_NO_STATE" if i % 25 == 7 else "QM_IDLE"
        rows.append(f"{'10.0.0.1':<15} {_peer(i):<15} {state:<15} {1001 + i:>6} ACTIVE")
    return "\n".join([*rows, "", "IPv6 Crypto ISAKMP SA", "", ""])


def generate_isakmp_detail(peers: int) -> str:
    """``show crypto isakmp sa detail`` of the same hub (algorithms, DH group, lifetime)."""
    rows = [
        "Codes: C - IKE configuration mode, D - Dead Peer Detection",
        "       K - Keepalives, N - NAT-traversal",
        "       T - cTCP encapsulation, X - IKE Extended Authentication",
        "       psk - Preshared key, rsig - RSA signature",
        "       renc - RSA encryption",
        "IPv4 Crypto ISAKMP SA",
        "",
        "C-id  Local           Remote          I-VRF  Status Encr Hash   Auth DH Lifetime Cap.",
        "",
    ]
    for i in range(peers):
        left = 86399 - i % 80000
        life = f"{left // 3600:02d}:{left // 60 % 60:02d}:{left % 60:02d}"
        rows.append(
            f"{1001 + i:<5} {'10.0.0.1':<15} {_peer(i):<15}        ACTIVE aes  sha256 "
            f"psk  14 {life} D"
        )
        rows.append(f"       Engine-id:Conn-id =  SW:{i + 1}")
        rows.append("")
    return "\n".join([*rows, "IPv6 Crypto ISAKMP SA", "", ""])


class _HubRunner:
    """A runner that answers a full poll of a generated hub (what ``--save-raw`` records)."""

    platform = "cisco_ios"

    def __init__(self, device: str, peers: int) -> None:
        self.device = device
        self.outputs = {
            "show crypto isakmp sa": generate_isakmp(peers),
            "show crypto isakmp sa detail": generate_isakmp_detail(peers),
            "show crypto ikev2 sa detailed": "",
            "show crypto ipsec sa": generate(peers, False)[0],
            "show crypto session detail": "",
        }

    def send(self, command: str, *, timeout: float | None = None) -> str:
        return self.outputs[command]

    def close(self, *, abandon: bool = False) -> None:
        return None


def save_hub(folder: str, peers: int, device: str = "hub") -> list[str]:
    """Record a full poll of an N-peer hub into ``folder`` with ipsecctl's own ``--save-raw``
    recorder (0600 files, key material redacted); returns the commands saved."""
    sys.path.insert(0, str(ROOT))
    from ipsecctl.transport import RawRecorder

    runner = _HubRunner(device, peers)
    recorder = RawRecorder(Path(folder), runner)  # type: ignore[arg-type]
    for command in runner.outputs:
        recorder.send(command)
    return list(runner.outputs)


# Child programs: each writes its document to stdout; the parent measures the whole process.
_GENIE = """
import json, sys
from unittest.mock import Mock
from genie.libs.parser.iosxe.show_crypto import {cls}
text = open({path!r}).read()
sys.stdout.write(json.dumps({cls}(device=Mock()).parse(output=text), indent=2))
"""
_GENIE_REPLAY = """
import json, os, sys
from unittest.mock import Mock
from genie.libs.parser.iosxe.show_crypto import (
    ShowCryptoIpsecSa, ShowCryptoIsakmpSa, ShowCryptoIsakmpSaDetail)
folder = {folder!r}
out = {{}}
for cls, name in ((ShowCryptoIsakmpSa, "show_crypto_isakmp_sa.txt"),
                  (ShowCryptoIsakmpSaDetail, "show_crypto_isakmp_sa_detail.txt"),
                  (ShowCryptoIpsecSa, "show_crypto_ipsec_sa.txt")):
    text = open(os.path.join(folder, name)).read()
    out[name] = cls(device=Mock()).parse(output=text)
sys.stdout.write(json.dumps(out, indent=2))
"""
_NTC = """
import json, sys
from ntc_templates.parse import parse_output
text = open({path!r}).read()
rows = parse_output(platform="cisco_ios", command="show crypto ipsec sa detail", data=text)
sys.stdout.write(json.dumps(rows, indent=2))
"""


def _available(module: str) -> bool:
    probe = f"import importlib.util,sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def run_child(argv: list[str], timeout: float, env: dict[str, str]) -> dict[str, Any]:
    """One whole process: wall seconds, CPU seconds and peak RSS (of this child alone, from
    ``wait4``)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, env=env
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                return {"error": f"over {timeout:.0f} s", "wall_s": timeout}
            time.sleep(0.001)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read()
    out: dict[str, Any] = {
        "wall_s": wall,
        "code": proc.returncode,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_mib": usage.ru_maxrss / 1024,
    }
    if proc.returncode not in (0, 3):  # 3: tunnels found a fault (stuck IKE peers): it worked
        out["error"] = (stderr.decode(errors="replace").strip().splitlines() or ["failed"])[-1]
    return out


def _generate_elsewhere(peers: int, detail: bool, path: str) -> int:
    """Write the hub text from a separate process; return its ESP SA count.

    Linux keeps a process's peak RSS across fork+exec, so a benchmark process that held 20 MB
    of text would lend its peak to every child it starts: it never holds the text itself.
    """
    program = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import parse_ipsec_sa as b;"
        f" text, n = b.generate({peers}, {detail}); open({path!r}, 'w').write(text); print(n)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    return int(proc.stdout.strip())


def _save_elsewhere(peers: int, folder: str) -> None:
    program = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import parse_ipsec_sa as b;"
        f" b.save_hub({folder!r}, {peers})"
    )
    subprocess.run([sys.executable, "-c", program], check=True)


def _check_ours(argv: list[str], env: dict[str, str], expected_sas: int) -> str:
    """Run our command once more into a file and count what it wrote (ESP SAs)."""
    with tempfile.TemporaryFile() as out:
        subprocess.run(argv, stdout=out, stderr=subprocess.DEVNULL, env=env, check=False)
        out.seek(0)
        doc = json.load(out)
    sas = sum(1 for t in doc["tunnels"] for sa in t["sas"] if sa["protocol"] == "esp")
    return "yes" if sas == expected_sas else f"NO: {sas} of {expected_sas}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "parse_results.md")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--no-genie", action="store_true", help="skip Genie (slow at 10k)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command; the median counts")
    args = ap.parse_args()
    script = shutil.which("ipsecctl")
    if script is None:
        sys.exit("the ipsecctl console script is not on PATH (pip install -e .)")
    # Installed packages carry their byte code (Genie, ntc and ttp came with theirs): with
    # PYTHONDONTWRITEBYTECODE set, as on the project's machines, this checkout would otherwise
    # be compiled again in every run.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(ROOT / "ipsecctl"),
            str(ROOT / "parsers"),
            str(ROOT / "inventory"),
        ],
        check=True,
    )
    have_genie = not args.no_genie and _available("genie.libs.parser")
    have_ntc = _available("ntc_templates")
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IPSECCTL_STATE_DIR": os.path.join(tmp, "state")}
        for peers in args.peers:
            replay = os.path.join(tmp, f"replay{peers}")
            _save_elsewhere(peers, replay)
            for what in ("plain", "detail", "tunnels"):
                detail = what == "detail"
                path = os.path.join(tmp, f"ipsec_{peers}_{what}.txt")
                if what == "tunnels":
                    path = os.path.join(replay, "hub", "show_crypto_ipsec_sa.txt")
                    expected = _count_sas(path)
                    size = sum(f.stat().st_size for f in Path(replay, "hub").glob("*.txt"))
                else:
                    expected = _generate_elsewhere(peers, detail, path)
                    size = os.path.getsize(path)
                cmd = "show crypto ipsec sa detail" if detail else "show crypto ipsec sa"
                if what == "tunnels":
                    ours = [script, "--replay", replay, "tunnels", "--json"]
                    name = "ipsecctl --replay DIR tunnels --json"
                else:
                    ours = [script, "parse", path, "-p", "cisco_ios", "-c", cmd, "--json"]
                    name = f'ipsecctl parse FILE -c "{cmd}" --json'
                runs: list[tuple[str, list[str]]] = [(name, ours)]
                if have_genie and what == "tunnels":
                    runs.append(
                        (
                            "Genie: isakmp sa, isakmp sa detail, ipsec sa",
                            [
                                sys.executable,
                                "-c",
                                _GENIE_REPLAY.format(folder=os.path.join(replay, "hub")),
                            ],
                        )
                    )
                elif have_genie:
                    cls = "ShowCryptoIpsecSaDetail" if detail else "ShowCryptoIpsecSa"
                    runs.append(
                        (f"Genie {cls}", [sys.executable, "-c", _GENIE.format(cls=cls, path=path)])
                    )
                if have_ntc and detail:
                    runs.append(
                        (
                            "ntc-templates parse_output",
                            [sys.executable, "-c", _NTC.format(path=path)],
                        )
                    )
                # round-robin, so that load from elsewhere hits every command alike
                samples: dict[str, list[dict[str, Any]]] = {n: [] for n, _ in runs}
                for _ in range(args.repeat):
                    for n, argv in runs:
                        samples[n].append(run_child(argv, args.timeout, env))
                ok_ours = _check_ours(ours, env, expected)
                medians = {n: _median(v) for n, v in samples.items()}
                for n, _ in runs:
                    res = medians[n]
                    if "error" in res:
                        rows.append(
                            f"| {peers} | {what} ({size / 1e6:.1f} MB) | {n} | "
                            f"error: {res['error']} | | | | | |"
                        )
                        continue
                    ratio = ""
                    if n == name:  # every rival's median over ours
                        ratio = "; ".join(
                            f"{other.split()[0]} {medians[other]['wall_s'] / res['wall_s']:.1f}x"
                            f" wall, {medians[other]['cpu_s'] / res['cpu_s']:.1f}x CPU"
                            for other, _ in runs[1:]
                            if "error" not in medians[other]
                        )
                    walls = [round(r["wall_s"], 2) for r in samples[n]]
                    rows.append(
                        f"| {peers} | {what} ({size / 1e6:.1f} MB) | {n} | {res['wall_s']:.3f} | "
                        f"{walls} | {res['cpu_s']:.3f} | {res['maxrss_mib']:.0f} | "
                        f"{ok_ours if n == name else ''} | {ratio} |"
                    )
                print("\n".join(rows[-len(runs) :]), flush=True)
    notes = []
    if not have_genie:
        notes.append("- Genie was not run (`genie` not importable here, or `--no-genie`).")
    if not have_ntc:
        notes.append("- ntc-templates was not importable; not run.")
    header = (
        "# The commands users run on a generated hub: ipsecctl vs Genie and ntc-templates\n\n"
        f"Run: `python benchmarks/parse_ipsec_sa.py --peers {' '.join(map(str, args.peers))}"
        f" --repeat {args.repeat}` on {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}), "
        f"{time.strftime('%Y-%m-%d')}; load average at the end {os.getloadavg()[0]:.2f} (the "
        "machine is shared).\n\n"
        "Every command runs as its own process on the same files, round-robin, "
        f"{args.repeat} times; *wall s* is the median whole-process time (interpreter start, "
        "imports, reading, parsing, building, writing the JSON document to /dev/null), *runs* "
        "every run, *CPU s* the process's CPU time in that median run, *max RSS* its peak "
        "memory. *ok*: our document holds every ESP SA of the input. *vs rivals*: each rival's "
        "median over ours (wall time and CPU time).\n\n"
        "| peers | input | command | wall s | runs | CPU s | max RSS MiB | ok | vs rivals |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    args.out.write_text(header + "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n")
    print(f"wrote {args.out}")


def _median(samples: list[dict[str, Any]]) -> dict[str, Any]:
    ok = sorted((r for r in samples if "error" not in r), key=lambda r: r["wall_s"])
    return ok[len(ok) // 2] if ok else samples[0]


def _count_sas(path: str) -> int:
    """ESP SAs in a generated ``show crypto ipsec sa`` (its ``spi:`` lines)."""
    with open(path) as fh:
        return sum(1 for line in fh if line.lstrip().startswith("spi: "))


if __name__ == "__main__":
    main()
