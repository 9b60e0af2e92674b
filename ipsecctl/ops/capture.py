"""Packet captures on a device, as an action: plan, run bounded, clean up, analyse.

``diag capture`` (and the dashboard's capture screen) call this module; both go through
:meth:`~ipsecctl.ops.workflow.Workflow.run` with a :class:`CaptureSpec`, because a capture
changes the device's state: a capture point exists on it while it runs (IOS-XE, IOS, ASA), or
a tcpdump (and, for keys, a charon log level) on a Linux gateway. So the exact commands are
shown first, confirmed, refused under read-only, audited one by one, bounded in time and
packets by the device itself, and the cleanup commands are sent in a ``finally``: after a
timeout, a lost connection (the session reconnects for them) or Ctrl-C (cleanup first, then
the interrupt goes on to the workflow, which records ``interrupted``).

Usage (what a front end does)::

    own, others = leftover_points(fleet, "r1", peer="10.0.0.2")   # read-only look
    plan = plan_capture(fleet.poll_one("r1"), None, "10.0.0.2", seconds=10, leftovers=own)
    [result] = workflow.run(CaptureSpec(fleet), [plan], confirm=..., yes=...)
    result.document()     # the ``capture`` JSON document (schema ipsecctl/v1)

Device knowledge is data: each platform's ``capture:`` templates (``platforms/*.yaml``).
Placeholders: ``{name}`` (the capture point, from ``tag``), ``{tag}``, ``{peer}``,
``{local}``, ``{interface}``, ``{ipv}`` (ipv4|ipv6), ``{vrf}``, ``{seconds}``, ``{packets}``,
``{buffer_mb}``, ``{buffer_kb}``, ``{buffer_bytes}``, ``{filter}``, ``{during}`` (background
commands of a streamed capture), ``{pattern}`` (a pgrep pattern for ``{name}`` that never
matches itself), ``{leftover}``/``{leftover_pattern}``, ``{ike_id}``, ``{child_id}``.

What comes back is matched against the tunnel (:func:`~ipsecctl.diag.capture.analysis.
analyse_capture` with the SAs of a poll made right after the capture and the SPIs seen
before it). Keys (strongSwan, ``keys_from_device``) stay in memory; they are written only
to the ``write_keys`` folder (0600 files, Wireshark formats) and never into results, audit
records or logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipsecctl import errors
from ipsecctl.actions import Progress, ProgressFn, ike_to, tunnels_to
from ipsecctl.models import SCHEMA, DeviceState, Tunnel
from ipsecctl.platforms import CaptureTemplates, Platform, get_platform

if TYPE_CHECKING:
    from ipsecctl.diag.ike.charon_keys import CharonKeys
    from ipsecctl.diag.packets.pcap import Frame
    from ipsecctl.ops.fleet import Fleet
    from ipsecctl.transport.base import CommandRunner

log = logging.getLogger(__name__)

ACTION = "capture"
DEFAULT_SECONDS = 10
MAX_SECONDS = 600
DEFAULT_PACKETS = 1000
MAX_PACKETS = 100_000
#: bytes a device buffer is sized for, per packet asked (a full-size frame and its header)
BYTES_PER_PACKET = 1600
#: what a streamed capture may take beyond its own duration (start-up, the last packets)
STREAM_GRACE_S = 20.0
#: the shortest capture that sees the re-keys ``keys_from_device`` starts 2-3 s into it
MIN_REKEY_SECONDS = 6
#: how often a running buffered capture is asked whether it reached its own limits
STATUS_EVERY_S = 2.0
_TUNNEL_IFACE = re.compile(r"^(Tunnel|Virtual-Access|Virtual-Template|vti|ipsec)", re.I)


def capture_tag(device: str, peer: str, vrf: str | None) -> str:
    """Six hex digits naming the capture point of (device, peer, VRF): the same on every
    run, so a point left by an earlier run towards the same peer is recognised as ours."""
    return hashlib.sha256(f"{device}|{peer}|{vrf or ''}".encode()).hexdigest()[:6]


def _pattern(name: str) -> str:
    """A pgrep pattern for ``name`` whose own command line does not match it."""
    return f"{name[:-1]}[{name[-1]}]" if name else name


def templates_of(platform: Platform) -> CaptureTemplates:
    if platform.capture is None:
        raise errors.UsageError(f"platform {platform.name} has no capture commands",
                                hint="captures run on cisco_iosxe, cisco_ios, cisco_asa, "
                                "strongswan and libreswan devices")  # fmt: skip
    return platform.capture


# ---------------------------------------------------------------------------- the plan
@dataclass
class CapturePlan:
    """Everything the operator confirms: where, the exact commands, and what they touch.

    Implements the workflow's ``ActionPlan``. ``remove`` holds the removal of capture points
    an earlier run left behind (``leftovers``); they are named in :meth:`describe`.
    """

    device: str
    platform: str
    peer: str
    vrf: str | None
    local: str | None
    interface: str | None
    seconds: int
    packets: int
    name: str
    mode: str
    format: str
    filter: str
    tunnels: list[Tunnel]
    old_spis: list[int]
    check: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    keys_on: list[str] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    start: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    fetch: list[str] = field(default_factory=list)
    status: str | None = None
    finished: str | None = None
    keys_fetch: list[str] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)
    keys_off: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    keys_from_device: bool = False
    notes: list[str] = field(default_factory=list)
    action: str = ACTION

    @property
    def all_commands(self) -> list[str]:
        """Every command that may be typed on the device, in order, cleanup included."""
        return [
            *self.check,
            *self.remove,
            *self.keys_on,
            *self.setup,
            *self.start,
            *([self.status] if self.status else []),
            *self.stop,
            *self.fetch,
            *self.keys_fetch,
            *self.cleanup,
            *self.keys_off,
        ]

    @property
    def tunnel_count(self) -> int:
        return len(self.tunnels)

    @property
    def sa_count(self) -> int:
        return sum(len(t.sas) for t in self.tunnels)

    def describe(self) -> str:
        where = f"{self.device} <-> {self.peer}" + (f" vrf {self.vrf}" if self.vrf else "")
        text = (
            f"capture {where} for at most {self.seconds}s / {self.packets} packets ({self.filter})"
        )
        if self.keys_from_device and self.keys_fetch:
            text += "; keys from charon (its SAs are re-keyed during the capture)"
        if self.leftovers:
            text += "; REMOVES capture point(s) left by an earlier run: " + ", ".join(
                self.leftovers
            )
        return text


def _values(plan_values: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {**plan_values, **more}


def plan_capture(
    state: DeviceState,
    platform: Platform | str | None,
    peer: str,
    *,
    vrf: str | None = None,
    seconds: int = DEFAULT_SECONDS,
    packets: int = DEFAULT_PACKETS,
    keys_from_device: bool = False,
    interface: str | None = None,
    name: str | None = None,
    leftovers: Sequence[str] = (),
) -> CapturePlan:
    """The capture of what passes between ``state.device`` and ``peer`` (pure).

    A device that could not be read is an operational error (exit 1); an unknown peer, bad
    bounds, or a VTI without ``interface`` are usage errors (exit 2). ``leftovers`` are
    capture points of earlier runs (from :func:`leftover_points`) to remove first.
    """
    from ipsecctl.ops.tunnel_actions import unreadable

    try:
        peer_ip = ipaddress.ip_address(peer)
    except ValueError:
        raise errors.UsageError(f"--peer {peer!r} is not an IP address") from None
    if not 1 <= seconds <= MAX_SECONDS:
        raise errors.UsageError(f"--seconds {seconds}: give 1 to {MAX_SECONDS}")
    if not 1 <= packets <= MAX_PACKETS:
        raise errors.UsageError(f"--packets {packets}: give 1 to {MAX_PACKETS}")
    if unreadable(state):
        raise errors.ConnectError(
            "; ".join(e.message for e in state.errors) or f"{state.device}: unreachable",
            device=state.device)  # fmt: skip
    plat = platform if isinstance(platform, Platform) else get_platform(platform or state.platform)
    tpl = templates_of(plat)
    tunnels = tunnels_to(state, str(peer_ip), vrf)
    ike = ike_to(state, str(peer_ip), vrf)
    if not tunnels and not ike:
        known = sorted({t.peer for t in state.tunnels if t.peer})
        raise errors.UsageError(
            f"{state.device} has no tunnel or IKE SA to peer {peer}"
            + (f" in vrf {vrf}" if vrf else "")
            + (f" (known peers: {', '.join(known)})" if known else ""))  # fmt: skip
    local = next((t.local_addr for t in tunnels if t.local_addr), None)
    if local is None:
        local = next((sa.local for sa in ike if sa.local), None)
    iface: str | None = None
    if tpl.interface == "tunnel":
        iface = interface or next((t.interface for t in tunnels if t.interface), None)
        if iface is None or (interface is None and _TUNNEL_IFACE.match(iface)):
            what = f"{iface} is a tunnel interface" if iface else "the device shows no interface"
            raise errors.UsageError(
                f"{state.device} -> {peer}: {what}; ESP is captured where it leaves the device",
                hint="give --interface with the interface that carries the tunnel "
                "(the tunnel source or the crypto map interface)")  # fmt: skip
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9./:_-]{0,63}", iface):
            raise errors.UsageError(f"--interface {iface!r} is not an interface name")
    if local is None and "{local}" in " ".join(tpl.setup):
        raise errors.UsageError(f"{state.device} shows no local address towards {peer}: "
                                "the capture filter needs it")  # fmt: skip
    tag = capture_tag(state.device, str(peer_ip), vrf)
    point = name or tpl.name.format(tag=tag)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", point):
        raise errors.UsageError(f"capture name {point!r}: letters, digits, '_', '.', '-' only")
    values: dict[str, Any] = {
        "name": point, "tag": tag, "peer": str(peer_ip), "local": local or "",
        "interface": iface or "", "ipv": f"ipv{peer_ip.version}", "vrf": vrf or "",
        "seconds": seconds, "packets": packets,
        "buffer_mb": max(1, -(-packets * BYTES_PER_PACKET // 1_000_000)),
        "buffer_kb": min(max(256, packets * BYTES_PER_PACKET // 1024), 102_400),
        "buffer_bytes": min(max(1534, packets * BYTES_PER_PACKET), 33_554_432),
        "pattern": _pattern(point), "during": "",
    }  # fmt: skip
    values["filter"] = (
        tpl.render(tpl.filter, values)
        if tpl.filter
        else (f"{values['ipv']} between {local} and {peer_ip}, both directions")
    )
    notes: list[str] = [tpl.note] if tpl.note else []
    keys_on = keys_fetch = keys_off = []
    if keys_from_device:
        if tpl.keys_fetch:
            rekey = _rekey_commands(tpl, values, tunnels, ike, notes)
            if rekey and seconds < MIN_REKEY_SECONDS:
                raise errors.UsageError(
                    f"--keys-from-device re-keys the SAs 2-3 s into the capture: give "
                    f"--seconds {MIN_REKEY_SECONDS} or more")  # fmt: skip
            if rekey:
                # in the background of the streamed capture, once tcpdump listens
                values["during"] = "(sleep 2; " + "; sleep 1; ".join(rekey) + ") >/dev/null 2>&1 & "
            keys_on = [tpl.render(c, values) for c in tpl.keys_on]
            keys_fetch = [tpl.render(c, values) for c in tpl.keys_fetch]
            keys_off = [tpl.render(c, values) for c in tpl.keys_off]
        else:
            notes.append(tpl.no_keys or f"{plat.name} does not reveal its keys: headers only")
    removal: list[str] = []
    for old in leftovers:
        lv = _values(values, leftover=old, leftover_pattern=_pattern(old))
        removal += [tpl.render(c, lv) for c in tpl.remove]

    def render(cmds: Iterable[str]) -> list[str]:
        return [tpl.render(c, values) for c in cmds]

    return CapturePlan(
        device=state.device, platform=plat.name, peer=str(peer_ip), vrf=vrf, local=local,
        interface=iface, seconds=seconds, packets=packets, name=point, mode=tpl.mode,
        format=tpl.format, filter=values["filter"], tunnels=tunnels,
        old_spis=sorted({s for t in tunnels for s in t.spis()}),
        check=render(tpl.check), remove=removal, keys_on=keys_on, setup=render(tpl.setup),
        start=render(tpl.start), stop=render(tpl.stop), fetch=render(tpl.fetch),
        status=tpl.render(tpl.status, values) if tpl.status else None,
        finished=tpl.render(tpl.finished, values) if tpl.finished else None,
        keys_fetch=keys_fetch, cleanup=render(tpl.cleanup), keys_off=keys_off,
        leftovers=list(leftovers), keys_from_device=keys_from_device, notes=notes,
    )  # fmt: skip


def _rekey_commands(tpl: CaptureTemplates, values: dict[str, Any], tunnels: list[Tunnel],
                    ike: list[Any], notes: list[str]) -> list[str]:  # fmt: skip
    """The re-keys that make charon derive (and so print) fresh keys during the capture:
    the IKE SA first, so that the CHILD_SA's re-key is protected by keys that are logged."""
    out: list[str] = []
    ike_ids = sorted({str(sa.conn_id) for sa in ike if sa.conn_id is not None})
    child_ids = sorted({str(t.extra["unique_id"]) for t in tunnels
                        if t.extra.get("unique_id") is not None})  # fmt: skip
    for template in tpl.keys_rekey:
        if "{ike_id}" in template:
            out += [tpl.render(template, _values(values, ike_id=i)) for i in ike_ids]
        elif "{child_id}" in template:
            out += [tpl.render(template, _values(values, child_id=c)) for c in child_ids]
        else:
            out.append(tpl.render(template, values))
    if not out:
        notes.append("the device showed no SA ids to re-key: only SAs negotiated during the "
                     "capture can be decrypted")  # fmt: skip
    return out


