"""The IKE probe of a tunnel's peer, offering what the tunnel's device is configured to offer.

Planning is pure: from the device's last poll and its running configuration (IOS / IOS-XE
``crypto isakmp policy`` and ``crypto ikev2 proposal``, ASA ``crypto ikev1|ikev2 policy``)
:func:`plan_probe` picks the IKE version the tunnel uses and turns the configured proposals
into the prober's strongSwan syntax; without a usable configuration it falls back to what the
tunnel's IKE SA negotiated, then to the prober's defaults, and says which it used. Running it
is one call to :func:`ipsecctl.diag.ike.probe.probe` (:func:`run_probe`), from the host
ipsecctl runs on (the jump host), never from the device. :func:`interpret` says what the
answer means for that tunnel.

A probe changes nothing on any device: it sends one IKE first message (a few with a cookie
or a KE retry) and never authenticates. Front ends still show :meth:`ProbePlan.packets` and
ask before sending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ipsecctl.diag.ike.groups import SUPPORTED_GROUPS
from ipsecctl.models import DeviceState, IkeSa, Tunnel
from ipsecctl.ops.formatting import DH_KEYWORDS

CONFIG_COMMANDS = ("show running-config",)

# device spellings -> strongSwan keywords (IOS isakmp / ikev2, ASA ikev1 / ikev2)
_ENCR = {
    "aes": "aes128",
    "aes128": "aes128",
    "aes192": "aes192",
    "aes256": "aes256",
    "aes-128": "aes128",
    "aes-192": "aes192",
    "aes-256": "aes256",
    "aes-cbc-128": "aes128",
    "aes-cbc-192": "aes192",
    "aes-cbc-256": "aes256",
    "aes-gcm-128": "aes128gcm16",
    "aes-gcm-192": "aes192gcm16",
    "aes-gcm-256": "aes256gcm16",
    "aes-gcm": "aes128gcm16",
    "3des": "3des",
    "des": "des",
}
_HASH = {
    "sha": "sha1",
    "sha1": "sha1",
    "md5": "md5",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
}
_PRF = {
    "sha": "prfsha1",
    "sha1": "prfsha1",
    "md5": "prfmd5",
    "sha256": "prfsha256",
    "sha384": "prfsha384",
    "sha512": "prfsha512",
}

MEANING_SEVERITY = {
    "accepted": "info",
    "no_proposal_chosen": "error",
    "invalid_ke": "error",
    "no_response": "warning",
    "error": "warning",
}


@dataclass(frozen=True)
class ProbePlan:
    """What will be sent, to whom, and where the proposals came from."""

    device: str
    peer: str
    vrf: str | None
    version: int
    proposals: list[str]
    source: str  # "configuration" | "negotiated IKE SA" | "prober defaults"
    basis: list[str] = field(default_factory=list)  # the config lines / SA they come from
    port: int = 500
    tunnel: str | None = None  # Tunnel.id
    tunnel_state: str | None = None
    ike_state: str | None = None

    @property
    def exchange(self) -> str:
        return "IKE_SA_INIT" if self.version == 2 else "IKEv1 main mode message 1"

    def describe(self) -> str:
        where = f"{self.device} → {self.peer}" + (f" vrf {self.vrf}" if self.vrf else "")
        return f"IKEv{self.version} probe of {self.peer} udp/{self.port} (tunnel {where})"

    def packets(self) -> list[str]:
        """The confirmation's lines: exactly what leaves this host."""
        lines = [f"from this host to {self.peer} udp/{self.port}: {self.exchange} offering"]
        lines += [f"  {p}" for p in self.proposals]
        lines.append(
            f"  (proposals from {self.source}"
            + (f": {'; '.join(self.basis)}" if self.basis else "")
            + ")"
        )
        lines.append(
            "resent up to 2 times if unanswered; once more with a COOKIE or the DH group "
            "an INVALID_KE names; never authenticates, changes nothing on any device"
        )
        return lines


def _keyword_dh(group: int) -> str | None:
    return DH_KEYWORDS.get(group) if group in SUPPORTED_GROUPS else None


