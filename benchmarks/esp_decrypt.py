"""ESP decrypt throughput: `ipsecctl diag esp` vs tshark on the same 100,000-packet capture.

Builds two captures (AES-GCM-256 and AES-CBC-128 + HMAC-SHA1-96, tunnel mode, 100-byte inner
ICMP packets, Ethernet), then times whole processes in the same run:
  ipsecctl: python -m ipsecctl.cli.diag_esp CAP --keys K --json > /dev/null
  tshark:   tshark -n -r CAP -o esp.enable_encryption_decode:TRUE
            -o esp.enable_authentication_check:TRUE -o 'uat:esp_sa:...' > /dev/null
Both must authenticate and decrypt every packet; the script checks that before timing counts.
Usage: python benchmarks/esp_decrypt.py [--packets N] [--out benchmarks/esp_results.md]
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


def timed(cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        check=False,
    )
    dt = time.perf_counter() - t0
    if proc.returncode not in (0,):
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return dt, proc.stdout or b""


def ipsecctl_cmd(cap: Path, keys: Path) -> list[str]:
    return [sys.executable, "-m", "ipsecctl.cli.diag_esp", str(cap), "--keys", str(keys), "--json"]


def tshark_cmd(cap: Path, uat: str, extra: list[str]) -> list[str]:
    return [
        "tshark",
        "-n",
        "-r",
        str(cap),
        "-o",
        "esp.enable_encryption_decode:TRUE",
        "-o",
        "esp.enable_authentication_check:TRUE",
        "-o",
        f"uat:esp_sa:{uat}",
        *extra,
    ]


def verify(cap: Path, keys: Path, uat: str, n: int) -> None:
    """Both tools must really decrypt (and authenticate) the small capture."""
    _, out = timed(ipsecctl_cmd(cap, keys), stdout=None)
    s = json.loads(out)["summary"]
    assert s["decrypted"] == n and s["icv_bad"] == 0, s
    _, out = timed(
        tshark_cmd(cap, uat, ["-T", "fields", "-e", "icmp.type", "-e", "esp.icv_good"]), stdout=None
    )
    lines = out.decode().split("\n")
    good = sum(1 for ln in lines if ln.startswith("8\t") and ln.split("\t")[1] in ("1", "True"))
    assert good == n, f"tshark decrypted/authenticated {good}/{n}: {lines[:3]}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "esp_results.md")
    args = ap.parse_args()
    if not shutil.which("tshark"):
        raise SystemExit("tshark is not installed (apt-get install tshark)")
    tshark_version = subprocess.run(
        ["tshark", "--version"], capture_output=True, text=True
    ).stdout.splitlines()[0]
    rows = []
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, case in CASES.items():
            small, keys, uat = build(case, 200, tmp)
            verify(small, keys, uat, 200)
            cap, keys, uat = build(case, args.packets, tmp)
            ours = min(timed(ipsecctl_cmd(cap, keys))[0] for _ in range(args.repeat))
            theirs = min(timed(tshark_cmd(cap, uat, []))[0] for _ in range(args.repeat))
            theirs_q = min(timed(tshark_cmd(cap, uat, ["-q"]))[0] for _ in range(args.repeat))
            rows.append((name, args.packets, ours, theirs, theirs_q))
            print(
                f"{name}: ipsecctl {args.packets / ours:,.0f} pkt/s, tshark "
                f"{args.packets / theirs:,.0f} pkt/s (-q {args.packets / theirs_q:,.0f})"
            )
    lines = [
        "# ESP decrypt benchmark: `ipsecctl diag esp` vs tshark",
        "",
        f"Run: `python benchmarks/esp_decrypt.py --packets {args.packets}` on "
        f"{platform.node() and 'this machine'} ({os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {tshark_version}).",
        "Same capture for both tools in the same run: Ethernet, IPv4, ESP tunnel mode, 100-byte",
        "inner ICMP packets, one SA. Whole-process wall time, including start-up, reading the file",
        "and writing all output to /dev/null (ipsecctl: `--json` with every packet; tshark: the",
        "default one-line summary per packet, and `-q` with no per-packet output). Both were",
        "checked first on a 200-packet capture to authenticate and decrypt every packet.",
        "",
        "| suite | packets | ipsecctl s | ipsecctl pkt/s | tshark s | tshark pkt/s "
        "| tshark -q pkt/s "
        "| ipsecctl / tshark |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, n, ours, theirs, theirs_q in rows:
        lines.append(
            f"| {name} | {n:,} | {ours:.2f} | {n / ours:,.0f} | {theirs:.2f} | "
            f"{n / theirs:,.0f} | {n / theirs_q:,.0f} | {theirs / ours:.2f}x |"
        )
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