def leftover_points(
    fleet: Fleet,
    device: str,
    *,
    peer: str,
    vrf: str | None = None,
    name: str | None = None,
) -> tuple[list[str], list[str]]:
    """Capture points present on ``device`` (read-only): ``(ours, others)``.

    ``ours`` is the point this capture would use, left by an earlier run towards the same
    peer (the workflow's lock rules out a run in progress); ``others`` are the rest, named so
    an operator knows, never touched. A device whose listing fails gives ``([], [])``.
    """
    plat = get_platform(fleet.host(device).platform or "")
    tpl = templates_of(plat)
    own = name or tpl.name.format(tag=capture_tag(device, str(ipaddress.ip_address(peer)), vrf))
    if not tpl.show or not tpl.point:
        return [], []
    point = re.compile(tpl.point, re.MULTILINE)
    found: list[str] = []
    runner = fleet.session(device)
    for command in tpl.show:
        try:
            text = runner.send(command)
        except errors.TransportError as exc:
            log.info("%s: cannot list capture points (%s): %s", device, command, exc)
            return [], []
        for m in point.finditer(text):
            if m.group("name") not in found:
                found.append(m.group("name"))
    return [n for n in found if n == own], [n for n in found if n != own]


# ---------------------------------------------------------------------------- the result
@dataclass
class CaptureResult:
    """What one capture did and saw. ``ok``: the capture ran and was cleaned up on the device
    (the report says what was seen). :meth:`as_json` is the short form the audit trail
    keeps; :meth:`document` the full ``capture`` document."""

    device: str
    peer: str
    vrf: str | None
    commands: list[str]
    ok: bool = False
    message: str = ""
    sent: list[str] = field(default_factory=list)
    dry_run: bool = False
    report: dict[str, Any] = field(default_factory=dict)
    pcap_path: str | None = None
    keys_written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cleanup_failed: list[str] = field(default_factory=list)
    """Commands that would remove what is left on the device, when the cleanup failed."""

    def as_json(self) -> dict[str, Any]:
        esp = self.report.get("esp", [])
        return {
            "device": self.device, "peer": self.peer, "vrf": self.vrf,
            "commands": self.commands, "sent": self.sent, "ok": self.ok,
            "dry_run": self.dry_run, "message": self.message,
            "packets": self.report.get("packets"), "pcap": self.pcap_path,
            "spis": [{"spi": e["spi"], "direction": e["direction"], "known": e["known"],
                      "packets": e["packets"]} for e in esp],
            "findings": [f["code"] for f in self.report.get("findings", [])],
            "cleanup_failed": self.cleanup_failed,
        }  # fmt: skip

    def document(self) -> dict[str, Any]:
        """``{"schema": "ipsecctl/v1", "kind": "capture", device, peer, vrf, commands,
        packets, duration_s, esp, ike, findings, pcap, ...}`` with ``ok`` and ``message``."""
        base: dict[str, Any] = {
            "schema": SCHEMA, "kind": "capture", "device": self.device, "peer": self.peer,
            "vrf": self.vrf, "commands": list(self.sent), "packets": 0, "duration_s": None,
            "esp": [], "ike": [],  "findings": [], "pcap": self.pcap_path, "ike_sas": [],
        }  # fmt: skip
        base.update(self.report)
        base.update({
            "commands": list(self.sent), "pcap": self.pcap_path, "ok": self.ok,
            "dry_run": self.dry_run, "message": self.message,
            "planned_commands": list(self.commands),
            "warnings": [*self.report.get("warnings", []), *self.warnings],
            "keys_written": list(self.keys_written),
            "cleanup_failed": list(self.cleanup_failed),
        })  # fmt: skip
        return base


