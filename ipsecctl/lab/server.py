"""``python -m ipsecctl.lab.server``: the background process that ``ipsecctl lab up`` starts.

It runs every simulated device of the lab in this one process until SIGTERM/SIGINT, then
closes the listening sockets and exits 0. With ``--real`` it also builds the real gateways
(namespaces, charon/pluto, sshd: :mod:`~ipsecctl.lab.real`) and tears them down on the way out.
Readiness is ``state.json`` carrying this process's pid and ``"ready": true``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from ipsecctl.errors import IpsecctlError
from ipsecctl.lab.runtime import Lab


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ipsecctl.lab.server")
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--devices", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--asa", type=int, default=None)
    ap.add_argument("--real", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        lab = Lab(args.dir, args.devices, args.seed, args.time_scale, args.port, args.asa).start(
            ready=not args.real
        )
    except (OSError, IpsecctlError) as exc:
        print(f"error: lab could not start: {exc}", file=sys.stderr)
        return 1
    logging.info(
        "lab up: %d devices, port %s, time scale %s",
        len(lab.routers),
        lab.routers[0].port if lab.routers else "-",
        args.time_scale,
    )
    real = None
    if args.real:
        from ipsecctl.lab.real import RealGateways

        real = RealGateways(lab.dir / "real")
        gateways, info, known = real.up()
        lab.add_gateways(gateways, info, known)
        logging.info("real gateways: %s", info)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if real is not None:
            real.down()
        lab.stop()
    logging.info("lab stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
