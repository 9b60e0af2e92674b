"""Weak and legacy crypto, per Cisco's Next Generation Encryption (NGE) white paper.

Statuses used (the NGE table): DES and MD5 "Avoid" -> error; 3DES "Legacy" and HMAC-SHA-1
"Acceptable but not NGE" -> warning; DH groups 1 and 2 (768/1024 bit) "Avoid" -> error; group 5
(1536 bit, below the 2048-bit minimum) -> warning; group 14 acceptable minimum ->
info (upgrade to 19/20). Each finding's ``next_steps`` are the configuration lines to type.
Certificates from ``show crypto pki certificates``: expired -> critical, < 30 days -> warning.

IPsec SA lifetimes: the IOS default is 3600 s and the ASA's 28800 s (Cisco defaults); a
lifetime above 28800 s keeps one key for longer than either platform would (info; warning with a
64-bit-block cipher, DES/3DES, whose key must be changed often: NGE "Legacy (short key
lifetime)"). IKEv2 proposals are audited like ISAKMP policies: encryption 3des/des and
integrity md5/sha1 with the ``no ...`` lines that remove them.

Every configuration line suggested is valid IOS syntax: transform sets are rebuilt from their
words with :func:`ios_transform_words` (show-output spellings such as ``esp-256-aes`` become
``esp-aes 256``; an AEAD cipher never gets an HMAC beside it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ipsecctl.diag.config import CryptoConfig, Ikev2Proposal
from ipsecctl.models import SEVERITY_ORDER, Finding, Severity

_ENC: dict[str, tuple[Severity, str]] = {"des": ("error", "DES"), "3des": ("warning", "3DES")}
_HASH: dict[str, tuple[Severity, str]] = {"md5": ("error", "MD5"), "sha": ("warning", "SHA-1")}
_GROUP: dict[int, Severity] = {1: "error", 2: "error", 5: "warning", 14: "info"}
_ESP: dict[str, tuple[Severity, str]] = {
    "esp-des": ("error", "DES"),
    "esp-3des": ("warning", "3DES"),
    "esp-md5-hmac": ("error", "HMAC-MD5"),
    "ah-md5-hmac": ("error", "HMAC-MD5"),
    "esp-sha-hmac": ("warning", "HMAC-SHA-1"),
    "ah-sha-hmac": ("warning", "HMAC-SHA-1"),
    "esp-null": ("error", "no encryption"),
}
_REPLACE = {
    "esp-des": "esp-aes 256",
    "esp-3des": "esp-aes 256",
    "esp-md5-hmac": "esp-sha256-hmac",
    "esp-sha-hmac": "esp-sha256-hmac",
    "ah-md5-hmac": "ah-sha256-hmac",
    "ah-sha-hmac": "ah-sha256-hmac",
    "esp-null": "esp-gcm 256",
}
CERT_WARN_DAYS = 30
IPSEC_LIFETIME_DEFAULT_S = 3600  # IOS default (3600 s / 4608000 KB)
IPSEC_LIFETIME_MAX_S = 28800  # above the highest platform default (ASA: 28800 s)
IPSEC_LIFETIME_MIN_S = 300
_V2_ENC: dict[str, tuple[Severity, str]] = {"des": ("error", "DES"), "3des": ("warning", "3DES")}
_V2_INTEG: dict[str, tuple[Severity, str]] = {
    "md5": ("error", "MD5"),
    "sha1": ("warning", "SHA-1"),
    "sha": ("warning", "SHA-1"),
}
_V2_STRONG_ENC = "aes-cbc-256"
_V2_STRONG_INTEG = "sha256"


def ios_transform_words(words: list[str]) -> list[str]:
    """Transform-set words in configuration syntax, weak ones replaced (for a fix line).

    ``esp-256-aes`` is how ``show crypto ipsec sa`` spells AES-256; a transform set is
    configured as ``esp-aes 256``. ESP-GCM/GMAC carry their own integrity, so an HMAC next to
    them is rejected by IOS and is dropped here.
    """
    out: list[str] = []
    for w in words:
        base, *size = w.split()
        m = re.fullmatch(r"esp-(128|192|256)-aes", base)
        if m:
            base, size = "esp-aes", [m.group(1)]
        out.append(_REPLACE[base] if base in _REPLACE else " ".join([base, *size]))
    if any(w.split()[0] in ("esp-gcm", "esp-gmac") for w in out):
        out = [w for w in out if not re.fullmatch(r"esp-\S+-hmac", w)]
    return out


def _f(
    device: str, code: str, sev: Severity, summary: str, evidence: list[str], steps: list[str]
) -> Finding:
    return Finding(
        code=code,
        severity=sev,
        device=device,
        summary=summary,
        evidence=evidence,
        causes=["Cisco NGE guidance (Next Generation Cryptography white paper)"],
        next_steps=steps,
    )


def audit_config(cfg: CryptoConfig, device: str) -> list[Finding]:
    """Findings for one device's crypto configuration (pure)."""
    out: list[Finding] = []
    for p in cfg.isakmp_policies:
        head = f"crypto isakmp policy {p.priority}"
        if p.encryption in _ENC:
            sev, name = _ENC[p.encryption]
            out.append(
                _f(
                    device,
                    "WEAK_IKE_ENCRYPTION",
                    sev,
                    f"ISAKMP policy {p.priority} uses {name}",
                    [p.label()],
                    [head, " encryption aes 256"],
                )
            )
        if p.hash in _HASH:
            sev, name = _HASH[p.hash]
            out.append(
                _f(
                    device,
                    "WEAK_IKE_HASH",
                    sev,
                    f"ISAKMP policy {p.priority} uses {name}",
                    [p.label()],
                    [head, " hash sha256"],
                )
            )
        if p.group in _GROUP:
            out.append(
                _f(
                    device,
                    "WEAK_DH_GROUP",
                    _GROUP[p.group],
                    f"ISAKMP policy {p.priority} uses DH group {p.group}",
                    [p.label()],
                    [head, " group 19"],
                )
            )
        if not 3600 <= p.lifetime <= 86400:
            out.append(
                _f(
                    device,
                    "UNUSUAL_IKE_LIFETIME",
                    "info",
                    f"ISAKMP policy {p.priority} lifetime {p.lifetime}s is far from the "
                    "86400 s default",
                    [p.label()],
                    [head, " lifetime 86400"],
                )
            )
    for prop in cfg.ikev2_proposals:
        out += _ikev2_proposal_algorithms(prop, device)
        for g in prop.groups:
            if g in _GROUP:
                out.append(
                    _f(
                        device,
                        "WEAK_DH_GROUP",
                        _GROUP[g],
                        f"IKEv2 proposal {prop.name} allows DH group {g}",
                        [f"group {' '.join(map(str, prop.groups))}"],
                        [f"crypto ikev2 proposal {prop.name}", " group 19 20"],
                    )
                )
    for ts in cfg.transform_sets.values():
        for word in ts.transforms:
            base = word.split()[0]
            if base in _ESP:
                sev, name = _ESP[base]
                new = " ".join(ios_transform_words(ts.transforms))
                out.append(
                    _f(
                        device,
                        "WEAK_IPSEC_TRANSFORM",
                        sev,
                        f"transform set {ts.name} uses {name}",
                        [ts.label()],
                        [f"crypto ipsec transform-set {ts.name} {new}"],
                    )
                )
    for e in cfg.crypto_maps:
        head = f"crypto map {e.name} {e.seq} {e.kind}"
        if not e.pfs and not e.dynamic:
            out.append(
                _f(
                    device,
                    "NO_PFS",
                    "warning",
                    f"crypto map {e.name} {e.seq} has no PFS",
                    [head],
                    [head, " set pfs group19"],
                )
            )
        elif e.pfs in ("group1", "group2", "group5"):
            out.append(
                _f(
                    device,
                    "WEAK_DH_GROUP",
                    "error" if e.pfs != "group5" else "warning",
                    f"crypto map {e.name} {e.seq} PFS uses {e.pfs}",
                    [head],
                    [head, " set pfs group19"],
                )
            )
        if e.lifetime_s is not None:
            out += _ipsec_lifetime(
                cfg, device, e.lifetime_s, f"crypto map {e.name} {e.seq}", [head], e.transform_sets
            )
        if not e.ikev2_profile and not e.dynamic and cfg.isakmp_policies:
            out.append(
                _f(
                    device,
                    "IKEV1_IN_USE",
                    "info",
                    f"crypto map {e.name} {e.seq} negotiates with IKEv1",
                    [head],
                    _ikev2_migration(head, e.peers),
                )
            )
    for prof in cfg.ipsec_profiles:
        life = prof.get("lifetime_s")
        if isinstance(life, int):
            out += _ipsec_lifetime(
                cfg,
                device,
                life,
                f"IPsec profile {prof.get('name')}",
                [f"crypto ipsec profile {prof.get('name')}"],
                str(prof.get("transform_sets", "")).split(),
            )
    glob = cfg.globals_.get("ipsec_lifetime_s")
    if isinstance(glob, int):
        # The global value applies where a map entry or profile sets no lifetime of its own.
        inherit = [ts for e in cfg.crypto_maps if e.lifetime_s is None for ts in e.transform_sets]
        inherit += [
            ts
            for prof in cfg.ipsec_profiles
            if not isinstance(prof.get("lifetime_s"), int)
            for ts in str(prof.get("transform_sets", "")).split()
        ]
        out += _ipsec_lifetime(cfg, device, glob, "global setting", [], inherit)
    for k in cfg.keys:
        if k.network in ("0.0.0.0/0", "::/0"):
            out.append(
                _f(
                    device,
                    "WILDCARD_PSK",
                    "warning",
                    f"wildcard pre-shared key ({k.where} {k.network}): any peer that knows "
                    "it can authenticate",
                    [f"{k.where} address {k.network}"],
                    _wildcard_fix(k.where, k.network),
                )
            )
    psk_in_use = any(p.auth == "pre-share" for p in cfg.isakmp_policies)
    if psk_in_use and not cfg.globals_.get("aggressive_mode_disabled"):
        out.append(
            _f(
                device,
                "AGGRESSIVE_MODE_ALLOWED",
                "info",
                "aggressive mode is not disabled while pre-shared keys are in use "
                "(the PSK hash can be cracked offline)",
                [],
                ["crypto isakmp aggressive-mode disable"],
            )
        )
    return out