# ---------------------------------------------------------------------------- running it
@dataclass
class _Run:
    plan: CapturePlan
    runner: CommandRunner
    progress: ProgressFn
    result: CaptureResult
    outputs: dict[str, str] = field(default_factory=dict)

    def send(self, command: str, timeout: float | None = None, *, keep: bool = True) -> str:
        """Send one command (audited first). ``keep=False``: output that holds keys, sent
        past any recorder of raw outputs (``--save-raw`` would write it to disk) and not
        kept here."""
        self.progress(Progress("sending", f"sending {command}", command))
        self.result.sent.append(command)
        runner = self.runner
        if not keep:
            from ipsecctl.transport.replay import RawRecorder

            while isinstance(runner, RawRecorder):
                runner = runner.runner
        out = runner.send(command, timeout=timeout)
        if keep:
            self.outputs[command] = out
        return out


@dataclass
class CaptureSpec:
    """Runs a :class:`CapturePlan` (the workflow's ``ActionSpec`` for captures).

    ``write``: a pcapng of the packets between the two ends (0600). ``write_keys``: a folder
    for Wireshark's ``esp_sa`` / ``ikev2_decryption_table`` (0600 files), only when the
    device gave keys. ``sleep``/``clock`` are injectable for tests of the waiting logic.
    """

    fleet: Fleet
    write: Path | None = None
    write_keys: Path | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def dry_run(self, plan: CapturePlan) -> CaptureResult:
        return CaptureResult(plan.device, plan.peer, plan.vrf, plan.all_commands, ok=True,
                             dry_run=True, message="dry run: nothing sent",
                             warnings=list(plan.notes))  # fmt: skip

    def failed(self, plan: CapturePlan, message: str) -> CaptureResult:
        return CaptureResult(plan.device, plan.peer, plan.vrf, plan.all_commands,
                             message=message, warnings=list(plan.notes))  # fmt: skip

    def execute(self, plan: CapturePlan, progress: ProgressFn) -> CaptureResult:
        result = CaptureResult(plan.device, plan.peer, plan.vrf, plan.all_commands,
                               warnings=list(plan.notes))  # fmt: skip
        try:
            runner = self.fleet.session(plan.device)
        except errors.TransportError as exc:
            result.message = f"cannot reach {plan.device}: {exc}; nothing was sent"
            return result
        renew = getattr(runner, "renew_deadline", None)
        if callable(renew):  # a capture outlasts a poll's budget: give it its own
            renew(plan.seconds + STREAM_GRACE_S + 120)
        run = _Run(plan, runner, progress, result)
        captured: str | None = None
        keys_text: str | None = None
        elapsed: float | None = None
        armed = plan.mode == "stream"
        keys_armed = False
        try:
            for command in plan.check:
                run.send(command)
            for command in plan.remove:
                run.send(command)
            for command in plan.keys_on:
                keys_armed = True
                run.send(command)
            for command in plan.setup:
                armed = True  # the point may exist from its first command on
                run.send(command)
            for command in plan.start:
                armed = True
                run.send(command)
            t0 = self.clock()
            if plan.mode == "buffer":
                progress(Progress("polling", f"capturing for {plan.seconds}s"))
                self._wait(t0 + plan.seconds, run)
                elapsed = self.clock() - t0
                for command in plan.stop:
                    run.send(command)
                captured = "".join(run.send(c, timeout=120.0) for c in plan.fetch)
            else:
                progress(Progress("polling", f"capturing for {plan.seconds}s (streamed)"))
                captured = "".join(run.send(c, timeout=plan.seconds + STREAM_GRACE_S)
                                   for c in plan.fetch)  # fmt: skip
                elapsed = self.clock() - t0
            for command in plan.keys_fetch:
                keys_text = run.send(command, keep=False)
        except errors.CommandRejected as exc:
            result.message = _rejected(plan, exc)
        except errors.TransportError as exc:
            result.message = f"connection to {plan.device} lost during the capture: {exc}"
        finally:
            # runs on Ctrl-C too: the interrupt goes on after the device is clean
            self._clean(run, armed, keys_armed)
        if result.message:
            result.message += _by_hand(result)
            return result
        try:
            report = self._analyse(plan, captured or "", keys_text, elapsed, result)
        except errors.IpsecctlError as exc:
            result.message = f"the capture ran but could not be read: {exc}"
            return result
        finally:
            keys_text = None  # keys live only as long as the analysis
        result.report = report
        result.ok = not result.cleanup_failed
        n = report["packets"]
        result.message = (
            f"{n} packet(s) captured in {elapsed or 0:.1f}s"
            if n
            else f"the capture saw nothing in {elapsed or 0:.1f}s with the filter {plan.filter}"
        )
        result.message += _by_hand(result)
        progress(Progress("done", result.message))
        return result

    def _wait(self, until: float, run: _Run) -> None:
        """Until the capture's time is up, or the device says it reached its own limit."""
        plan = run.plan
        done = re.compile(plan.finished, re.MULTILINE) if plan.finished else None
        next_look = self.clock() + STATUS_EVERY_S
        while True:
            now = self.clock()
            left = until - now
            if left <= 0:
                return
            if plan.status and done is not None and now >= next_look:
                if done.search(run.send(plan.status)):
                    return
                next_look = self.clock() + STATUS_EVERY_S
            self.sleep(min(left, 0.25, max(next_look - self.clock(), 0.01)))

    def _clean(self, run: _Run, armed: bool, keys_armed: bool) -> None:
        """Send every cleanup command; one that cannot be sent is kept in the result with
        what is left to send, so an operator can finish by hand."""
        plan, result = run.plan, run.result
        todo = (plan.cleanup if armed else []) + (plan.keys_off if keys_armed else [])
        for i, command in enumerate(todo):
            try:
                run.send(command)
            except errors.CommandRejected as exc:
                log.warning("%s: cleanup %r refused: %s", plan.device, command, exc)
                result.warnings.append(f"cleanup {command!r}: {exc}")
            except errors.TransportError as exc:
                log.warning("%s: cleanup lost: %s", plan.device, exc)
                result.cleanup_failed = list(todo[i:])
                return

    def _analyse(self, plan: CapturePlan, captured: str, keys_text: str | None,
                 elapsed: float | None, result: CaptureResult) -> dict[str, Any]:  # fmt: skip
        from ipsecctl.diag.capture.analysis import analyse_capture

        frames = between_ends(frames_of_output(captured, plan.format, plan.platform,
                                           label=f"{plan.device}: {plan.fetch[0]}"),
                          plan.local, plan.peer)  # fmt: skip
        if len(frames) > plan.packets:
            result.warnings.append(f"the device returned {len(frames)} packets; the first "
                                   f"{plan.packets} were kept")  # fmt: skip
            frames = frames[: plan.packets]
        keys: CharonKeys | None = None
        if keys_text is not None:
            from ipsecctl.diag.ike.charon_keys import parse_charon_log

            keys = parse_charon_log(keys_text, source=f"{plan.device} charon log")
            result.warnings += keys.warnings
            if not keys.esp and not keys.ike:
                result.warnings.append("charon printed no keys during the capture")
        current, previous = self._sas(plan)
        pcap: str | None = None
        if self.write is not None:
            from ipsecctl.diag.packets.pcap import PcapngWriter

            with PcapngWriter(self.write) as writer:
                for f in frames:
                    writer.write(f.time, f.linktype, f.data)
            pcap = str(self.write)
            result.pcap_path = pcap
        report = analyse_capture(
            frames, device=plan.device, peer=plan.peer, vrf=plan.vrf, sas=current,
            previous_spis=previous, local_addr=plan.local, keys=keys,
            commands=result.sent, pcap=pcap,
        ).to_dict()  # fmt: skip
        _replaced_during(report, plan)
        if report["duration_s"] is None and elapsed is not None and frames:
            report["duration_s"] = round(elapsed, 3)  # the dump printed no times
        if keys is not None and self.write_keys is not None and (keys.esp or keys.ike):
            from ipsecctl.diag.ike.charon_keys import write_wireshark_keys

            ike = [k for ks in keys.ike if (k := ks.to_keys()) is not None]
            written = write_wireshark_keys(self.write_keys, keys.esp, ike)
            result.keys_written = [str(p) for p in written]
        return report

    def _sas(self, plan: CapturePlan) -> tuple[list[Any], set[int]]:
        """The device's SAs right after the capture, and every SPI seen before it."""
        previous = set(plan.old_spis)
        before = self.fleet.previous(plan.device)
        if before is not None:
            previous |= {s for t in tunnels_to(before, plan.peer, plan.vrf) for s in t.spis()}
        try:
            state = self.fleet.poll_one(plan.device)
        except errors.IpsecctlError as exc:
            log.info("%s: re-poll after the capture failed: %s", plan.device, exc)
            state = None
        tunnels = tunnels_to(state, plan.peer, plan.vrf) if state and state.reachable else []
        if not tunnels:
            tunnels = plan.tunnels
        current = [sa for t in tunnels for sa in t.sas]
        return current, previous - {sa.spi for sa in current}


