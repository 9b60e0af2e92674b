"""ESP decrypt throughput: `ipsecctl diag esp` vs tshark on the same 100,000-packet capture.

Builds two captures (AES-GCM-256 and AES-CBC-128 + HMAC-SHA1-96, tunnel mode, 100-byte inner
ICMP packets, Ethernet), then times whole processes in the same run, output read through a
pipe:
  ipsecctl: python -m ipsecctl.cli.diag_esp CAP --keys K --json [--workers 1 | --summary]
            ipsecctl diag esp CAP --keys K --json            (the console script)
  tshark:   tshark -n -r CAP -o esp.enable_encryption_decode:TRUE
            -o esp.enable_authentication_check:TRUE -o 'uat:esp_sa:...'   (and -q -z io,stat)
Every timed run must have authenticated and decrypted every packet, checked from its own
output. Usage: python benchmarks/esp_decrypt.py [--packets N] [--out benchmarks/esp_results.md]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ipsecctl.diag.packets.esp import EspCipher  # noqa: E402
from ipsecctl.diag.packets.keys import SecurityAssociation  # noqa: E402
from ipsecctl.diag.packets.pcap import write_pcap  # noqa: E402
from ipsecctl.diag.packets.suites import ENCRYPTION, INTEGRITY  # noqa: E402
from tests.diag.packets.builders import frame, icmp_echo, ipv4  # noqa: E402

CASES = {
    "aes256gcm16": dict(
        enc="aes256gcm16",
        enc_key=bytes(range(36)),
        integ="null",
        auth_key=b"",
        ws_enc="AES-GCM with 16 octet ICV [RFC4106]",
        ws_auth="NULL",
    ),
    "aes128-sha1": dict(
        enc="aes128",
        enc_key=bytes(range(16)),
        integ="sha1",
        auth_key=bytes(range(20, 40)),
        ws_enc="AES-CBC [RFC3602]",
        ws_auth="HMAC-SHA-1-96 [RFC2404]",
    ),
}
SPI = 0x1000ABCD
SRC, DST = "172.16.1.1", "172.16.2.2"


def build(case: dict, n: int, tmp: Path) -> tuple[Path, Path, str]:
    sa = SecurityAssociation(
        SPI,
        "esp",
        None,
        DST,
        ENCRYPTION[case["enc"]],
        case["enc_key"],
        INTEGRITY[case["integ"]],
        case["auth_key"],
    )
    c = EspCipher(sa)
    inner = [
        ipv4("10.1.0.1", "10.2.0.1", 1, icmp_echo(seq=i & 0xFFFF, data=bytes(72)))
        for i in range(256)
    ]

    def frames():
        for i in range(1, n + 1):
            esp = c.seal(i, inner[i & 0xFF], 4)
            yield (1_700_000_000 + i * 1e-4, frame(1, ipv4(SRC, DST, 50, esp)))

    cap = tmp / f"{case['enc']}-{n}.pcap"
    write_pcap(cap, 1, frames())
    keys = tmp / f"{case['enc']}.yaml"
    keys.write_text(
        f"sas:\n  - spi: 0x{SPI:08x}\n    dst: {DST}\n    encryption: {case['enc']}\n"
        f"    enc_key: '{case['enc_key'].hex()}'\n    integrity: {case['integ']}\n"
        f"    auth_key: '{case['auth_key'].hex()}'\n"
    )
    auth_key = "0x" + case["auth_key"].hex() if case["auth_key"] else ""
    uat = (
        f'"IPv4","{SRC}","{DST}","0x{SPI:08x}","{case["ws_enc"]}",'
        f'"0x{case["enc_key"].hex()}","{case["ws_auth"]}","{auth_key}"'
    )
    return cap, keys, uat


def timed(cmd: list[str]) -> tuple[float, bytes]:
    """Wall time of a whole process; stdout is read through a pipe (checked afterwards)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return dt, proc.stdout


def ipsecctl_cmd(cap: Path, keys: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ipsecctl.cli.diag_esp", str(cap), "--keys", str(keys),
            "--json", *extra]  # fmt: skip


def console_cmd(cap: Path, keys: Path) -> list[str]:
    exe = Path(sys.executable).with_name("ipsecctl")
    return [str(exe), "diag", "esp", str(cap), "--keys", str(keys), "--json"]


def tshark_cmd(cap: Path, uat: str, extra: list[str]) -> list[str]:
    return [
        "tshark", "-n", "-r", str(cap),
        "-o", "esp.enable_encryption_decode:TRUE",
        "-o", "esp.enable_authentication_check:TRUE",
        "-o", f"uat:esp_sa:{uat}",
        *extra,
    ]  # fmt: skip


def ours_decrypted(out: bytes) -> int:
    doc = json.loads(out)
    s = doc["summary"]
    assert s["icv_bad"] == 0 and s["replayed"] == 0, s
    records = doc["packets"]
    assert len(records) == s["esp"] and all(r["decrypted"] for r in records)
    return int(s["decrypted"])


def ours_summary_decrypted(out: bytes) -> int:
    doc = json.loads(out)
    assert "packets" not in doc
    s = doc["summary"]
    assert s["icv_bad"] == 0 and s["replayed"] == 0, s
    return int(s["decrypted"])


def tshark_summary_decrypted(out: bytes) -> int:
    """Default mode: one summary line per frame; a decrypted frame reads 'Echo (ping) request'."""
    return out.count(b"Echo (ping) request")