def _wildcard_fix(where: str, network: str) -> list[str]:
    """Lines that replace a wildcard key by a per-peer one, in the syntax of where it lives.

    ``<key>`` and ``<peer address>`` are the operator's values (the key is never printed).
    """
    v6 = network == "::/0"
    if where.startswith("ikev2 keyring "):
        ring, _, peer = where.removeprefix("ikev2 keyring ").partition(" peer ")
        return [f"crypto ikev2 keyring {ring}", f" peer {peer}", "  address <peer address>"]
    wild = "ipv6 ::/0" if v6 else "0.0.0.0 0.0.0.0"
    one = "ipv6 <peer address>/128" if v6 else "<peer address> 255.255.255.255"
    if where.startswith("keyring "):
        ring = where.removeprefix("keyring ")
        return [
            f"crypto keyring {ring}",
            f" no pre-shared-key address {wild}",
            f" pre-shared-key address {one} key <key>",
        ]
    return [f"no crypto isakmp key <key> address {wild}", f"crypto isakmp key <key> address {one}"]


def _ikev2_migration(head: str, peers: list[str]) -> list[str]:
    """A minimal IKEv2 (FlexVPN) configuration for one crypto map entry, then the map line."""
    peer = peers[0] if len(peers) == 1 else "<peer address>"
    mask = "/128" if ":" in peer else " 255.255.255.255"
    return [
        "crypto ikev2 proposal IKEV2-PROP",
        " encryption aes-cbc-256",
        " integrity sha256",
        " group 19",
        "crypto ikev2 policy IKEV2-POL",
        " proposal IKEV2-PROP",
        "crypto ikev2 keyring IKEV2-KR",
        " peer PEER1",
        f"  address {peer}",
        "  pre-shared-key <key>",
        "crypto ikev2 profile IKEV2-PROF",
        f" match identity remote address {peer}{mask}",
        " authentication remote pre-share",
        " authentication local pre-share",
        " keyring local IKEV2-KR",
        head,
        " set ikev2-profile IKEV2-PROF",
    ]