def _replaced_during(report: dict[str, Any], plan: CapturePlan) -> None:
    """SAs the device had when the capture began and replaced while it ran (a re-key): their
    packets arrived while they were valid, so they are not SPI errors. Such SPIs stay
    ``known: previous`` (the device no longer has them), get the direction and transform
    the device showed, and ``replaced_during_capture: true``."""
    before = {sa.spi: sa for t in plan.tunnels for sa in t.sas if sa.protocol == "esp"}
    replaced = set()
    for e in report["esp"]:
        sa = before.get(e["spi"])
        e["replaced_during_capture"] = sa is not None and e["known"] == "previous"
        if e["replaced_during_capture"] and sa is not None:
            replaced.add(e["spi"])
            e["direction"], e["transform"] = sa.direction, sa.transform
    report["findings"] = [f for f in report["findings"]
                          if not (f["code"] == "INVALID_SPI"
                                  and f.get("extra", {}).get("spi") in replaced)]  # fmt: skip


def _by_hand(result: CaptureResult) -> str:
    """What the operator must still type on the device when the cleanup could not be sent."""
    if not result.cleanup_failed:
        return ""
    return "; the cleanup could not be sent: on the device, run " + "; ".join(result.cleanup_failed)


def _rejected(plan: CapturePlan, exc: errors.CommandRejected) -> str:
    command = exc.command or "a capture command"
    return (
        f"{plan.device} refused {command!r}: {exc}; the device lacks this capture "
        "command or the account lacks the privilege for it"
    )


