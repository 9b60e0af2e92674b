"""Review and apply a rendered device: diff against the running configuration, and send.

Why the diff is computed on redacted text: the running-config may hold the key in clear (IOS-XE
keyrings) and the generated text holds a placeholder, so both sides are masked with
:func:`ipsecctl.redact.redact_text` first. Key lines then compare equal in the diff, which is
what an operator can safely be shown; the key is (re)sent on every push whatever the diff says.

Cisco ends are pushed as ``configure terminal`` + the generated lines + ``end`` (+ ``write
memory``) through any :class:`~ipsecctl.transport.base.CommandRunner`. A rejected line stops the
push, leaves configuration mode and names the line (redacted). strongSwan ends get their
``swanctl.conf`` snippet written 0600 by a here-document (one exec command, redactable: the key
sits on a ``secret = "..."`` line) and loaded with ``swanctl --load-all``.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ipsecctl import errors
from ipsecctl.provision.device_configs import Rendered
from ipsecctl.provision.model import End, TunnelSpec
from ipsecctl.redact import redact_text

SWANCTL_DIR = "/etc/swanctl/conf.d"
_SECTION_HEADS = (
    "crypto ",
    "ip access-list ",
    "access-list ",
    "interface ",
    "ip route ",
    "tunnel-group ",
    "object-group ",
)


def swanctl_path(end: End, spec: TunnelSpec) -> str:
    return end.swanctl_file or f"{SWANCTL_DIR}/{spec.name}.conf"


def blocks(text: str) -> list[list[str]]:
    """Top-level lines with their indented children (IOS/ASA configuration shape)."""
    out: list[list[str]] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip() or line.strip() == "!" or line.startswith("!"):
            continue
        if line.startswith(" "):
            if out and line.strip() != "!":
                out[-1].append(line)
            continue
        out.append([line])
    return out


def crypto_sections(running: str) -> list[list[str]]:
    """The blocks of a running-config that provisioning may touch (redacted)."""
    return [b for b in blocks(redact_text(running)) if b[0].startswith(_SECTION_HEADS)]


def merged(current: list[list[str]], desired: list[list[str]]) -> list[list[str]]:
    """``current`` with ``desired`` applied the way IOS applies typed lines: children of a known
    header are added when missing, unknown headers are appended (pure)."""
    result = [list(b) for b in current]
    index = {b[0]: b for b in result}
    for block in desired:
        have = index.get(block[0])
        if have is None:
            new = list(block)
            result.append(new)
            index[block[0]] = new
            continue
        for child in block[1:]:
            if child not in have:
                have.append(child)
    return result


def _lines(bs: list[list[str]]) -> list[str]:
    return [ln for b in bs for ln in b]


@dataclass
class EndDiff:
    """What pushing one end would change; ``changed`` False means it is already there."""

    end: str
    device: str
    platform: str
    diff: list[str]
    added: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added)

    def as_json(self) -> dict[str, Any]:
        return {
            "end": self.end,
            "device": self.device,
            "platform": self.platform,
            "changed": self.changed,
            "added": self.added,
            "diff": self.diff,
        }


def swanctl_load(path: str) -> str:
    """How a snippet is loaded. In a ``conf.d`` folder it is included by the swanctl.conf
    beside that folder (the stock ``include conf.d/*.conf``), so that file is loaded: every
    other connection stays. A file elsewhere is loaded alone (``--file``), which replaces what
    charon had loaded from elsewhere: keep network snippets in conf.d."""
    if path.startswith(SWANCTL_DIR + "/"):
        return "swanctl --load-all"
    folder, _, _name = path.rpartition("/")
    if folder.endswith("/conf.d"):
        return f"swanctl --load-all --file {folder[: -len('/conf.d')]}/swanctl.conf"
    return f"swanctl --load-all --file {path}"


_swan_load = swanctl_load


OnSend = Callable[[str], None]


def push_end(
    runner: Any,
    real: Rendered,
    spec: TunnelSpec,
    *,
    write_memory: bool,
    on_send: OnSend | None = None,
) -> dict[str, str]:
    """Send ``real`` (rendered with the key) to the device; outputs by (redacted) command.

    ``on_send`` hears each command (redacted) before it is sent: the audit trail records it
    first, and an exception from it stops the push before that command leaves.
    """
    outputs: dict[str, str] = {}
    if real.platform == "strongswan":
        path = swanctl_path(real.end, spec)
        body = real.text if real.text.endswith("\n") else real.text + "\n"
        if "IPSECCTL_EOF" in body:
            raise errors.UsageError("rendered swanctl text contains the here-document marker")
        command = (
            f"umask 077 && mkdir -p {path.rsplit('/', 1)[0]} && "
            f"cat > {path} <<'IPSECCTL_EOF'\n{body}IPSECCTL_EOF"
        )
        _send(runner, command, outputs, on_send, shown=f"cat > {path}")
        _send(runner, _swan_load(path), outputs, on_send)
        return outputs
    _send(runner, "configure terminal", outputs, on_send)
    try:
        for line in real.config_lines():
            _send(runner, line, outputs, on_send)
    finally:
        # leaving configuration mode is always right, audited or not
        with contextlib.suppress(Exception):
            if on_send is not None:
                on_send("end")
        with contextlib.suppress(errors.TransportError):  # report the original failure
            runner.send("end")
    if write_memory:
        _send(runner, "write memory", outputs, on_send)
    return outputs


def _send(
    runner: Any,
    command: str,
    outputs: dict[str, str],
    on_send: OnSend | None,
    shown: str | None = None,
) -> None:
    label = shown or redact_text(command)
    if on_send is not None:
        on_send(label)
    try:
        outputs[label] = redact_text(str(runner.send(command)))
    except errors.CommandRejected as exc:
        raise errors.CommandRejected(
            redact_text(f"{runner.device} rejected {label!r}: {exc.message}"),
            device=exc.device,
            command=label,
        ) from None


def diff_device(runner: Any, r: Any) -> EndDiff:
    """What pushing one device of a network would change (a :class:`DeviceRender`)."""
    if r.platform == "strongswan":
        path = r.node.swanctl_file or f"{SWANCTL_DIR}/{r.network}.conf"
        text = str(runner.send(f"cat {path} 2>/dev/null || true"))
        before = redact_text(text).splitlines()
        after = redact_text(r.text).splitlines()
        diff = list(
            difflib.unified_diff(
                before, after, fromfile=f"{r.name}:{path}", tofile=f"{r.name} rendered", lineterm=""
            )
        )
        added = [
            ln[1:] for ln in diff if ln.startswith(("+", "-")) and not ln.startswith(("+++", "---"))
        ]
        return EndDiff(r.name, r.target, r.platform, diff, added)
    running = str(runner.send("show running-config"))
    live = crypto_sections(running)
    wanted = blocks(redact_text(r.text))
    before_l, after_l = _lines(live), _lines(merged(live, wanted))
    diff = list(
        difflib.unified_diff(
            before_l,
            after_l,
            fromfile=f"{r.name} running-config",
            tofile=f"{r.name} with {r.filename}",
            lineterm="",
        )
    )
    added = [ln[1:] for ln in diff if ln.startswith("+") and not ln.startswith("+++")]
    return EndDiff(r.name, r.target, r.platform, diff, added)