def tshark_stat_decrypted(out: bytes) -> int:
    """-q -z io,stat: the COUNT of inner ICMP echo requests (needs the decrypted payload)."""
    for line in out.decode().splitlines():
        cells = [c.strip() for c in line.split("|") if c.strip()]
        if len(cells) >= 2 and "<>" in cells[0] and cells[1].isdigit():
            return int(cells[1])
    raise AssertionError(f"no io,stat row in tshark output: {out[-400:]!r}")


def verify_small(cap: Path, uat: str, n: int) -> None:
    """tshark authenticates too (icv_good per frame), checked on a small capture."""
    _, out = timed(tshark_cmd(cap, uat, ["-T", "fields", "-e", "icmp.type",
                                         "-e", "esp.icv_good"]))  # fmt: skip
    lines = out.decode().split("\n")
    good = sum(1 for ln in lines if ln.startswith("8\t") and ln.split("\t")[1] in ("1", "True"))
    assert good == n, f"tshark decrypted/authenticated {good}/{n}: {lines[:3]}"


def best(cmds: dict[str, tuple[list[str], Any]], repeat: int, n: int) -> dict[str, float]:
    """Best wall time per command; the commands take turns, round after round, so that a
    burst of other work on the shared machine falls on all of them alike."""
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(repeat):
        for key, (cmd, count) in cmds.items():
            dt, out = timed(cmd)
            got = count(out)
            assert got == n, f"{key}: decrypted {got}/{n}"
            times[key].append(dt)
    return {k: min(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "esp_results.md")
    args = ap.parse_args()
    if not shutil.which("tshark"):
        raise SystemExit("tshark is not installed (apt-get install tshark)")
    tshark_version = subprocess.run(
        ["tshark", "--version"], capture_output=True, text=True
    ).stdout.splitlines()[0]
    n = args.packets
    rows = []
    load0 = os.getloadavg()[0]
    os.chdir(ROOT)
    stat = ["-q", "-z", "io,stat,0,COUNT(icmp.type)icmp.type==8"]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, case in CASES.items():
            small, keys, uat = build(case, 200, tmp)
            verify_small(small, uat, 200)
            cap, keys, uat = build(case, n, tmp)
            r = best({
                "ours_auto": (ipsecctl_cmd(cap, keys), ours_decrypted),
                "ours_1": (ipsecctl_cmd(cap, keys, "--workers", "1"), ours_decrypted),
                "ours_summary": (ipsecctl_cmd(cap, keys, "--summary"), ours_summary_decrypted),
                "console": (console_cmd(cap, keys), ours_decrypted),
                "tshark": (tshark_cmd(cap, uat, []), tshark_summary_decrypted),
                "tshark_stat": (tshark_cmd(cap, uat, stat), tshark_stat_decrypted),
            }, args.repeat, n)  # fmt: skip
            rows.append((name, r))
            print(name, {k: f"{n / v:,.0f} pkt/s ({v:.2f} s)" for k, v in r.items()})
    cols = ("ours_auto", "ours_1", "ours_summary", "console", "tshark", "tshark_stat")
    lines = [
        "# ESP decrypt benchmark: `ipsecctl diag esp` vs tshark",
        "",
        f"Run: `python benchmarks/esp_decrypt.py --packets {n} --repeat {args.repeat}` "
        f"({os.cpu_count()} cores shared with other work, Python {platform.python_version()}, "
        f"{tshark_version}). Best of {args.repeat} runs per cell, all in the same run, the",
        "commands taking turns round after round.",
        "",
        "Same capture for every command: Ethernet, IPv4, ESP tunnel mode, 100-byte inner ICMP",
        "packets, one SA. Whole-process wall time including start-up, reading the file and",
        "reading all output through a pipe. Every timed run is checked to have decrypted all",
        "packets, from its own output:",
        "",
        "- ipsecctl `--json`: `python -m ipsecctl.cli.diag_esp CAP --keys K --json`; the JSON",
        "  carries every packet (ICV, replay verdict, inner summary); every record must say",
        "  `decrypted: true` and `summary.decrypted` must equal the packet count, `icv_bad` 0.",
        "  Default workers: one process per CPU (2 here) for captures of 8 MB or more;",
        "  `--workers 1`: one process; `--summary`: counters and per-SA results only, no",
        "  per-packet rows (default workers).",
        "- `ipsecctl diag esp` (the console script, default workers): the same, through the",
        "  whole command-line application (its start-up included).",
        "- tshark (default): one summary line per frame with ESP decryption and ICV checking",
        "  on; lines reading `Echo (ping) request` (only there when the inner ICMP was",
        "  decrypted) must equal the packet count. tshark -q -z io,stat: one statistic",
        "  `COUNT(icmp.type)icmp.type==8` that must equal the packet count.",
        "- On a 200-packet capture tshark's `esp.icv_good` was also checked for every packet.",
        "",
        f"Load average (1 min) at the start and end of the run: {load0:.2f}, "
        f"{os.getloadavg()[0]:.2f}.",
        "",
        "| suite | packets | ipsecctl --json pkt/s (s) | --json --workers 1 "
        "| --json --summary | `ipsecctl diag esp --json` | tshark | tshark -q -z "
        "| --json / tshark |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        cells = [f"{n / r[k]:,.0f} ({r[k]:.2f})" for k in cols]
        ours = r["ours_auto"]
        lines.append(f"| {name} | {n:,} | " + " | ".join(cells)
                     + f" | {r['tshark'] / ours:.2f}x |")  # fmt: skip
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