def _ike_sa_for(state: DeviceState, tunnel: Tunnel) -> IkeSa | None:
    if not tunnel.peer:
        return None
    best = None
    for sa in state.ike_sas:
        if tunnel.peer in (sa.remote, sa.dst, sa.src) and (best is None or sa.status == "up"):
            best = sa
    return best


def _version(
    tunnel: Tunnel, ike: IkeSa | None, v1: list[str], v2: list[str], ikev2_peer: bool
) -> int:
    if ike is not None and ike.version in (1, 2):
        return int(ike.version)
    state = (tunnel.ike_state or "").upper()
    if state.startswith(("MM_", "AG_", "QM_")):
        return 1
    if state in ("READY", "IN-NEG", "ESTABLISHED", "CONNECTING"):
        return 2
    if ikev2_peer or (v2 and not v1):
        return 2
    return 1


# -- configured proposals ------------------------------------------------------------------


@dataclass
class _Configured:
    v1: list[str] = field(default_factory=list)
    v2: list[str] = field(default_factory=list)
    basis_v1: list[str] = field(default_factory=list)
    basis_v2: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ikev2_peers: set[str] = field(default_factory=set)


def _v1_proposal(enc: str, hsh: str, group: int, label: str, out: _Configured) -> None:
    e, h, g = _ENCR.get(enc), _HASH.get(hsh), _keyword_dh(group)
    if e is None or h is None or g is None or "gcm" in (e or ""):
        out.skipped.append(f"{label} (cannot be probed: {enc}/{hsh}/group {group})")
        return
    text = f"{e}-{h}-{g}"
    if text not in out.v1:
        out.v1.append(text)
        out.basis_v1.append(label)


def _v2_proposal(
    encs: list[str],
    integs: list[str],
    prfs: list[str],
    groups: list[int],
    label: str,
    out: _Configured,
) -> None:
    words = [w for w in (_ENCR.get(e) for e in encs) if w]
    if not words:
        out.skipped.append(f"{label} (no encryption the prober knows: {', '.join(encs)})")
        return
    aead = [w for w in words if "gcm" in w]
    plain = [w for w in words if "gcm" not in w]
    dh = [g for g in (_keyword_dh(x) for x in groups) if g]
    if not dh:
        out.skipped.append(f"{label} (no DH group the prober can send)")
        return
    prf_words = [w for w in (_PRF.get(p) for p in prfs) if w]
    integ = [w for w in (_HASH.get(i) for i in integs) if w]
    made = []
    if plain and integ:
        made.append("-".join([*plain, *integ, *prf_words, *dh]))
    if aead:
        made.append("-".join([*aead, *(prf_words or _prf_for(integ)), *dh]))
    for text in made:
        if text not in out.v2:
            out.v2.append(text)
    if made:
        out.basis_v2.append(label)


def _prf_for(integ: list[str]) -> list[str]:
    return [f"prf{integ[0]}"] if integ else ["prfsha256"]


def _ios_config(text: str, out: _Configured) -> None:
    from ipsecctl.diag.config import parse_config

    config = parse_config(text, source="show running-config")
    for pol in sorted(config.isakmp_policies, key=lambda p: p.priority):
        label = f"isakmp policy {pol.priority}"
        assumed = [d for d in pol.defaults_used if d != "lifetime"]  # not in a first message
        if assumed:
            label += f" (IOS defaults for {', '.join(assumed)})"
        _v1_proposal(pol.encryption, pol.hash, pol.group, label, out)
    for prop in config.ikev2_proposals:
        _v2_proposal(
            prop.encryption, prop.integrity, [], prop.groups, f"ikev2 proposal {prop.name}", out
        )
    for prof in config.ikev2_profiles:
        for word in str(prof.get("match_remote") or "").split():
            out.ikev2_peers.add(word)
    for entry in config.crypto_maps:
        if entry.ikev2_profile:
            out.ikev2_peers.update(entry.peers)


_ASA_POLICY = re.compile(r"^crypto (ikev1|ikev2) policy (\d+)\s*$")