# ---------------------------------------------------------------------------- reading output
def frames_of_output(text: str, fmt: str, platform: str, *, label: str) -> list[Frame]:
    """Frames of what a capture's fetch command printed: a printed dump (read by the same
    readers as a saved file) or a base64 pcap stream. No packet at all is an empty list."""
    from ipsecctl.diag.capture.files import frames_from_text
    from ipsecctl.diag.packets.reader import iter_segment, stream_segments

    if fmt == "pcap-base64":
        body = "".join(line.strip() for line in text.splitlines()
                       if re.fullmatch(r"[A-Za-z0-9+/=]+", line.strip()))  # fmt: skip
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.InputFileError(
                f"{label}: the streamed capture is not base64 ({exc})"
            ) from None
        if len(data) <= 24:  # a pcap header and no packet
            return []
        segments = stream_segments(io.BytesIO(data), Path(label))
        return [f for seg in segments for f in iter_segment(seg)]
    if not re.search(r"^\s*(?:0x)?[0-9A-Fa-f]{4,8}:?\s+[0-9A-Fa-f]{2}", text, re.MULTILINE):
        return []
    return list(frames_from_text(text, label=label, platform=platform, fmt=fmt))


def between_ends(frames: Iterable[Frame], local: str | None, peer: str) -> list[Frame]:
    """Only packets between the two ends (a capture point may take more than asked)."""
    want_peer = str(ipaddress.ip_address(peer))
    ends = {want_peer} | ({str(ipaddress.ip_address(local))} if local else set())
    out = []
    for f in frames:
        ip = f.ip
        if ip is None:
            continue
        pair = {_norm(ip.src), _norm(ip.dst)}
        if want_peer in pair and (local is None or pair <= ends):
            out.append(f)
    return out


def _norm(addr: str) -> str:
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return addr
