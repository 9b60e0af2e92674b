"""Peak memory of `diag esp --json` and `diag ike --json` on a 1 GB capture (whole processes).

Builds a capture of about ``--size-mb`` MB in a temporary folder: Ethernet, IPv4, ESP tunnel
mode (AES-GCM-256, 1,400-byte inner packets, in order) with an IKEv2 exchange (the ike-scan
IKE_SA_INIT request and response fixtures) every ``--ike-every`` packets. Then runs the real
commands on it, one at a time, and samples the resident memory of the command's whole process
tree (the command and its worker processes, summed) every 20 ms. The peak of that sum is the
figure reported; the largest single process (the kernel's VmHWM) is reported too.

Every run is checked from its own output: `diag esp` must have decrypted every ESP packet with
a good ICV and no replay (the output is read through a pipe, only its tail is kept, the
summary parsed from it); `diag ike` must list every IKE message.

Usage: python benchmarks/capture_memory.py [--size-mb 1024]
       [--out benchmarks/capture_memory_results.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ipsecctl.diag.packets.esp import EspCipher  # noqa: E402
from ipsecctl.diag.packets.keys import SecurityAssociation  # noqa: E402
from ipsecctl.diag.packets.suites import ENCRYPTION, INTEGRITY  # noqa: E402
from tests.diag.packets.builders import frame, ipv4, udp  # noqa: E402

SPI = 0x0BADCAFE
SRC, DST = "172.16.1.1", "172.16.2.2"
KEY = bytes(range(36))
IKE_DIR = ROOT / "tests" / "fixtures" / "ike" / "ike-scan"


def build(path: Path, size: int, ike_every: int) -> tuple[int, int]:
    """Write the capture; returns (ESP packets, IKE messages)."""
    sa = SecurityAssociation(SPI, "esp", None, DST, ENCRYPTION["aes256gcm16"], KEY,
                             INTEGRITY["null"], b"")  # fmt: skip
    cipher = EspCipher(sa)
    payload = bytes(1380)
    inner = ipv4("10.1.0.1", "10.2.0.1", 17, udp(1000, 2000, payload))
    ike = [(IKE_DIR / n).read_bytes() for n in ("pkt-ikev2.dat", "pkt-v2-sainit-response.dat")]
    rec = struct.Struct("<IIII")
    esp_n = ike_n = 0
    written = 24
    t = 1_700_000_000
    with path.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        while written < size:
            esp_n += 1
            data = frame(1, ipv4(SRC, DST, 50, cipher.seal(esp_n, inner, 4)))
            if esp_n % ike_every == 0:
                for i, msg in enumerate(ike):
                    a, b = (SRC, DST) if i == 0 else (DST, SRC)
                    f = frame(1, ipv4(a, b, 17, udp(500, 500, msg)))
                    fh.write(rec.pack(t + esp_n // 10_000, esp_n % 10_000 * 100, len(f), len(f)))
                    fh.write(f)
                    written += 16 + len(f)
                    ike_n += 1
            fh.write(rec.pack(t + esp_n // 10_000, esp_n % 10_000 * 100, len(data), len(data)))
            fh.write(data)
            written += 16 + len(data)
    return esp_n, ike_n


def _tree(pid: int) -> list[int]:
    out = [pid]
    for p in out:
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    out.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str]) -> tuple[float, int, int, int, bytes, bytes]:
    """(wall s, peak summed RSS kB, peak single-process RSS kB, exit code, tail, stderr)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_sum = peak_one = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_sum, peak_one
        while not done.is_set():
            pids = _tree(proc.pid)
            rss = [_status_kb(p, "VmRSS") for p in pids]
            hwm = [_status_kb(p, "VmHWM") for p in pids]
            peak_sum = max(peak_sum, sum(rss))
            peak_one = max(peak_one, *hwm)
            time.sleep(0.02)

    t0 = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err = bytearray()

    def drain_err() -> None:
        assert proc.stderr is not None
        err.extend(proc.stderr.read())

    et = threading.Thread(target=drain_err, daemon=True)
    et.start()
    tail = b""
    assert proc.stdout is not None
    while True:
        block = proc.stdout.read(1 << 20)
        if not block:
            break
        tail = (tail + block)[-(4 << 20) :]
    code = proc.wait()
    dt = time.perf_counter() - t0
    done.set()
    sampler.join()
    et.join()
    return dt, peak_sum, peak_one, code, tail, bytes(err)