def _ipsec_lifetime(
    cfg: CryptoConfig,
    device: str,
    seconds: int,
    where: str,
    head: list[str],
    transform_sets: list[str],
) -> list[Finding]:
    """A lifetime far from the defaults, with the line that sets the default back.

    ``head`` is the configuration mode to enter (empty for the global command); the
    transform sets, when known, decide whether a long lifetime meets a 64-bit-block cipher.
    """
    line = f"security-association lifetime seconds {IPSEC_LIFETIME_DEFAULT_S}"
    steps = [*head, f" set {line}"] if head else [f"crypto ipsec {line}"]
    if seconds < IPSEC_LIFETIME_MIN_S:
        return [
            _f(
                device,
                "UNUSUAL_IPSEC_LIFETIME",
                "info",
                f"{where}: IPsec SA lifetime {seconds}s is far below the "
                f"{IPSEC_LIFETIME_DEFAULT_S} s default (constant rekeying)",
                [*head, f" set security-association lifetime seconds {seconds}"],
                steps,
            )
        ]
    if seconds <= IPSEC_LIFETIME_MAX_S:
        return []
    names = transform_sets or []
    small_block = [
        n
        for n in names
        if n in cfg.transform_sets
        and any(w.split()[0] in ("esp-des", "esp-3des") for w in cfg.transform_sets[n].transforms)
    ]
    sev: Severity = "warning" if small_block else "info"
    why = (
        f"; transform set {', '.join(small_block)} uses a 64-bit-block cipher "
        "(DES/3DES) whose key must change often"
        if small_block
        else ""
    )
    evidence = [*head, f" set {line.replace(str(IPSEC_LIFETIME_DEFAULT_S), str(seconds))}"]
    if not head:
        evidence = [f"crypto ipsec security-association lifetime seconds {seconds}"]
    return [
        _f(
            device,
            "LONG_IPSEC_LIFETIME",
            sev,
            f"{where}: IPsec SA lifetime {seconds}s is far above the "
            f"{IPSEC_LIFETIME_DEFAULT_S} s default (IOS; ASA {IPSEC_LIFETIME_MAX_S} s): one key "
            f"protects {seconds // 3600} h of traffic{why}",
            evidence,
            steps,
        )
    ]


