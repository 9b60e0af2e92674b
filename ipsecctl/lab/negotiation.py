"""Two configured ends -> what a negotiation between them does (pure).

The order is the one packets meet, which is also where a real initiator gets stuck:

1. the responder must have an entry for the initiator (else nobody answers: IKEv1 stays in
   MM_NO_STATE, IKEv2 in negotiation);
2. phase 1 proposals (IKEv1: the initiator's policies in priority order, the first equal to a
   responder policy in encryption, hash, authentication and group whose lifetime is not longer
   than the responder's; IKEv2: a common encryption, integrity and group) -- a mismatch leaves
   IKEv1 in MM_NO_STATE and gets an IKEv2 NO_PROPOSAL_CHOSEN;
3. the pre-shared keys (both ends must hold the same key for each other) -- a mismatch leaves
   IKEv1 in MM_KEY_EXCH and gets an IKEv2 AUTHENTICATION_FAILED;
4. phase 2: a transform set both accept (encryption, integrity, mode), and PFS: a group the
   responder requires must be offered identically -- IKE stays up, no IPsec SA;
5. proxy identities: each initiator selector pair must lie inside a mirrored responder pair
   (initiator subset accepted, superset rejected) -- IKE up, no IPsec SA (IKEv2 TS_UNACCEPTABLE).

Sources: Cisco's configuration guides ("How Do IKE Policies Match" for phase 1, transform sets
and ``set pfs`` for phase 2, mirror-image crypto ACLs for proxy identities), the same rules the
``diag pair`` engine applies.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ipsecctl.lab.device_config import Intent, P1Policy, TransformSet

#: outcome -> the lab behaviour a link with that outcome plays
BEHAVIOUR = {
    "up": "healthy",
    "no_response": "ike_no_response",
    "p1_mismatch": "p1_mismatch",
    "psk_mismatch": "psk_mismatch",
    "p2_mismatch": "p2_mismatch",
    "proxy_mismatch": "proxy_mismatch",
}


@dataclass(frozen=True)
class Agreed:
    """What both ends settled on (for show outputs)."""

    encryption: str = "aes256"
    integrity: str = "sha256"
    prf: str = "sha256"
    group: int = 14
    auth: str = "psk"
    ike_lifetime: int = 86400
    esp: tuple[str, str] = ("aes256", "sha256")
    pfs: int | None = None
    lifetime_s: int = 3600
    lifetime_kb: int = 4608000


@dataclass(frozen=True)
class Outcome:
    result: str  # a key of BEHAVIOUR
    reason: str
    agreed: Agreed | None = None

    @property
    def behaviour(self) -> str:
        return BEHAVIOUR[self.result]


def _p1(ini: list[P1Policy], res: list[P1Policy]) -> P1Policy | None:
    for p in ini:
        for r in res:
            if (p.encryption, p.hash, p.auth, p.group) == (
                r.encryption,
                r.hash,
                r.auth,
                r.group,
            ) and p.lifetime <= r.lifetime:
                return P1Policy(
                    p.priority, p.encryption, p.hash, p.auth, p.group, min(p.lifetime, r.lifetime)
                )
    return None


def _v2(ini: Intent, res: Intent) -> Agreed | None:
    for p in ini.v2:
        for r in res.v2:
            enc = next((e for e in p.encryption if e in r.encryption), None)
            integ = next((i for i in p.integrity if i in r.integrity), None)
            group = next((g for g in p.groups if g in r.groups), None)
            if enc is None or group is None or (integ is None and not enc.endswith("gcm16")):
                continue
            prf = next((x for x in p.prf if x in r.prf), integ or "sha256")
            return Agreed(
                encryption=enc,
                integrity=integ or "none",
                prf=prf,
                group=group,
                ike_lifetime=p.lifetime,
            )
    return None


def _transform(ini: list[TransformSet], res: list[TransformSet]) -> tuple[str, str] | None:
    for t in ini:
        for pair in t.pairs:
            if any(pair in r.pairs and t.mode == r.mode for r in res):
                return pair
    return None


def _inside(inner: tuple[object, object], outer: tuple[object, object]) -> bool:
    a, b = inner
    c, d = outer
    assert isinstance(a, ipaddress.IPv4Network | ipaddress.IPv6Network)
    assert isinstance(b, ipaddress.IPv4Network | ipaddress.IPv6Network)
    assert isinstance(c, ipaddress.IPv4Network | ipaddress.IPv6Network)
    assert isinstance(d, ipaddress.IPv4Network | ipaddress.IPv6Network)
    return a.version == c.version and b.version == d.version and a.subnet_of(c) and b.subnet_of(d)  # type: ignore[arg-type]


def negotiate(ini: Intent, res: Intent | None) -> Outcome:
    """What happens when ``ini`` starts the tunnel towards ``res`` (None: no entry there)."""
    if res is None:
        return Outcome("no_response", "the peer has no crypto map entry or tunnel for us")
    if ini.ike_version != res.ike_version:
        return Outcome(
            "no_response" if ini.ike_version == 1 else "p1_mismatch",
            f"IKEv{ini.ike_version} offered, the peer runs IKEv{res.ike_version}",
        )
    if ini.psk is None:
        return Outcome("no_response", "no pre-shared key for the peer: nothing is sent")
    if res.psk is None:
        if ini.ike_version == 1:
            return Outcome("no_response", "the peer has no pre-shared key for us")
        return Outcome("psk_mismatch", "the peer finds no key for our identity")
    if ini.ike_version == 1:
        pol = _p1(ini.p1, res.p1)
        if pol is None:
            return Outcome("p1_mismatch", "no IKEv1 policy in common")
        agreed = Agreed(
            encryption=pol.encryption,
            integrity=pol.hash,
            prf=pol.hash,
            group=pol.group,
            auth="psk" if pol.auth == "pre-share" else pol.auth,
            ike_lifetime=pol.lifetime,
        )
    else:
        found = _v2(ini, res)
        if found is None:
            return Outcome("p1_mismatch", "no IKEv2 proposal in common (NO_PROPOSAL_CHOSEN)")
        agreed = found
    if ini.psk != res.psk:
        return Outcome("psk_mismatch", "the pre-shared keys differ")
    esp = _transform(ini.transforms, res.transforms)
    if esp is None:
        return Outcome("p2_mismatch", "no transform set in common", agreed)
    if res.pfs is not None and ini.pfs != res.pfs:
        return Outcome("p2_mismatch", f"the peer requires PFS group {res.pfs}", agreed)
    if ini.pfs is not None and res.pfs is not None and ini.pfs != res.pfs:
        return Outcome("p2_mismatch", "PFS groups differ", agreed)
    for pair in ini.selectors:
        mirrored = [(b, a) for a, b in res.selectors]
        if not any(_inside(pair, m) for m in mirrored):
            return Outcome(
                "proxy_mismatch",
                f"selector {pair[0]} -> {pair[1]} is not inside the peer's ACL",
                agreed,
            )
    if not ini.selectors:
        return Outcome("proxy_mismatch", "no crypto ACL selects traffic", agreed)
    return Outcome(
        "up",
        "negotiated",
        Agreed(
            encryption=agreed.encryption,
            integrity=agreed.integrity,
            prf=agreed.prf,
            group=agreed.group,
            auth=agreed.auth,
            ike_lifetime=agreed.ike_lifetime,
            esp=esp,
            pfs=ini.pfs,
            lifetime_s=min(ini.lifetime_s, res.lifetime_s),
            lifetime_kb=min(ini.lifetime_kb, res.lifetime_kb),
        ),
    )


def offered(it: Intent) -> Agreed:
    """What an end settles on with a peer outside the lab (it accepts our first offer)."""
    if it.ike_version == 1 and it.p1:
        p = it.p1[0]
        ike = Agreed(
            encryption=p.encryption,
            integrity=p.hash,
            prf=p.hash,
            group=p.group,
            auth="psk" if p.auth == "pre-share" else p.auth,
            ike_lifetime=p.lifetime,
        )
    elif it.v2 and it.v2[0].encryption and it.v2[0].groups:
        p2 = it.v2[0]
        integ = p2.integrity[0] if p2.integrity else "none"
        ike = Agreed(
            encryption=p2.encryption[0],
            integrity=integ,
            prf=p2.prf[0] if p2.prf else integ,
            group=p2.groups[0],
            ike_lifetime=p2.lifetime,
        )
    else:
        ike = Agreed()
    esp = (
        it.transforms[0].pairs[0]
        if it.transforms and it.transforms[0].pairs
        else ("aes256", "sha256")
    )
    return Agreed(
        encryption=ike.encryption,
        integrity=ike.integrity,
        prf=ike.prf,
        group=ike.group,
        auth=ike.auth,
        ike_lifetime=ike.ike_lifetime,
        esp=esp,
        pfs=it.pfs,
        lifetime_s=it.lifetime_s,
        lifetime_kb=it.lifetime_kb,
    )
