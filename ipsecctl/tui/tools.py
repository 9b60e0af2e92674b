"""Packet diagnostics run from the dashboard on one tunnel: an IKE probe of its peer, a capture
on its device, a capture file decoded with its keys. Results go to the tunnel screen.

Each runs in a thread worker and reports through :class:`ToolFinished`. The probe is planned
by :mod:`ipsecctl.ops.probe` from the device's configuration (read with a show command, like a
poll) and asks before any packet leaves; a device capture is an action, so it goes through the
operations layer's workflow (read-only, confirmation, audit, cleanup on the device); decoding
a file is local (:func:`ipsecctl.diag.capture.analysis.analyse_capture`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipsecctl import errors
from ipsecctl.models import Tunnel
from ipsecctl.tui.messages import ToolFinished
from ipsecctl.tui.threads import background
from ipsecctl.tui.widgets.report import DECLINED, DONE, FAILED, ToolRun

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp
    from ipsecctl.tui.state import Row

CAPTURE_SECONDS = 10


class Tools:
    def __init__(self, app: IpsecApp) -> None:
        self.app = app
        self.runs: dict[str, list[ToolRun]] = {}
        self._lock = threading.Lock()

    def runs_for(self, key: str) -> list[ToolRun]:
        with self._lock:
            return list(self.runs.get(key, ()))

    def _new(self, kind: str, row: Row, title: str) -> ToolRun:
        run = ToolRun(kind=kind, key=row.key, title=title, started=self.app.ctx.clock())
        with self._lock:
            self.runs.setdefault(row.key, []).append(run)
        return run

    def _post(self, run: ToolRun) -> None:
        self.app.post_message(ToolFinished(run.key, run))

    def _start(self, fn: Callable[[], None]) -> None:
        background(fn, name="ipsecctl-tool")

    # -- IKE probe --------------------------------------------------------------------------
    def probe(self, row: Row) -> ToolRun:
        t = row.tunnel
        run = self._new(
            "probe",
            row,
            f"IKE probe of {t.peer} for {t.device}" + (f" vrf {t.vrf}" if t.vrf else ""),
        )
        self._start(partial(self._probe, run, t))
        return run

    def _probe(self, run: ToolRun, tunnel: Tunnel) -> None:
        from ipsecctl.ops.probe import CONFIG_COMMANDS, plan_probe, run_probe

        app = self.app
        try:
            state = app.ops.current(tunnel.device)
            if state is None:
                raise errors.UsageError(f"{tunnel.device}: not polled yet")
            config = None
            command = CONFIG_COMMANDS[0]
            run.steps.append(f"{tunnel.device}# {command}  (the configured IKE proposals)")
            self._post(run)
            try:
                config = app.ops.session(tunnel.device).send(command)
            except errors.IpsecctlError as exc:
                run.steps.append(f"could not read the configuration: {exc}")
            plan = plan_probe(state, tunnel, config_text=config)
            where = f"{tunnel.device} → {tunnel.peer}" + (
                f" vrf {tunnel.vrf}" if tunnel.vrf else " (global table)"
            )
            summary = (
                f"IKEv{plan.version} probe for the tunnel {where}\n"
                f"proposals from {plan.source}; sent from this host, not from "
                f"{tunnel.device}:"
            )
            if not app.action_bridge.ask(
                f"Confirm IKE probe of {tunnel.peer}", summary, plan.packets(), verb="Send"
            ):
                run.status = DECLINED
                run.steps.append("declined: nothing was sent")
                return
            run.steps.append(f"sending {plan.exchange} to {plan.peer} udp/{plan.port}")
            self._post(run)
            run.outcome = run_probe(plan)
            run.status = DONE
        except errors.IpsecctlError as exc:
            run.status, run.error = FAILED, str(exc)
        except OSError as exc:
            run.status, run.error = FAILED, f"probe failed: {exc.strerror or exc}"
        finally:
            self._post(run)

    # -- device capture ---------------------------------------------------------------------
    def capture(self, row: Row) -> ToolRun:
        t = row.tunnel
        run = self._new(
            "capture",
            row,
            f"capture on {t.device} for {t.peer}" + (f" vrf {t.vrf}" if t.vrf else ""),
        )
        self._start(partial(self._capture, run, t))
        return run

    def _capture(self, run: ToolRun, tunnel: Tunnel) -> None:
        app = self.app
        try:
            from ipsecctl.ops import capture as ops_capture

            if not tunnel.peer:
                raise errors.UsageError(f"{tunnel.device}: this tunnel has no peer")
            # a capture point an earlier run to this peer left behind is planned away (a
            # read-only look); then a fresh poll: the plan and the analysis need current SAs
            run.steps.append(f"{tunnel.device}: looking for capture points left behind")
            self._post(run)
            own, others = ops_capture.leftover_points(
                app.ops, tunnel.device, peer=tunnel.peer, vrf=tunnel.vrf
            )
            if others:
                run.steps.append(
                    f"other capture points on the device, left alone: {', '.join(others)}"
                )
            state = app.ops.poll_one(tunnel.device)
            plan = ops_capture.plan_capture(
                state, None, tunnel.peer, vrf=tunnel.vrf, seconds=CAPTURE_SECONDS, leftovers=own
            )
            spec = ops_capture.CaptureSpec(app.ops)
            results = app.action_bridge.run_spec("capture", spec, [plan], run=run)
            if results is None:
                run.status = DECLINED
                return
            result = results[0] if results else None
            if result is None or not getattr(result, "ok", False):
                run.status = FAILED
                run.error = getattr(result, "message", "") or "the capture did not complete"
            else:
                run.outcome = result.document()  # the ``capture`` JSON document
                run.status = DONE
        except errors.IpsecctlError as exc:
            run.status, run.error = FAILED, str(exc)
        finally:
            self._post(run)

    # -- a capture file ---------------------------------------------------------------------
    def decode(self, row: Row, capture: str, keys: str) -> ToolRun:
        t = row.tunnel
        run = self._new(
            "decode",
            row,
            f"decode {Path(capture).name}" + (f" with {Path(keys).name}" if keys else " (no keys)"),
        )
        self._start(partial(self._decode, run, t, capture, keys))
        return run

    def _decode(self, run: ToolRun, tunnel: Tunnel, capture: str, keys: str) -> None:
        try:
            run.outcome = decode_file(self.app, tunnel, capture, keys)
            run.status = DONE
        except errors.IpsecctlError as exc:
            run.status, run.error = FAILED, str(exc)
        except OSError as exc:
            run.status, run.error = FAILED, f"{capture}: {exc.strerror or exc}"
        finally:
            self._post(run)


def load_any_keys(path: str) -> Any:
    """SA keys from any format ``diag esp`` reads, or the keys a charon log printed."""
    from ipsecctl.diag.ike.charon_keys import load_charon_log
    from ipsecctl.diag.packets.keys import detect_format, load_keys

    text = Path(path).read_text(errors="replace")
    if detect_format(text) is None and ("CHILD_SA" in text or "IKE_SA" in text):
        return load_charon_log(path)
    return load_keys(path)


def decode_file(app: IpsecApp, tunnel: Tunnel, capture: str, keys: str) -> dict[str, Any]:
    """The ``diag capture`` document of a capture file, for ``tunnel`` (pure but for reads)."""
    from ipsecctl.diag.capture.analysis import analyse_capture
    from ipsecctl.diag.capture.files import frames_from_file

    if not Path(capture).is_file():
        raise errors.InputFileError(
            f"{capture}: no such file", hint="give the path of a pcap, pcapng or printed capture"
        )
    sa_keys = load_any_keys(keys) if keys else None
    previous = app.ops.previous(tunnel.device)
    old = next((t for t in previous.tunnels if t.id == tunnel.id), None) if previous else None
    report = analyse_capture(
        frames_from_file(capture, platform=tunnel.platform or None),
        device=tunnel.device,
        peer=tunnel.peer,
        vrf=tunnel.vrf,
        sas=tunnel.sas,
        previous_spis=old.spis() if old is not None else (),
        local_addr=tunnel.local_addr,
        keys=sa_keys,
        pcap=capture,
    )
    return report.to_dict()
