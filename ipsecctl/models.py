"""The one vocabulary every platform is translated into (JSON schema ``ipsecctl/v1``).

Field names are a public contract: scripts read them from ``--json`` output, so renaming or
removing one is a breaking change (``tests/test_schema.py`` pins the schema). Values that a
device did not report are ``None``; nothing is invented (an IKE table that says ``aes``
without a key size gives ``encryption: None`` and ``extra.encryption_raw: "aes"``). Values a
platform gives that have no field of their own go into ``extra``.

DH groups have one representation everywhere: ``dh_group`` is the IANA Diffie-Hellman group
number (14, 19, 31...) on an IKE SA and on a tunnel (for a tunnel: the PFS group); a tunnel's
``pfs`` is a bool (PFS in use or not, ``None`` when the device does not say). Human tables may
print strongSwan's names (``modp2048``); JSON and CSV carry the numbers.

Parsers (``parsers/``) return plain dicts whose keys are these field names, which is why the
parsers never import this module. Their records are already typed (the parser tests validate
every real output against these models), so :meth:`_Model.trusted` builds a model from one
without revalidating each field; data from outside (snapshots, store rows, files) goes through
``model_validate``. Schemas are built on first validation (``defer_build``): a command that
only parses and prints never pays for them.

JSON: :func:`to_json` writes any document holding models with orjson, in the exact shape
of ``model_dump(mode="json")``; figures derived from a tunnel (its MTU, ``extra.mtu``) are
added by the writer's ``derive`` as the document is written, not on every poll.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Literal, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator
from pydantic_core import PydanticUndefined

SCHEMA = "ipsecctl/v1"

Status = Literal["up", "negotiating", "down"]
TunnelState = Literal["up", "down", "idle", "negotiating"]
Severity = Literal["info", "warning", "error", "critical"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2, "critical": 3}


def _literal_values(annotation: Any) -> frozenset[Any] | None:
    """``Literal["a", "b"] | None`` -> {"a", "b", None}; None for any other annotation."""
    if typing.get_origin(annotation) is Literal:
        return frozenset(typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        values: set[Any] = set()
        for arg in typing.get_args(annotation):
            if arg is type(None):
                values.add(None)
                continue
            inner = _literal_values(arg)
            if inner is None:
                return None
            values |= inner
        return frozenset(values)
    return None


def _model_in(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """The model a field holds (``X``, ``X | None``) or lists (``list[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    if origin is list:
        (arg,) = typing.get_args(annotation)
        return (arg, True) if isinstance(arg, type) and issubclass(arg, BaseModel) else None
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


_BUILDERS: dict[type[BaseModel], Callable[[dict[str, Any]], Any]] = {}


def _builder(cls: type[BaseModel]) -> Callable[[dict[str, Any]], Any]:
    """The constructor :func:`trusted` uses for ``cls``, generated once from its fields (as
    ``dataclasses`` generates ``__init__``): defaults in field order, fresh containers for
    factory defaults, a membership test per enumerated field, nested records built too."""
    found = _BUILDERS.get(cls)
    if found is not None:
        return found
    env: dict[str, Any] = {
        "cls": cls,
        "new": cls.__new__,
        "put": object.__setattr__,
        "validate": cls.model_validate,
        "NAMES": frozenset(cls.model_fields),
    }
    items: list[str] = []
    checks: list[str] = []
    nested: list[str] = []
    for n, (name, info) in enumerate(cls.model_fields.items()):
        key = repr(name)
        if info.default_factory is not None:
            env[f"F{n}"] = info.default_factory
            items.append(f"{key}: values[{key}] if {key} in values else F{n}()")
        elif info.default is PydanticUndefined:
            items.append(f"{key}: values[{key}]")  # KeyError: validated instead
        else:
            env[f"D{n}"] = info.default
            items.append(f"{key}: values[{key}] if {key} in values else D{n}")
        allowed = _literal_values(info.annotation)
        if name == "pfs":  # a flag; older history holds a group name: validated instead
            allowed = frozenset({True, False, None})
        if allowed is not None:
            env[f"C{n}"] = allowed
            checks.append(f"data[{key}] not in C{n}")
        held = _model_in(info.annotation)
        if held is not None:
            env[f"M{n}"] = held[0]
            env[f"B{n}"] = _builder(held[0])
            if held[1]:
                nested.append(
                    f"    if data[{key}]:\n        data[{key}] = [v if type(v) is M{n}"
                    f" else B{n}(v) for v in data[{key}]]"
                )
            else:
                nested.append(
                    f"    v = data[{key}]\n    if v is not None and type(v) is not"
                    f" M{n}:\n        data[{key}] = B{n}(v)"
                )
    source = "\n".join(
        [
            "def build(values):",
            "    try:",
            "        if not values.keys() <= NAMES:",
            "            return validate(values)",
            "        data = {" + ", ".join(items) + "}",
            *(
                [f"        if {' or '.join(checks)}:", "            return validate(values)"]
                if checks
                else []
            ),
            "    except (KeyError, TypeError):  # a missing field, an unhashable value",
            "        return validate(values)",
            *nested,
            "    obj = new(cls)",
            "    put(obj, '__dict__', data)",
            "    put(obj, '__pydantic_fields_set__', set(values))",
            "    put(obj, '__pydantic_extra__', None)",
            "    put(obj, '__pydantic_private__', None)",
            "    return obj",
        ]
    )
    exec(source, env)
    built: Callable[[dict[str, Any]], Any] = env["build"]
    _BUILDERS[cls] = built
    return built


_T = typing.TypeVar("_T", bound=BaseModel)


def trusted(cls: type[_T], values: dict[str, Any]) -> _T:
    """``cls`` from values this program typed itself (parser records, models it built, the
    platform files it ships, each checked by a test) without field validation; anything
    that does not fit the model's shape (an unknown or missing key, a value outside an
    enumeration) goes through ``model_validate`` instead, which raises exactly as it always
    did."""
    build = _BUILDERS.get(cls) or _builder(cls)
    return build(values)


class _Model(BaseModel):
    """Base: unknown keys are rejected so a parser typo fails loudly instead of vanishing."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, defer_build=True)

    extra: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def trusted(cls, values: dict[str, Any]) -> Self:
        """The model of a record a parser produced: its values are already typed, so only
        the shape is checked (keys, enumerated values); nested records become models too.
        A record that does not fit is validated, and raises ``ValidationError`` as
        ``model_validate`` does."""
        build = _BUILDERS.get(cls) or _builder(cls)
        return build(values)


class TrafficSelector(BaseModel):
    """One side of a protected flow: ``{prefix, protocol, port}`` (0 = any)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    prefix: str
    protocol: int = 0
    port: int = 0

    def __str__(self) -> str:
        text = self.prefix
        if self.protocol:
            text += f" proto {self.protocol}"
        if self.port:
            text += f" port {self.port}"
        return text


class IkeSa(_Model):
    """One IKE (ISAKMP / IKEv2) SA as the device reports it.

    ``src``/``dst`` keep the raw IKEv1 table columns, whose direction is that of the first
    packet; ``local``/``remote`` are set only when the device says which side is which.
    """

    device: str = ""
    version: Literal[1, 2] | None = None
    local: str | None = None
    remote: str | None = None
    src: str | None = None
    dst: str | None = None
    local_port: int | None = None
    remote_port: int | None = None
    state: str | None = None
    status: Status = "down"
    conn_id: int | None = None
    spi_i: str | None = None
    spi_r: str | None = None
    role: Literal["initiator", "responder"] | None = None
    encryption: str | None = None
    integrity: str | None = None
    prf: str | None = None
    dh_group: int | None = None
    auth: str | None = None
    lifetime_s: int | None = None
    remaining_s: int | None = None
    nat_t: bool | None = None
    fvrf: str | None = None
    ivrf: str | None = None

    def peer_address(self) -> str | None:
        """The far end: ``remote`` when known, else whichever IKEv1 column is not ours."""
        return self.remote or self.dst


class IpsecSa(_Model):
    """One IPsec SA: one direction, one protocol, identified by SPI + destination + protocol."""

    direction: Literal["in", "out"]
    protocol: Literal["esp", "ah", "pcp"] = "esp"
    spi: int
    transform: str | None = None
    encryption: str | None = None
    integrity: str | None = None
    mode: Literal["tunnel", "transport"] | None = None
    udp_encap: bool = False
    esn: bool = False
    conn_id: int | None = None
    remaining_kb: int | None = None
    remaining_s: int | None = None
    replay_window: int | None = None
    status: str | None = None

    @property
    def spi_hex(self) -> str:
        return f"0x{self.spi:08X}"

    @property
    def live(self) -> bool:
        """False for an SA on its way out (strongSwan keeps a rekeyed CHILD_SA as DELETED for
        a few seconds): it carries no traffic and must not count as the tunnel being up."""
        status = (self.status or "").upper()
        return not status.startswith(DEAD_SA_STATUS)


DEAD_SA_STATUS = ("DELET", "DESTROY", "REKEYED")

COUNTER_NAMES = (
    "pkts_encaps",
    "pkts_encrypt",
    "pkts_digest",
    "pkts_decaps",
    "pkts_decrypt",
    "pkts_verify",
    "send_errors",
    "recv_errors",
    "replay_failed",
    "decrypt_failed",
    "verify_failed",
    "bytes_in",
    "bytes_out",
)


class Tunnel(_Model):
    """One protected traffic-selector pair to one peer (a Cisco ident, a strongSwan CHILD_SA)."""

    id: str = ""
    device: str = ""
    platform: str = ""
    kind: Literal["crypto_map", "vti", "dmvpn", "child_sa"] = "crypto_map"
    interface: str | None = None
    crypto_map: str | None = None
    map_seq: int | None = None
    vrf: str | None = None
    local_addr: str | None = None
    peer: str | None = None
    peer_port: int | None = None
    local_ts: TrafficSelector | None = None
    remote_ts: TrafficSelector | None = None
    pfs: bool | None = None
    dh_group: int | None = None
    counters: dict[str, int] = Field(default_factory=dict)
    sas: list[IpsecSa] = Field(default_factory=list)
    ike_state: str | None = None
    ike_status: Status | None = None
    state: TunnelState = "down"
    expected_up: bool | None = None
    uptime_s: int | None = None

    @field_validator("pfs", mode="before")
    @classmethod
    def _pfs_flag(cls, value: Any) -> Any:
        """History written before ``pfs`` became a flag holds the group name (``group14``,
        ``modp2048``) or ``none``: read those as the flag they imply."""
        if isinstance(value, str):
            return value.strip().lower() not in ("", "none", "no", "n", "false", "0")
        return value

    def identity(self) -> str:
        """Stable across polls and rekeys: device, vrf, peer and selectors, never SPIs."""
        parts = [
            self.device,
            self.vrf or "",
            self.peer or "",
            str(self.local_ts) if self.local_ts else "",
            str(self.remote_ts) if self.remote_ts else "",
        ]
        return "|".join(parts)

    def key(self) -> str:
        """What matches a tunnel with itself in another poll (the rules' previous poll, the
        transitions, the exporter's series): its ``id``, else (a tunnel not assembled from a
        poll) its identity. An id spares the identity's string building: a dashboard
        refresh of 10,000 tunnels looks up every one of them."""
        return self.id or self.identity()

    def with_identity(self) -> Tunnel:
        """Fill ``id`` from the identity (a short hash keeps it usable on a command line)."""
        digest = hashlib.sha1(self.identity().encode(), usedforsecurity=False).hexdigest()
        self.__dict__["id"] = f"{self.device}:{digest[:10]}"  # as assignment would, faster
        self.__pydantic_fields_set__.add("id")
        return self

    def spis(
        self, direction: str | None = None, protocol: str = "esp", *, live_only: bool = False
    ) -> list[int]:
        return [
            sa.spi
            for sa in self.sas
            if sa.protocol == protocol
            and (direction is None or sa.direction == direction)
            and (not live_only or sa.live)
        ]

    @property
    def pkts_in(self) -> int | None:
        return self.counters.get("pkts_decaps")

    @property
    def pkts_out(self) -> int | None:
        return self.counters.get("pkts_encaps")

    @property
    def error_count(self) -> int:
        keys = (
            "send_errors",
            "recv_errors",
            "replay_failed",
            "decrypt_failed",
            "verify_failed",
        )
        return sum(self.counters.get(k, 0) for k in keys)


#: error kinds that do not make a poll fail: lines a grammar did not know, and an optional
#: command (the device's log) that the device or a replay could not give
NON_FATAL_KINDS = frozenset({"parse_warning", "unavailable"})


class CommandError(BaseModel):
    """What failed while polling one device: which command (or stage) and why."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    command: str | None = None
    kind: str
    message: str

    @property
    def fatal(self) -> bool:
        """Whether the poll failed (exit 1); see :data:`NON_FATAL_KINDS`."""
        return self.kind not in NON_FATAL_KINDS


class DeviceState(BaseModel):
    """One poll of one device. ``errors`` keeps what failed without losing what succeeded."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    device: str
    platform: str
    polled_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    reachable: bool = True
    ike_sas: list[IkeSa] = Field(default_factory=list)
    tunnels: list[Tunnel] = Field(default_factory=list)
    errors: list[CommandError] = Field(default_factory=list)
    raw: dict[str, str] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    #: where the poll reached the device (``host:port`` from the inventory, ``host`` when the
    #: port is ssh_config's); None for saved outputs. See :meth:`continues`.
    endpoint: str | None = None

    @field_serializer("polled_at")
    def _iso(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def continues(self, earlier: DeviceState) -> bool:
        """Whether this poll may be compared with ``earlier`` of the same name: both reached
        the device at one endpoint, or either does not say (saved outputs, states stored
        before endpoints were recorded). A poll from elsewhere is another device of that
        name (a second inventory or lab naming its routers alike, a router replaced at a new
        address), whose SPIs and counters would read as tunnels rebuilt between polls."""
        mine, theirs = self.endpoint, earlier.endpoint
        return mine is None or theirs is None or mine == theirs

    @property
    def ike_up(self) -> int:
        return sum(1 for sa in self.ike_sas if sa.status == "up")

    @property
    def tunnels_up(self) -> int:
        return sum(1 for t in self.tunnels if t.state == "up")

    def summary(self) -> dict[str, Any]:
        """The row of ``ipsecctl status --json``."""
        return {
            "device": self.device,
            "platform": self.platform,
            "reachable": self.reachable,
            "ike_up": self.ike_up,
            "ike_total": len(self.ike_sas),
            "tunnels_up": self.tunnels_up,
            "tunnels_total": len(self.tunnels),
            "errors": [
                {"command": e.command, "kind": e.kind, "message": e.message} for e in self.errors
            ],
        }


class Finding(BaseModel):
    """One diagnosis: a stable ``code``, the evidence it rests on, and what to type next."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    code: str
    severity: Severity
    device: str | None = None
    peer: str | None = None
    summary: str
    evidence: list[str] = Field(default_factory=list)
    causes: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


def envelope(kind: str, **payload: Any) -> dict[str, Any]:
    """Every ``--json`` document: one object, schema and kind first, then the command's keys."""
    return {"schema": SCHEMA, "kind": kind, **payload}


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of a model, as pydantic dumps it (no derived figures)."""
    return model.model_dump(mode="json")


# -- JSON ------------------------------------------------------------------------------------
def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: what a document adds to a tunnel's ``extra`` as it is written (figures derived from the
#: tunnel, such as its MTU): given by the writer, so this module stays free of diagnostics
Derive = Callable[["Tunnel"], dict[str, Any] | None]


def _state_doc(state: DeviceState) -> dict[str, Any]:
    body = dict(state.__dict__)
    body["polled_at"] = _iso(state.polled_at)
    return body


#: Models whose JSON is their fields as they are (values already JSON types); the rest go
#: through pydantic. ``DeviceState`` adds its UTC time.
_DOCS: dict[type[BaseModel], Callable[[Any], dict[str, Any]]] = {
    IkeSa: lambda m: m.__dict__,
    IpsecSa: lambda m: m.__dict__,
    TrafficSelector: lambda m: m.__dict__,
    CommandError: lambda m: m.__dict__,
    Finding: lambda m: m.__dict__,
    Tunnel: lambda m: m.__dict__,
    DeviceState: _state_doc,
}


def _default(value: Any, derive: Derive | None = None) -> Any:
    """What orjson cannot write itself, in pydantic's JSON form (``str`` for the rest)."""
    if derive is not None and type(value) is Tunnel:
        added = derive(value)
        body = dict(value.__dict__)
        if added:
            body["extra"] = {**value.extra, **added}
        return body
    to_doc = _DOCS.get(type(value))
    if to_doc is not None:
        return to_doc(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


def to_json(doc: Any, *, indent: bool = True, derive: Derive | None = None) -> bytes:
    """``doc`` (dicts, lists, models) as UTF-8 JSON, two-space indented unless ``indent`` is
    false; models appear exactly as ``model_dump(mode="json")`` gives them, tunnels' ``extra``
    with what ``derive`` adds. Written by orjson; what it refuses (an integer past 64 bits)
    falls back to the standard library, same shape."""
    options = _OPTIONS | orjson.OPT_INDENT_2 if indent else _OPTIONS
    try:
        default = _default if derive is None else (lambda v: _default(v, derive))
        return orjson.dumps(doc, default=default, option=options)
    except orjson.JSONEncodeError:
        text = json.dumps(
            doc,
            default=lambda v: _date(v) if isinstance(v, datetime | date) else _default(v, derive),
            indent=2 if indent else None,
            separators=None if indent else (",", ":"),
            ensure_ascii=False,
        )
        return text.encode()


def _date(value: date) -> str:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _iso(value)
    return value.isoformat()
