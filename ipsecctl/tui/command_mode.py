"""The ``:`` command line (k9s's command mode): the grammar and its completion, no Textual.

``:tunnels [regex]``, ``:faults``, ``:devices``, ``:ike``, ``:logs DEVICE``, ``:device
DEVICE``, ``:tunnel PEER|ID``, ``:probe``, ``:capture``, ``:decode``, ``:shell [DEVICE]``,
``:events``, ``:refresh``, ``:pause``, ``:help``, ``:quit``. Unique prefixes and the aliases
below work too (``:ta`` is not unique between nothing, ``:t`` is ``:tunnels``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    name: str
    arg: str  # "" none, "device", "device?", "tunnel", "filter?"
    help: str
    aliases: tuple[str, ...] = ()


COMMANDS: tuple[Spec, ...] = (
    Spec("tunnels", "filter?", "every tunnel (optionally filtered by a regex)", ("t", "tun")),
    Spec("faults", "", "only the tunnels with a fault", ("f",)),
    Spec("devices", "", "the fleet pane (devices)", ("d", "fleet", "dev")),
    Spec("ike", "", "every IKE SA of the fleet", ("isakmp",)),
    Spec("logs", "device", "a device's log lines, explained", ("l", "log")),
    Spec("device", "device", "a device's screen"),
    Spec("tunnel", "tunnel", "a tunnel's screen (peer address or tunnel id)"),
    Spec("probe", "", "IKE probe of the selected tunnel's peer", ("p",)),
    Spec("capture", "", "capture ESP/IKE on the selected tunnel's device", ("x", "cap")),
    Spec("decode", "", "decode an ESP/IKE capture file with its keys", ("o", "esp")),
    Spec("shell", "device?", "interactive SSH shell on a device", ("s", "ssh")),
    Spec("events", "", "the events pane", ("e",)),
    Spec("refresh", "", "poll every device now", ("r",)),
    Spec("pause", "", "pause or resume polling"),
    Spec("help", "", "every key and command", ("h", "?")),
    Spec("quit", "", "leave the dashboard", ("q", "q!", "exit")),
)
BY_NAME = {c.name: c for c in COMMANDS}


class CommandError(ValueError):
    """A command line that names no command, or lacks its argument (shown, not raised on)."""


@dataclass(frozen=True)
class Command:
    name: str
    arg: str = ""


def resolve(word: str) -> Spec:
    word = word.lower()
    for spec in COMMANDS:
        if word == spec.name or word in spec.aliases:
            return spec
    matches = [c for c in COMMANDS if c.name.startswith(word)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CommandError(f"unknown command :{word}; try :help")
    raise CommandError(f":{word} could be {', '.join(':' + m.name for m in matches)}")


def parse(text: str) -> Command:
    """``"logs r11"`` -> Command("logs", "r11"); CommandError says what is wrong."""
    body = text.strip().lstrip(":").strip()
    if not body:
        raise CommandError("type a command, e.g. :tunnels, :faults, :logs r11")
    word, _, rest = body.partition(" ")
    spec = resolve(word)
    arg = rest.strip()
    if spec.arg in ("device", "tunnel") and not arg:
        what = "a device name" if spec.arg == "device" else "a peer address or tunnel id"
        raise CommandError(
            f":{spec.name} needs {what}, e.g. :{spec.name} "
            + ("r11" if spec.arg == "device" else "127.0.1.4")
        )
    if not spec.arg and arg:
        raise CommandError(f":{spec.name} takes no argument")
    return Command(spec.name, arg)


def complete(text: str, devices: Sequence[str] = (), tunnels: Sequence[str] = ()) -> list[str]:
    """Whole command lines ``text`` can complete to, best first (the first is suggested)."""
    raw = text.lstrip(":")
    if " " not in raw:
        word = raw.lower()
        names = [c.name for c in COMMANDS if c.name.startswith(word)]
        names += [c.name for c in COMMANDS if word and word in c.aliases and c.name not in names]
        return names
    word, _, rest = raw.partition(" ")
    try:
        spec = resolve(word)
    except CommandError:
        return []
    pool: Sequence[str] = ()
    if spec.arg.startswith("device"):
        pool = devices
    elif spec.arg == "tunnel":
        pool = tunnels
    arg = rest.lstrip()
    return [f"{word} {c}" for c in pool if c.lower().startswith(arg.lower()) and c != arg]


def usage() -> list[tuple[str, str]]:
    """(``:name ARG``, help) for the help screen."""
    out = []
    for c in COMMANDS:
        arg = {
            "device": " DEVICE",
            "device?": " [DEVICE]",
            "tunnel": " PEER|ID",
            "filter?": " [REGEX]",
        }.get(c.arg, "")
        alias = f"  (:{', :'.join(c.aliases)})" if c.aliases else ""
        out.append((f":{c.name}{arg}", c.help + alias))
    return out