def _ikev2_proposal_algorithms(prop: Ikev2Proposal, device: str) -> list[Finding]:
    """Weak encryption and integrity offered by an IKEv2 proposal, with the lines to fix it."""
    out: list[Finding] = []
    head = f"crypto ikev2 proposal {prop.name}"
    checks = (
        ("encryption", prop.encryption, _V2_ENC, _V2_STRONG_ENC, "WEAK_IKE_ENCRYPTION"),
        ("integrity", prop.integrity, _V2_INTEG, _V2_STRONG_INTEG, "WEAK_IKE_HASH"),
    )
    for kw, offered, table, strong, code in checks:
        weak = [a for a in offered if a in table]
        if not weak:
            continue
        keep = [a for a in offered if a not in table]
        steps = [head, *(f" no {kw} {a}" for a in weak)]
        if not keep:
            steps.append(f" {kw} {strong}")  # a proposal must keep one value
        worst = max((table[a][0] for a in weak), key=lambda x: SEVERITY_ORDER[x])
        out.append(
            _f(
                device,
                code,
                worst,
                f"IKEv2 proposal {prop.name} offers {kw} " + ", ".join(table[a][1] for a in weak),
                [f"{head}: {kw} {' '.join(offered)}"],
                steps,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# certificates

_DATE = re.compile(r"end\s+date:\s+(\d{2}:\d{2}:\d{2})\s+\w+\s+(\w{3})\s+(\d{1,2})\s+(\d{4})")


def parse_certificates(text: str) -> list[dict[str, object]]:
    """Blocks of ``show crypto pki certificates``: kind, subject cn, trustpoints, end date."""
    certs: list[dict[str, object]] = []
    cur: dict[str, object] | None = None
    section = ""
    for line in text.splitlines():
        s = line.strip()
        if s.endswith("Certificate") and not line.startswith(" "):
            cur = {"kind": s, "cn": None, "trustpoints": None, "end": None}
            certs.append(cur)
            continue
        if cur is None:
            continue
        if s.startswith(("Subject:", "Issuer:")):
            section = s.split(":")[0]
        if section == "Subject" and s.startswith("cn=") and cur["cn"] is None:
            cur["cn"] = s[3:]
        if s.startswith("Name:") and cur["cn"] is None:
            cur["cn"] = s[5:].strip()
        m = _DATE.search(s)
        if m:
            cur["end"] = datetime.strptime(
                f"{m.group(2)} {m.group(3)} {m.group(4)} {m.group(1)}", "%b %d %Y %H:%M:%S"
            ).replace(tzinfo=UTC)
        if s.startswith("Associated Trustpoints:"):
            cur["trustpoints"] = s.split(":", 1)[1].strip()
    return certs


def audit_certificates(text: str, device: str, now: datetime | None = None) -> list[Finding]:
    now = now or datetime.now(UTC)
    out = []
    for c in parse_certificates(text):
        end = c["end"]
        if not isinstance(end, datetime):
            continue
        days = (end - now).days
        label = f"{c['kind']} {c['cn'] or ''} (trustpoint {c['trustpoints']})"
        sev: Severity
        if end <= now:
            sev, what = "critical", f"expired on {end.date()}"
        elif days < CERT_WARN_DAYS:
            sev, what = "warning", f"expires in {days} days ({end.date()})"
        else:
            continue
        out.append(
            _f(
                device,
                "CERT_EXPIRED" if sev == "critical" else "CERT_EXPIRING",
                sev,
                f"{label} {what}",
                [f"end date {end.isoformat()}"],
                [
                    f"crypto pki enroll {c['trustpoints'] or '<trustpoint>'}",
                    "show crypto pki certificates",
                ],
            )
        )
    return out
