"""Weak and legacy crypto, per Cisco's Next Generation Encryption guidance (knowledge 6.10-6.12).

Statuses used (NGE table, [V]): DES and MD5 "Avoid" -> error; 3DES "Legacy" and HMAC-SHA-1
"Acceptable but not NGE" -> warning; DH groups 1 and 2 (768/1024 bit) "Avoid" -> error; group 5
(1536 bit, below the 2048-bit minimum, 6.11 [T/K]) -> warning; group 14 acceptable minimum ->
info (upgrade to 19/20). Each finding's ``next_steps`` are the configuration lines to type.
Certificates from ``show crypto pki certificates``: expired -> critical, < 30 days -> warning.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ipsecctl.diag.config import CryptoConfig
from ipsecctl.models import Finding, Severity

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
                new = " ".join(_REPLACE.get(w.split()[0], w) for w in ts.transforms)
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
        if e.lifetime_s is not None and not 300 <= e.lifetime_s <= 86400:
            out.append(
                _f(
                    device,
                    "UNUSUAL_IPSEC_LIFETIME",
                    "info",
                    f"crypto map {e.name} {e.seq} lifetime {e.lifetime_s}s is far from the "
                    "3600 s default",
                    [head],
                    [head, " set security-association lifetime seconds 3600"],
                )
            )
        if not e.ikev2_profile and not e.dynamic and cfg.isakmp_policies:
            out.append(
                _f(
                    device,
                    "IKEV1_IN_USE",
                    "info",
                    f"crypto map {e.name} {e.seq} negotiates with IKEv1",
                    [head],
                    [
                        "crypto ikev2 proposal / policy / keyring / profile",
                        head,
                        " set ikev2-profile <profile>",
                    ],
                )
            )
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
                    [
                        f"no {k.where} <key> address 0.0.0.0 0.0.0.0",
                        "crypto isakmp key <key> address <peer address>",
                    ],
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