def _asa_config(text: str, out: _Configured) -> None:
    """ASA ``crypto ikev1 policy N`` / ``crypto ikev2 policy N`` blocks, lowest number first."""
    blocks: list[tuple[str, int, dict[str, list[str]]]] = []
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():
        m = _ASA_POLICY.match(line)
        if m:
            current = {}
            blocks.append((m.group(1), int(m.group(2)), current))
            continue
        if current is not None and line.startswith(" "):
            words = line.split()
            if len(words) >= 2:
                current[words[0]] = words[1:]
        else:
            current = None
    for kind, number, attrs in sorted(blocks, key=lambda b: (b[0], b[1])):
        label = f"crypto {kind} policy {number}"
        groups = [int(g) for g in attrs.get("group", ["2"]) if g.isdigit()]
        if kind == "ikev1":
            enc = attrs.get("encryption", ["3des"])[0]
            hsh = attrs.get("hash", ["sha"])[0]
            for g in groups:
                _v1_proposal(enc, hsh, g, label, out)
        else:
            encs = [{"aes-gcm-256": "aes-gcm-256"}.get(e, e) for e in attrs.get("encryption", [])]
            _v2_proposal(encs, attrs.get("integrity", []), attrs.get("prf", []), groups, label, out)


def configured_proposals(platform: str, config_text: str) -> _Configured:
    """The proposals a device's running configuration offers, per IKE version."""
    out = _Configured()
    if "asa" in platform:
        _asa_config(config_text, out)
    else:
        _ios_config(config_text, out)
    return out


def _negotiated(ike: IkeSa) -> str | None:
    enc = (ike.encryption or "").lower().replace("-", "")
    integ = (ike.integrity or "").lower()
    group = _keyword_dh(ike.dh_group) if ike.dh_group else None
    if not enc or not group:
        return None
    if "gcm" in enc:
        prf = (ike.prf or "").lower()
        prf = prf if prf.startswith("prf") else f"prf{prf or 'sha256'}"
        return f"{enc}-{prf}-{group}"
    if not integ:
        return None
    return f"{enc}-{integ}-{group}"


def plan_probe(
    state: DeviceState, tunnel: Tunnel, *, config_text: str | None = None, port: int = 500
) -> ProbePlan:
    """The probe of ``tunnel``'s peer (pure). ``config_text`` is the device's running
    configuration; without it (or without proposals in it) the plan says what it used."""
    from ipsecctl.errors import UsageError

    if not tunnel.peer:
        raise UsageError(f"{tunnel.device}: this tunnel has no peer address to probe")
    ike = _ike_sa_for(state, tunnel)
    conf = _Configured()
    if config_text:
        conf = configured_proposals(state.platform, config_text)
    version = _version(tunnel, ike, conf.v1, conf.v2, tunnel.peer in conf.ikev2_peers)
    proposals = conf.v2 if version == 2 else conf.v1
    basis = conf.basis_v2 if version == 2 else conf.basis_v1
    source = "configuration"
    if not proposals and ike is not None and (text := _negotiated(ike)) is not None:
        proposals, basis, source = (
            [text],
            [f"IKE SA {ike.state or ''} to {tunnel.peer}"],
            "negotiated IKE SA",
        )
    if not proposals:
        from ipsecctl.diag.ike.probe import DEFAULT_V1, DEFAULT_V2

        proposals = list(DEFAULT_V2 if version == 2 else DEFAULT_V1)
        basis = [
            "no configured proposal found"
            + (" in the running configuration" if config_text else "")
        ]
        source = "prober defaults"
    if conf.skipped:
        basis = [*basis, *(f"skipped {s}" for s in conf.skipped)]
    return ProbePlan(
        device=state.device,
        peer=tunnel.peer,
        vrf=tunnel.vrf,
        version=version,
        proposals=list(proposals),
        source=source,
        basis=basis,
        port=port,
        tunnel=tunnel.id,
        tunnel_state=tunnel.state,
        ike_state=tunnel.ike_state,
    )


# -- the call and what it means --------------------------------------------------------------


