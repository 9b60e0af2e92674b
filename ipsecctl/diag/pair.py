"""Predict whether two configured ends can build their tunnel, in both directions.

Steps, in the order a negotiation meets them (the first failing one is the verdict):

1. peer: the initiator's crypto map (applied to an interface) has ``set peer`` = one of the
   responder's interface addresses, and the responder has an entry for the initiator's address
   (or a dynamic map).
2. psk: each side holds a pre-shared key covering the other's address, and the two are equal
   (``hmac.compare_digest``; type 6/7 keys cannot be compared and are reported as such).
3. phase1: IKEv1: the initiator's policies in its priority order; the first that equals a
   responder policy in encryption, hash, authentication and group (Cisco ASA/IOS configuration
   guides, "How Do IKE Policies Match") **and whose lifetime is <= the responder's** wins.
   Decided against a common paraphrase which says the responder's lifetime must be <= the
   initiator's:

   * Cisco's IOS wording ("sec-key-exch-ipsec", Configuring Internet
     Key Exchange for IPsec VPNs, "How Do IKE Policies Match"), is: a match needs "the remote
     peer's policy [to specify] a lifetime that is less than or equal to the lifetime in the
     policy being compared. (If the lifetimes are not identical, the shorter lifetime -- from
     the remote peer's policy -- will be used.)" The comparing side is the responder, so the
     remote peer is the initiator; "the shorter lifetime, from the remote peer's policy" is
     only possible when the initiator's lifetime is the shorter or equal one. The paraphrase
     inverts the subject.
   * Two third-party renderings of the same Cisco text (exampost.net and equizzing.com,
     "the value specified by the remote peer must be less than or equal to the value
     specified by the local peer"; equizzing 188221: "lifetime < or equal") agree.
   * No Cisco page states the opposite rule; Juniper (JUNOS "Configuring an IKE Policy",
     JUNOSe "IKE SA negotiation") only say the shorter lifetime is used, which both readings
     satisfy.

   So: initiator lifetime > responder lifetime -> that proposal does not match (the direction
   matters, which is why ``diag pair`` checks both). IKEv2: lifetimes are not negotiated
   (ASA CLI configuration guide, IKEv2 policies); a proposal pair matches on a common
   encryption, integrity and group.
4. phase2: the first initiator transform set equal (protocols, algorithms, mode) to one of the
   responder's (Cisco VPN Solutions Center: transform sets must match); PFS: a group set on
   the responder must be offered identically by the initiator, and two set groups must be
   equal (IOS command reference, ``set pfs``).
5. proxy: every permit line of the initiator's crypto ACL must lie inside a mirrored permit line
   of the responder's (initiator subset accepted, superset rejected: Cisco, mirror-image
   crypto ACLs).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from rich.console import Console
from rich.table import Table

from ipsecctl.diag.config import CryptoConfig, CryptoMapEntry, IsakmpPolicy, same_key

STEPS = ("peer", "psk", "phase1", "phase2", "proxy")


def _entry_to(cfg: CryptoConfig, peer_addrs: list[str]) -> tuple[CryptoMapEntry, str] | None:
    """The applied crypto map entry of ``cfg`` pointing at one of ``peer_addrs``."""
    applied = cfg.applied_maps()
    for e in cfg.crypto_maps:
        if e.name in applied:
            for p in e.peers:
                if p in peer_addrs:
                    return e, applied[e.name]
    return None


def _responder_entry(cfg: CryptoConfig, initiator_addr: str) -> CryptoMapEntry | None:
    applied = cfg.applied_maps()
    for e in cfg.crypto_maps:
        if e.name in applied and initiator_addr in e.peers:
            return e
    for e in cfg.crypto_maps:
        if e.name in applied and e.dynamic:
            return e
    return None


def _step(step: str, ok: bool, reason: str) -> dict[str, Any]:
    return {"step": step, "ok": ok, "reason": reason}


def _p1_v1(ini: CryptoConfig, res: CryptoConfig, names: tuple[str, str]) -> dict[str, Any]:
    if not ini.isakmp_policies or not res.isakmp_policies:
        who = names[0] if not ini.isakmp_policies else names[1]
        return _step(
            "phase1",
            False,
            f"{who} has no 'crypto isakmp policy' (IOS default policies 65507-65514 are not "
            "modelled: configure explicit policies)",
        )
    near: list[str] = []
    for ip in ini.isakmp_policies:
        same_attrs = False
        for rp in res.isakmp_policies:
            if ip.attrs() == rp.attrs():
                if ip.lifetime <= rp.lifetime:
                    extra = (
                        f" (defaults assumed: {', '.join(ip.defaults_used)})"
                        if (ip.defaults_used)
                        else ""
                    )
                    return _step(
                        "phase1",
                        True,
                        f"{names[0]} policy {ip.priority} matches {names[1]} policy "
                        f"{rp.priority}{extra}",
                    )
                same_attrs = True
                near.append(
                    f"{names[0]} policy {ip.priority} equals {names[1]} policy {rp.priority} "
                    f"but its lifetime {ip.lifetime}s is longer than the responder's "
                    f"{rp.lifetime}s"
                )
        if not same_attrs:
            near.append(_closest(ip, res.isakmp_policies, names))
    return _step("phase1", False, "no ISAKMP policy matches: " + "; ".join(near[:3]))


def _closest(ip: IsakmpPolicy, cands: list[IsakmpPolicy], names: tuple[str, str]) -> str:
    labels = ("encryption", "hash", "authentication", "group")

    def diff(rp: IsakmpPolicy) -> list[str]:
        return [
            f"{lab} {a} vs {b}"
            for lab, a, b in zip(labels, ip.attrs(), rp.attrs(), strict=True)
            if a != b
        ]

    best = min(cands, key=lambda rp: len(diff(rp)))
    return f"{names[0]} policy {ip.priority} vs {names[1]} policy {best.priority}: " + ", ".join(
        diff(best)
    )


def _p1_v2(ini: CryptoConfig, res: CryptoConfig, names: tuple[str, str]) -> dict[str, Any]:
    if not ini.ikev2_proposals or not res.ikev2_proposals:
        return _step(
            "phase1", False, "IKEv2 proposals missing on one side (smart defaults are not modelled)"
        )
    for a in ini.ikev2_proposals:
        for b in res.ikev2_proposals:
            enc = set(a.encryption) & set(b.encryption)
            integ = set(a.integrity) & set(b.integrity)
            grp = set(a.groups) & set(b.groups)
            if enc and integ and grp:
                return _step(
                    "phase1",
                    True,
                    f"IKEv2 proposal {a.name} / {b.name}: {sorted(enc)[0]}, {sorted(integ)[0]}, "
                    f"group {min(grp)} (lifetimes are not negotiated in IKEv2)",
                )
    return _step(
        "phase1",
        False,
        f"no common IKEv2 proposal between {names[0]} and {names[1]} "
        "(encryption, integrity and group must each intersect)",
    )


def _p2(
    ini: CryptoConfig,
    ie: CryptoMapEntry,
    res: CryptoConfig,
    re_: CryptoMapEntry,
    names: tuple[str, str],
) -> dict[str, Any]:
    rsets = [res.transform_sets[n] for n in re_.transform_sets if n in res.transform_sets]
    chosen = None
    for name in ie.transform_sets:
        ts = ini.transform_sets.get(name)
        if ts is None:
            return _step(
                "phase2",
                False,
                f"{names[0]} map {ie.name} {ie.seq} names transform "
                f"set {name}, which is not defined",
            )
        match = next((r for r in rsets if r.key() == ts.key()), None)
        if match:
            chosen = (ts, match)
            break
    if chosen is None:
        offered = ", ".join(
            ini.transform_sets[n].label() for n in ie.transform_sets if n in ini.transform_sets
        )
        accepted = ", ".join(r.label() for r in rsets) or "none"
        return _step(
            "phase2",
            False,
            f"no common transform set: {names[0]} offers {offered}; {names[1]} accepts {accepted}",
        )
    ipfs, rpfs = ie.pfs, re_.pfs
    if rpfs and ipfs != rpfs:
        return _step(
            "phase2",
            False,
            f"PFS mismatch: {names[1]} requires {rpfs}, {names[0]} offers {ipfs or 'no PFS'}",
        )
    if ipfs and rpfs and ipfs != rpfs:
        return _step("phase2", False, f"PFS mismatch: {ipfs} vs {rpfs}")
    return _step(
        "phase2",
        True,
        f"transform set {chosen[0].label()} matches {chosen[1].name}"
        + (f", PFS {ipfs}" if ipfs else ""),
    )


def _contains(outer: ipaddress._BaseNetwork, inner: ipaddress._BaseNetwork) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)


def _proxy(
    ini: CryptoConfig,
    ie: CryptoMapEntry,
    res: CryptoConfig,
    re_: CryptoMapEntry,
    names: tuple[str, str],
) -> dict[str, Any]:
    il = [e for e in ini.acls.get(ie.acl or "", []) if e.action == "permit"]
    rl = [e for e in res.acls.get(re_.acl or "", []) if e.action == "permit"]
    if not il:
        return _step("proxy", False, f"{names[0]} ACL {ie.acl} is missing or has no permit")
    if not rl and not re_.dynamic:
        return _step("proxy", False, f"{names[1]} ACL {re_.acl} is missing or has no permit")
    if re_.dynamic:
        return _step(
            "proxy",
            True,
            f"{names[1]} uses a dynamic map: it accepts the proposed proxy identities",
        )
    for e in il:
        ok = any(
            _contains(r.dst_net(), e.src_net())
            and _contains(r.src_net(), e.dst_net())
            and r.protocol in (0, e.protocol)
            for r in rl
        )
        if not ok:
            superset = any(
                _contains(e.src_net(), r.dst_net()) and _contains(e.dst_net(), r.src_net())
                for r in rl
            )
            why = "is a superset of" if superset else "has no mirror in"
            return _step(
                "proxy",
                False,
                f"{names[0]} proposes '{e.text}', which {why} "
                f"{names[1]} ACL {re_.acl} ({'; '.join(r.text for r in rl)})",
            )
    return _step(
        "proxy", True, f"{names[0]} ACL {ie.acl} lies within the mirror of {names[1]} ACL {re_.acl}"
    )


def _direction(ini: CryptoConfig, res: CryptoConfig, ni: str, nr: str) -> dict[str, Any]:
    names = (ni, nr)
    steps: list[dict[str, Any]] = []
    found = _entry_to(ini, res.addresses())
    if found is None:
        steps.append(
            _step(
                "peer",
                False,
                f"{ni} has no applied crypto map entry with 'set peer' "
                f"= one of {nr}'s addresses ({', '.join(res.addresses()) or 'none'})",
            )
        )
        return {"initiator": ni, "responder": nr, "steps": steps}
    ie, local = found
    re_ = _responder_entry(res, local)
    if re_ is None:
        steps.append(
            _step(
                "peer",
                False,
                f"{nr} has no applied crypto map entry for {ni}'s "
                f"address {local} (and no dynamic map)",
            )
        )
        return {"initiator": ni, "responder": nr, "steps": steps}
    remote = next(p for p in ie.peers if p in res.addresses())
    steps.append(
        _step(
            "peer",
            True,
            f"{ni} {ie.name} {ie.seq} -> {remote}; {nr} {re_.name} "
            f"{re_.seq} {'(dynamic)' if re_.dynamic else '-> ' + local}",
        )
    )
    v2 = bool(ie.ikev2_profile)
    version = 2 if v2 else 1
    kin, kres = ini.key_for(remote, version), res.key_for(local, version)
    if kin is None or kres is None:
        who, addr = (ni, remote) if kin is None else (nr, local)
        steps.append(_step("psk", False, f"{who} has no pre-shared key for {addr}"))
    else:
        same = same_key(kin, kres)
        if same is False:
            steps.append(
                _step(
                    "psk",
                    False,
                    f"pre-shared keys differ ({ni}: {kin.where} "
                    f"{kin.network}; {nr}: {kres.where} {kres.network})",
                )
            )
        else:
            verdict = (
                "keys equal"
                if same
                else "keys stored encrypted (type 6/7): equality not verifiable"
            )
            steps.append(
                _step(
                    "psk",
                    True,
                    f"{ni}: {kin.where} {kin.network}; {nr}: "
                    f"{kres.where} {kres.network}; {verdict}",
                )
            )
    steps.append(_p1_v2(ini, res, names) if v2 else _p1_v1(ini, res, names))
    steps.append(_p2(ini, ie, res, re_, names))
    steps.append(_proxy(ini, ie, res, re_, names))
    return {"initiator": ni, "responder": nr, "steps": steps}


def _offers(cfg: CryptoConfig) -> dict[str, Any]:
    """What a side offers, for the table and JSON; never a key value."""
    return {
        "addresses": cfg.addresses(),
        "isakmp_policies": [p.label() for p in cfg.isakmp_policies],
        "ikev2_proposals": [
            f"{p.name}: {' '.join(p.encryption)} / {' '.join(p.integrity)} / "
            f"group {' '.join(map(str, p.groups))}"
            for p in cfg.ikev2_proposals
        ],
        "psk_for": [f"{k.network} ({k.where})" for k in cfg.keys],
        "transform_sets": [t.label() for t in cfg.transform_sets.values()],
        "crypto_maps": [
            f"{e.name} {e.seq} {e.kind} peer {' '.join(e.peers) or '-'} ts "
            f"{' '.join(e.transform_sets) or '-'} pfs {e.pfs or 'none'} acl {e.acl or '-'}"
            for e in cfg.crypto_maps
        ],
        "acls": {
            name: [e.text for e in entries]
            for name, entries in cfg.acls.items()
            if any(e.acl == name for e in cfg.crypto_maps)
        },
    }


def check_pair(
    a: CryptoConfig, b: CryptoConfig, *, name_a: str = "A", name_b: str = "B"
) -> dict[str, Any]:
    """The ``diag pair`` document (without the envelope)."""
    directions = [_direction(a, b, name_a, name_b), _direction(b, a, name_b, name_a)]
    first = None
    for step in STEPS:
        if any(s["step"] == step and not s["ok"] for d in directions for s in d["steps"]):
            first = step
            break
    return {
        "verdict": "ok" if first is None else "fail",
        "first_failure": first,
        "directions": directions,
        "a": {"name": name_a, **_offers(a)},
        "b": {"name": name_b, **_offers(b)},
    }


def render_pair(result: dict[str, Any], console: Console) -> None:
    a, b = result["a"], result["b"]
    table = Table(title="what each side offers", show_lines=True)
    table.add_column("")
    table.add_column(a["name"], overflow="fold")
    table.add_column(b["name"], overflow="fold")
    for key in (
        "addresses",
        "isakmp_policies",
        "ikev2_proposals",
        "psk_for",
        "transform_sets",
        "crypto_maps",
    ):
        table.add_row(key, "\n".join(a[key]) or "-", "\n".join(b[key]) or "-")
    table.add_row(
        "crypto ACLs",
        "\n".join(f"{n}: {'; '.join(v)}" for n, v in a["acls"].items()) or "-",
        "\n".join(f"{n}: {'; '.join(v)}" for n, v in b["acls"].items()) or "-",
    )
    console.print(table)
    for d in result["directions"]:
        console.print(f"[bold]{d['initiator']} initiates -> {d['responder']}[/bold]")
        for s in d["steps"]:
            mark = "[green]ok[/green]" if s["ok"] else "[red]FAIL[/red]"
            console.print(f"  {mark} {s['step']}: {s['reason']}")
    if result["verdict"] == "ok":
        console.print("[green]verdict: ok[/green]")
    else:
        console.print(f"[red]verdict: fail at {result['first_failure']}[/red]")
