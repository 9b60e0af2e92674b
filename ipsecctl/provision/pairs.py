"""Every generated pair checked both ways before anything is called ready.

Why the ``diag pair`` engine and not the generator's own word: the templates are code too, and
the pair check is the independent model of what IOS negotiates. Each IOS device's generated
text is parsed back once (:func:`ipsecctl.diag.config.parse_config`) and each link is checked
with :func:`ipsecctl.diag.pair.check_pair` in both directions; the first failing step is the
pair's ``first_failure``.

At scale (one hub, a thousand spokes) the hub's parsed configuration is narrowed per pair to
the crypto map entries that name that spoke's address (and dynamic entries), which are the only
ones ``check_pair`` consults for that pair: the verdict is the same, the cost stays linear.

What ``diag pair`` does not model is checked here on the parsed configurations and said in the
verdict's ``method`` (never silently passed):

* ``vti``: IKEv2 proposals intersect, transform sets equal, PFS equal, each tunnel destination
  is the other end's outside address, both keyrings hold a key for the other end;
* ``cert``: ``check_pair``'s key step is replaced by the certificate step: both ends name the
  same trustpoint and authenticate with rsa-sig;
* ``manual``: the two ipsec-manual entries mirror (each inbound SPI is the other end's
  outbound SPI), with the same transform set and mirrored ACLs;
* ``dmvpn``: each spoke's NHS is a hub's tunnel address with that hub's outside address as
  NBMA, one NHRP network id and tunnel key, transport-mode transform sets equal;
* ``spec``: ASA and strongSwan ends (``parse_config`` reads IOS): checked at spec level.

Crypto audit findings of warning or worse on a device fail its pairs (``first_failure``
``audit``) unless ``allow_weak``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ipsecctl.diag.audit_crypto import audit_config
from ipsecctl.diag.config import (
    CryptoConfig,
    CryptoMapEntry,
    PreSharedKey,
    parse_config,
    same_key,
)
from ipsecctl.diag.pair import STEPS, check_pair
from ipsecctl.models import Finding
from ipsecctl.provision.device_configs import DeviceRender
from ipsecctl.provision.model import CISCO_IOS
from ipsecctl.provision.topology import Link, Network

BLOCKING = ("warning", "error", "critical")


@dataclass
class PairVerdict:
    a: str
    b: str
    method: str
    first_failure: str | None = None
    problems: list[str] = field(default_factory=list)
    directions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_failure is None

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else "fail"

    def as_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "verdict": self.verdict,
            "first_failure": self.first_failure,
            "method": self.method,
            "problems": self.problems,
        }


@dataclass
class NetworkCheck:
    pairs: list[PairVerdict]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.pairs)

    def failed(self) -> list[PairVerdict]:
        return [p for p in self.pairs if not p.ok]


def with_outside_address(text: str, interface: str, address: str) -> str:
    """The text plus `` ip address`` on the outside interface, for the check only (the
    generator never types an address there; ``diag pair`` learns an end's address from it)."""
    line = f"interface {interface}"
    out: list[str] = []
    done = False
    for ln in text.splitlines():
        out.append(ln)
        if ln.strip() == line and not done:
            out.append(f" ip address {address} 255.255.255.255")
            done = True
    if not done:
        out += [line, f" ip address {address} 255.255.255.255", "!"]
    return "\n".join(out) + "\n"


def parse_device(r: DeviceRender) -> CryptoConfig:
    text = f"hostname {r.name}\n!\n" + with_outside_address(
        r.text, r.node.outside_interface, r.node.outside_address
    )
    return with_dynamic_maps(parse_config(text, source=f"generated config of {r.name}"), text)


_DYN_MAP = re.compile(r"^crypto dynamic-map (\S+) \d+\n((?: .*\n?)*)", re.M)


def with_dynamic_maps(cfg: CryptoConfig, text: str) -> CryptoConfig:
    """Fill each ``crypto map M N ipsec-isakmp dynamic D`` entry with the set lines of the
    dynamic map ``D`` (the config reader keeps the entry, not the dynamic map's body), so the
    pair check sees what the hub answers with."""
    bodies = {m.group(1): m.group(2) for m in _DYN_MAP.finditer(text)}
    if not bodies:
        return cfg
    maps = []
    for e in cfg.crypto_maps:
        words = e.kind.split()
        body = bodies.get(words[-1]) if e.dynamic and words else None
        if body is None:
            maps.append(e)
            continue
        ts = re.search(r"^ set transform-set (.+)$", body, re.M)
        pfs = re.search(r"^ set pfs (\S+)$", body, re.M)
        prof = re.search(r"^ set ikev2-profile (\S+)$", body, re.M)
        maps.append(
            e.model_copy(
                update={
                    "transform_sets": ts.group(1).split() if ts else [],
                    "pfs": pfs.group(1) if pfs else None,
                    "ikev2_profile": prof.group(1) if prof else None,
                }
            )
        )
    return cfg.model_copy(update={"crypto_maps": maps})


class Narrower:
    """Index of one parsed configuration, to narrow it per peer in constant time."""

    def __init__(self, cfg: CryptoConfig) -> None:
        self.cfg = cfg
        self.small = len(cfg.crypto_maps) <= 4 and len(cfg.keys) <= 4 and len(cfg.interfaces) <= 8
        self.maps: dict[str, list[CryptoMapEntry]] = {}
        self.dynamic = [e for e in cfg.crypto_maps if e.dynamic]
        for e in cfg.crypto_maps:
            for p in e.peers:
                self.maps.setdefault(p, []).append(e)
        self.plain_ifaces = [i for i in cfg.interfaces if not i.tunnel_destination]
        self.tunnels: dict[str, list[Any]] = {}
        for i in cfg.interfaces:
            if i.tunnel_destination:
                self.tunnels.setdefault(i.tunnel_destination, []).append(i)
        self.host_keys: dict[str, list[PreSharedKey]] = {}
        self.wide_keys: list[PreSharedKey] = []
        for k in cfg.keys:
            addr, _, plen = k.network.partition("/")
            if plen in ("32", "128"):
                self.host_keys.setdefault(addr, []).append(k)
            else:
                self.wide_keys.append(k)

    def for_peer(self, peer_addrs: list[str]) -> CryptoConfig:
        """``cfg`` with only what ``check_pair`` consults for a peer at ``peer_addrs``: the
        crypto map entries naming it (and dynamic ones), the ACLs they use, and the keys
        covering it (host keys for it and every wider key), the tunnel interfaces towards it
        and every other interface. The verdict is unchanged."""
        if self.small:
            return self.cfg
        seen: set[int] = set()
        maps: list[CryptoMapEntry] = []
        for e in [m for a in peer_addrs for m in self.maps.get(a, [])] + self.dynamic:
            if id(e) not in seen:
                seen.add(id(e))
                maps.append(e)
        order = {id(e): i for i, e in enumerate(self.cfg.crypto_maps)}
        maps.sort(key=lambda e: order[id(e)])
        acls = {e.acl: self.cfg.acls[e.acl] for e in maps if e.acl and e.acl in self.cfg.acls}
        keys = [k for a in peer_addrs for k in self.host_keys.get(a, [])] + self.wide_keys
        ifaces = self.plain_ifaces + [i for a in peer_addrs for i in self.tunnels.get(a, [])]
        return self.cfg.model_copy(
            update={"crypto_maps": maps, "acls": acls, "keys": keys, "interfaces": ifaces}
        )


def _first(directions: list[dict[str, Any]], skip: tuple[str, ...] = ()) -> str | None:
    for step in STEPS:
        if step in skip:
            continue
        if any(s["step"] == step and not s["ok"] for d in directions for s in d["steps"]):
            return step
    return None


def _problems(directions: list[dict[str, Any]], skip: tuple[str, ...] = ()) -> list[str]:
    return [
        f"{d['initiator']} -> {d['responder']} {s['step']}: {s['reason']}"
        for d in directions
        for s in d["steps"]
        if not s["ok"] and s["step"] not in skip
    ]


def _cert_problems(
    ca: CryptoConfig, cb: CryptoConfig, ra: DeviceRender, rb: DeviceRender
) -> list[str]:
    out = []
    tps = []
    for r in (ra, rb):
        m = re.search(r"^crypto pki trustpoint (\S+)$", r.text, re.M)
        if m is None:
            out.append(f"{r.name}: no crypto pki trustpoint")
        else:
            tps.append(m.group(1))
        if not re.search(r"^ (authentication rsa-sig|authentication local rsa-sig)$", r.text, re.M):
            out.append(f"{r.name}: does not authenticate with rsa-sig")
    if len(tps) == 2 and tps[0] != tps[1]:
        out.append(f"trustpoints differ: {tps[0]} vs {tps[1]}")
    return out


def _vti_problems(lk: Link, ca: CryptoConfig, cb: CryptoConfig, cert: bool) -> list[str]:
    problems: list[str] = []
    for mine, other, cfg in ((lk.a, lk.b, ca), (lk.b, lk.a, cb)):
        peer = other.node
        tun = [i for i in cfg.interfaces if i.name == mine.interface]
        if not tun or not tun[0].tunnel_destination:
            problems.append(
                f"{mine.node.name}: no tunnel interface {mine.interface} with a destination"
            )
            continue
        if tun[0].tunnel_destination != peer.outside_address:
            problems.append(
                f"{mine.node.name}: {mine.interface} destination "
                f"{tun[0].tunnel_destination} is not {peer.name}'s outside "
                f"address {peer.outside_address}"
            )
        if not cert and cfg.key_for(peer.outside_address, 2) is None:
            problems.append(f"{mine.node.name}: no IKEv2 key for {peer.outside_address}")
    if not cert:
        ka = ca.key_for(lk.b.node.outside_address, 2)
        kb = cb.key_for(lk.a.node.outside_address, 2)
        if ka is not None and kb is not None and same_key(ka, kb) is False:
            problems.append("pre-shared keys differ")
    common = any(
        set(p.encryption) & set(q.encryption)
        and set(p.integrity) & set(q.integrity)
        and set(p.groups) & set(q.groups)
        for p in ca.ikev2_proposals
        for q in cb.ikev2_proposals
    )
    if not common:
        problems.append("no common IKEv2 proposal")
    if not {t.key() for t in ca.transform_sets.values()} & {
        t.key() for t in cb.transform_sets.values()
    }:
        problems.append("no common transform set")
    pfs = [{str(p.get("pfs")) for p in c.ipsec_profiles} for c in (ca, cb)]
    if pfs[0] != pfs[1]:
        problems.append(f"PFS differs: {sorted(pfs[0])} vs {sorted(pfs[1])}")
    return problems


_MANUAL = re.compile(
    r"^crypto map (?P<map>\S+) (?P<seq>\d+) ipsec-manual\n(?P<body>(?: .*\n?)*)", re.M
)


def _manual_entry(r: DeviceRender, peer: str) -> dict[str, Any] | None:
    for m in _MANUAL.finditer(r.text):
        body = m.group("body")
        if f" set peer {peer}\n" not in body + "\n":
            continue
        spis = dict(re.findall(r"set session-key (inbound|outbound) esp (\d+)", body))
        ts = re.search(r"set transform-set (\S+)", body)
        acl = re.search(r"match address (\S+)", body)
        return {
            "in": int(spis.get("inbound", -1)),
            "out": int(spis.get("outbound", -2)),
            "ts": ts.group(1) if ts else None,
            "acl": acl.group(1) if acl else None,
        }
    return None


def _manual_problems(
    lk: Link, ra: DeviceRender, rb: DeviceRender, ca: CryptoConfig, cb: CryptoConfig
) -> list[str]:
    ea = _manual_entry(ra, lk.b.node.outside_address)
    eb = _manual_entry(rb, lk.a.node.outside_address)
    if ea is None or eb is None:
        who = ra.name if ea is None else rb.name
        return [f"{who}: no ipsec-manual entry for its peer"]
    out = []
    if ea["in"] != eb["out"] or ea["out"] != eb["in"]:
        out.append(
            f"SPIs do not mirror: {ra.name} in {ea['in']} out {ea['out']}, "
            f"{rb.name} in {eb['in']} out {eb['out']}"
        )
    ta, tb = ca.transform_sets.get(ea["ts"] or ""), cb.transform_sets.get(eb["ts"] or "")
    if ta is None or tb is None or ta.key() != tb.key():
        out.append("transform sets differ")
    acl_a = {(e.src, e.dst) for e in ca.acls.get(ea["acl"] or "", [])}
    acl_b = {(e.dst, e.src) for e in cb.acls.get(eb["acl"] or "", [])}
    if not acl_a or acl_a != acl_b:
        out.append("crypto ACLs do not mirror")
    return out


def _dmvpn_problems(
    net: Network, lk: Link, ra: DeviceRender, rb: DeviceRender, ca: CryptoConfig, cb: CryptoConfig
) -> list[str]:
    """``a`` is the hub, ``b`` the spoke."""
    assert net.dmvpn is not None
    out = []
    hub_tun = re.search(
        rf"^interface {re.escape(net.dmvpn.interface)}\n ip address (\S+)", ra.text, re.M
    )
    nhs = re.findall(r"^ ip nhrp nhs (\S+) nbma (\S+)", rb.text, re.M)
    if hub_tun is None:
        out.append(f"{ra.name}: no {net.dmvpn.interface} with an address")
    elif (hub_tun.group(1), lk.a.node.outside_address) not in nhs:
        out.append(f"{rb.name}: no NHS {hub_tun.group(1)} nbma {lk.a.node.outside_address}")
    for what in (r"ip nhrp network-id (\d+)", r"tunnel key (\d+)"):
        va = re.findall(rf"^ {what}$", ra.text, re.M)
        vb = re.findall(rf"^ {what}$", rb.text, re.M)
        if va != vb:
            out.append(f"{what.split(' (')[0]} differs: {va} vs {vb}")
    if not re.search(r"^ tunnel mode gre multipoint$", rb.text, re.M):
        out.append(f"{rb.name}: not mGRE")
    if {t.key() for t in ca.transform_sets.values()} != {
        t.key() for t in cb.transform_sets.values()
    }:
        out.append("transform sets differ")
    if net.spec.ike_version == 2 and not any(
        set(p.encryption) & set(q.encryption) and set(p.groups) & set(q.groups)
        for p in ca.ikev2_proposals
        for q in cb.ikev2_proposals
    ):
        out.append("no common IKEv2 proposal")
    if net.spec.auth == "psk":
        ka = ca.key_for(lk.b.node.outside_address, net.spec.ike_version)
        kb = cb.key_for(lk.a.node.outside_address, net.spec.ike_version)
        if ka is None or kb is None:
            out.append("a pre-shared key is missing on one end")
    return out


def check_network(
    net: Network, renders: list[DeviceRender], *, allow_weak: bool = False
) -> NetworkCheck:
    """Check every link of ``net`` on its rendered devices (both directions)."""
    by_name = {r.name: r for r in renders}
    parsed: dict[str, CryptoConfig] = {}
    index: dict[str, Narrower] = {}
    findings: list[Finding] = []
    blocked: dict[str, list[str]] = {}
    levels = () if allow_weak else BLOCKING
    for r in renders:
        if r.platform in CISCO_IOS:
            parsed[r.name] = cfg = parse_device(r)
            index[r.name] = Narrower(cfg)
            found = audit_config(cfg, r.name)
            if net.spec.auth == "manual":  # no key exchange, so no PFS to ask for
                found = [f for f in found if f.code != "NO_PFS"]
            findings += found
            bad = [f"{f.device}: {f.summary}" for f in found if f.severity in levels]
            if bad:
                blocked[r.name] = bad
    spec = net.spec
    out: list[PairVerdict] = []
    for lk in net.links:
        ra, rb = by_name[lk.a.node.name], by_name[lk.b.node.name]
        v = PairVerdict(ra.name, rb.name, "spec")
        if ra.name in parsed and rb.name in parsed:
            ca = index[ra.name].for_peer([rb.node.outside_address])
            cb = index[rb.name].for_peer([ra.node.outside_address])
            if lk.mode == "dmvpn":
                v.method = "dmvpn"
                v.problems = _dmvpn_problems(net, lk, ra, rb, ca, cb)
                v.first_failure = "dmvpn" if v.problems else None
            elif lk.mode == "vti":
                v.method = "vti"
                v.problems = _vti_problems(lk, ca, cb, spec.auth == "cert")
                if spec.auth == "cert":
                    v.problems += _cert_problems(ca, cb, ra, rb)
                v.first_failure = "vti" if v.problems else None
            elif spec.auth == "manual":
                v.method = "manual"
                v.problems = _manual_problems(lk, ra, rb, ca, cb)
                v.first_failure = "manual" if v.problems else None
            else:
                doc = check_pair(ca, cb, name_a=ra.name, name_b=rb.name)
                v.directions = doc["directions"]
                skip: tuple[str, ...] = ()
                v.method = "diag pair"
                if lk.a.dynamic:  # a dynamic map only answers: the spoke initiates
                    v.directions = [d for d in v.directions if d["initiator"] != ra.name]
                    v.method = "diag pair (dynamic map)"
                if spec.auth == "cert":
                    skip = ("psk",)
                    v.method = "diag pair + cert"
                    cert = _cert_problems(ca, cb, ra, rb)
                    if cert:
                        v.problems += cert
                        v.first_failure = "cert"
                v.problems = _problems(v.directions, skip) + v.problems
                v.first_failure = _first(v.directions, skip) or v.first_failure
        for name in (ra.name, rb.name):
            if name in blocked:
                v.problems += blocked[name]
                v.first_failure = v.first_failure or "audit"
        out.append(v)
    return NetworkCheck(out, findings)


def check_configs(configs: list[Any], *, allow_weak: bool = False) -> NetworkCheck:
    """Pairs among configurations rendered from an operator's template: two IOS devices
    pair when one's applied crypto map entry (or tunnel destination) names the other's
    address; each pair is checked both ways, like a generated network's links."""
    parsed: dict[str, CryptoConfig] = {}
    index: dict[str, Narrower] = {}
    owner: dict[str, str] = {}
    findings: list[Finding] = []
    blocked: dict[str, list[str]] = {}
    levels = () if allow_weak else BLOCKING
    for c in configs:
        if c.platform not in CISCO_IOS:
            continue
        text = c.text
        if c.address and c.interface:
            text = with_outside_address(text, c.interface, c.address)
        cfg = parse_config(f"hostname {c.name}\n!\n{text}", source=f"{c.name} ({c.source})")
        parsed[c.name], index[c.name] = cfg, Narrower(cfg)
        for addr in cfg.addresses():
            owner.setdefault(addr, c.name)
        found = audit_config(cfg, c.name)
        findings += found
        bad = [f"{f.device}: {f.summary}" for f in found if f.severity in levels]
        if bad:
            blocked[c.name] = bad
    seen: set[tuple[str, str]] = set()
    out: list[PairVerdict] = []
    for name, cfg in parsed.items():
        applied = cfg.applied_maps()
        targets = [p for e in cfg.crypto_maps if e.name in applied for p in e.peers]
        vti = [i.tunnel_destination for i in cfg.interfaces if i.tunnel_destination]
        for peer_addr in targets + [v for v in vti if v]:
            other = owner.get(peer_addr)
            if other is None or other == name:
                continue
            key = (min(name, other), max(name, other))
            if key in seen:
                continue
            seen.add(key)
            a, b = key
            ca = index[a].for_peer(parsed[b].addresses())
            cb = index[b].for_peer(parsed[a].addresses())
            v = PairVerdict(a, b, "diag pair")
            if peer_addr in vti and peer_addr not in targets:
                v.method = "vti"
                v.problems = _vti_generic(a, ca, b, cb)
                v.first_failure = "vti" if v.problems else None
            else:
                doc = check_pair(ca, cb, name_a=a, name_b=b)
                v.directions = doc["directions"]
                v.problems = _problems(v.directions)
                v.first_failure = _first(v.directions)
            for n in (a, b):
                if n in blocked:
                    v.problems += blocked[n]
                    v.first_failure = v.first_failure or "audit"
            out.append(v)
    return NetworkCheck(out, findings)


def _vti_generic(a: str, ca: CryptoConfig, b: str, cb: CryptoConfig) -> list[str]:
    problems = []
    for me, cfg, other in ((a, ca, cb), (b, cb, ca)):
        dests = {i.tunnel_destination for i in cfg.interfaces if i.tunnel_destination}
        if not dests & set(other.addresses()):
            problems.append(f"{me}: no tunnel destination at the peer's address")
        if not any(cfg.key_for(x, 2) for x in other.addresses()):
            problems.append(f"{me}: no IKEv2 key for the peer")
    keys = [ca.key_for(x, 2) for x in cb.addresses()] + [cb.key_for(x, 2) for x in ca.addresses()]
    ka, kb = keys[0] if keys else None, keys[-1] if keys else None
    if ka is not None and kb is not None and same_key(ka, kb) is False:
        problems.append("pre-shared keys differ")
    if not any(
        set(p.encryption) & set(q.encryption)
        and set(p.integrity) & set(q.integrity)
        and set(p.groups) & set(q.groups)
        for p in ca.ikev2_proposals
        for q in cb.ikev2_proposals
    ):
        problems.append("no common IKEv2 proposal")
    if not {t.key() for t in ca.transform_sets.values()} & {
        t.key() for t in cb.transform_sets.values()
    }:
        problems.append("no common transform set")
    return problems