def esp_summary(tail: bytes) -> dict:
    """The summary object from the tail of a `diag esp --json` document."""
    text = tail.decode()
    at = text.rindex(',"summary":')
    doc = json.loads("{" + text[at + 1 :])
    return doc["summary"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--ike-every", type=int, default=1000)
    default_out = ROOT / "benchmarks" / "capture_memory_results.md"
    ap.add_argument("--out", type=Path, default=default_out)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cap = tmp / "big.pcap"
        t0 = time.perf_counter()
        esp_n, ike_n = build(cap, args.size_mb << 20, args.ike_every)
        size_mb = cap.stat().st_size / (1 << 20)
        print(f"built {cap} ({size_mb:,.0f} MB, {esp_n:,} ESP, {ike_n:,} IKE) in "
              f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
        keys = tmp / "k.yaml"
        keys.write_text(f"sas:\n  - spi: 0x{SPI:08x}\n    dst: {DST}\n"
                        f"    encryption: aes256gcm16\n    enc_key: '{KEY.hex()}'\n")  # fmt: skip
        py = [sys.executable, "-m"]
        esp = [*py, "ipsecctl.cli.diag_esp", str(cap), "--keys", str(keys), "--json"]
        runs = {
            "diag esp --json (default workers)": esp,
            "diag esp --json --workers 2": [*esp, "--workers", "2"],
            "diag esp --json --workers 1": [*esp, "--workers", "1"],
            "diag esp --json --summary": [*esp, "--summary"],
            "diag ike --json": [*py, "ipsecctl.cli.diag_ike", "ike", str(cap), "--json"],
        }
        for name, cmd in runs.items():
            dt, peak_sum, peak_one, code, tail, err = measure(cmd)
            if "diag esp" in name:
                s = esp_summary(tail)
                ok = (code == 0 and s["decrypted"] == esp_n == s["icv_ok"]
                      and s["replayed"] == 0 and s["ike"] == ike_n)  # fmt: skip
                check = f"decrypted {s['decrypted']:,}/{esp_n:,}, IKE {s['ike']:,}"
            else:
                doc = json.loads(tail)
                ok = code == 0 and len(doc["messages"]) == ike_n
                check = f"{len(doc['messages']):,}/{ike_n:,} IKE messages"
            if not ok:
                raise SystemExit(f"{name}: run not complete ({code}, {check}): {err[-400:]!r}")
            print(f"{name}: {dt:.1f} s, peak {peak_sum / 1024:.0f} MB (tree), "
                  f"{peak_one / 1024:.0f} MB (largest process); {check}")  # fmt: skip
            rows.append((name, dt, peak_sum, peak_one, check))
    lines = [
        "# Memory on a 1 GB capture: `diag esp --json` and `diag ike --json`",
        "",
        f"Run: `python benchmarks/capture_memory.py --size-mb {args.size_mb}` "
        f"({os.cpu_count()} cores shared with other work, Python {platform.python_version()}).",
        "",
        f"Capture: {size_mb:,.0f} MB pcap, Ethernet/IPv4, {esp_n:,} ESP packets (AES-GCM-256, "
        f"1,400-byte inner packets) and {ike_n:,} IKEv2 messages (one IKE_SA_INIT exchange "
        f"every {args.ike_every:,} ESP packets). Peak = the largest sum of the resident memory "
        "(VmRSS) of the command and its worker processes, sampled every 20 ms; the largest "
        "single process is the kernel's high-water mark (VmHWM). Every run was checked from "
        "its own output (all ESP packets decrypted with a good ICV and no replay; every IKE "
        "message listed). The per-packet JSON of `diag esp` streams to a pipe.",
        "",
        "| command | wall s | peak MB (process tree) | peak MB (largest process) | check |",
        "|---|---|---|---|---|",
    ]
    for name, dt, peak_sum, peak_one, check in rows:
        lines.append(f"| `{name}` | {dt:.1f} | {peak_sum / 1024:.0f} | {peak_one / 1024:.0f} "
                     f"| {check} |")  # fmt: skip
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