@dataclass
class ProbeOutcome:
    plan: ProbePlan
    result: str
    severity: str
    summary: str
    meaning: list[str]
    doc: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "device": self.plan.device,
            "peer": self.plan.peer,
            "vrf": self.plan.vrf,
            "tunnel": self.plan.tunnel,
            "version": self.plan.version,
            "proposals": self.plan.proposals,
            "source": self.plan.source,
            "result": self.result,
            "severity": self.severity,
            "summary": self.summary,
            "meaning": self.meaning,
            "probe": self.doc,
        }


def run_probe(plan: ProbePlan, *, timeout: float = 2.0, retries: int = 2) -> ProbeOutcome:
    """Send the probe (the one call that touches the network) and interpret the answer."""
    from ipsecctl.diag.ike.probe import ProbeOptions, probe

    doc = probe(
        plan.peer,
        plan.version,
        plan.proposals,
        ProbeOptions(port=plan.port, timeout=timeout, retries=retries),
    )
    return interpret(plan, doc)


def interpret(plan: ProbePlan, doc: dict[str, Any]) -> ProbeOutcome:
    """What the prober's answer means for the tunnel it was planned for (pure)."""
    result = str(doc.get("result") or "error")
    dev, peer = plan.device, plan.peer
    state = plan.tunnel_state or "?"
    offered = ", ".join(plan.proposals)
    meaning: list[str] = []
    if result == "accepted":
        chosen = (doc.get("chosen") or {}).get("proposal") or "one of them"
        summary = f"{peer} answers IKEv{plan.version} and accepts {chosen}"
        meaning.append(
            f"the peer takes a proposal {dev} offers ({plan.source}): phase 1 "
            "proposals are not the problem"
        )
        if state != "up":
            meaning.append(
                f"the tunnel is {state}: look further on, at authentication "
                "(pre-shared key, certificates), then phase 2 (transform sets, PFS, "
                "mirrored crypto ACLs / traffic selectors)"
            )
        else:
            meaning.append("IKE to the peer works from this host too")
    elif result == "no_proposal_chosen":
        summary = f"{peer} refuses every proposal {dev} offers (NO_PROPOSAL_CHOSEN)"
        meaning.append(f"a phase 1 proposal mismatch: the peer accepts none of {offered}")
        meaning.append(
            "make one IKE policy/proposal match on both ends (encryption, "
            "integrity/hash, DH group"
            + (", authentication method" if plan.version == 1 else "")
            + ")"
        )
        meaning.append(
            "a responder with no configuration for this host's address can answer "
            "the same way: compare with the device's own IKE state "
            f"({plan.ike_state or 'unknown'})"
        )
    elif result == "invalid_ke":
        wanted = doc.get("wanted_group")
        name = (
            DH_KEYWORDS.get(int(wanted), f"group {wanted}")
            if isinstance(wanted, int)
            else "another group"
        )
        summary = f"{peer} wants DH group {name}, which {dev} does not offer (INVALID_KE)"
        meaning.append(
            f"add {name} to {dev}'s IKE policy/proposal, or configure the peer for "
            "one of the groups offered"
        )
    elif result == "no_response":
        err = doc.get("error")
        summary = f"no IKE answer from {peer} udp/{plan.port}"
        if err:
            summary += f" ({err})"
            meaning.append(
                f"something answered, but not IKE: nothing listens on udp/{plan.port} at {peer}"
            )
        else:
            meaning.append(
                "the peer's IKE service is down, UDP 500/4500 is filtered on the "
                "path, or the peer ignores this host's address"
            )
        meaning.append(
            f"the probe leaves from this host, not from {dev}: the path from {dev} "
            "can differ; with the tunnel " + state + ", compare with its IKE state "
            f"({plan.ike_state or 'unknown'})"
        )
    else:
        notes = ", ".join(n.get("name", "?") for n in doc.get("notify", []) or [])
        summary = f"{peer} answered with an error" + (f": {notes}" if notes else "")
        meaning.append(str(doc.get("error") or "see the notify payloads"))
    return ProbeOutcome(
        plan=plan,
        result=result,
        severity=MEANING_SEVERITY.get(result, "warning"),
        summary=summary,
        meaning=meaning,
        doc=doc,
    )
