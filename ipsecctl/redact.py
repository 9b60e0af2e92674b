"""One place that knows what a secret looks like, for the audit log, log files and exports.

Two complementary nets: patterns (device config lines and ``key: value`` shapes that carry
PSKs, passwords and session keys) and literal values registered at runtime (the inventory's
passwords), so a secret echoed in some unexpected form (a device banner, an exception message)
is still masked. Redaction is lossy on purpose: it may hide a harmless word that looks like a
key; it must never show a key.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "**********"
# What saved device outputs (``--save-raw``) show in place of key material: the file stays
# readable as configuration, and nobody mistakes the placeholder for a masked-but-kept value.
REMOVED = "<removed>"

# Mapping keys whose values are secrets wherever they appear (audit details, JSON, data).
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|psk|pre[-_ ]?shared|(^|[-_ ])keys?($|[-_ ])|^keys?$|token"
    r"|credential|authenticator|cipher[-_]?key|session[-_]?key|enc[-_]?key|auth[-_]?key",
    re.IGNORECASE,
)

_S = r"[ \t]+"  # blanks within one line: a pattern never reaches into the next line
_V = r"(?![{\[])(?:\"[^\"\n]+\"|'[^'\n]+'|(?!\"\"|'')\S+)"  # a value: quoted or one word
_ENC = r"(?:[0-9][ \t]+(?=\S))?"  # encryption type before a key (0 clear, 6/7/8 hashed)


def _p(pattern: str, flags: int = 0) -> tuple[str, int]:
    return pattern.replace("<S>", _S).replace("<ENC>", _ENC), flags


# Every pattern names the secret ``v``; everything else in the match is kept as it was.
# Cisco keywords are matched in lower case only, as configurations print them: show
# commands say "Key Server", "DH Share Secret", which are no secrets.
_TEXT_SOURCES: tuple[tuple[str, int], ...] = (
    # IOS: crypto isakmp key [0|6|7] <KEY> address|hostname ...
    _p(r"\bcrypto<S>isakmp<S>key<S>(?:[067]<S>(?!(?:address|hostname)\b))?(?P<v>\S+)"),
    # IOS keyrings: pre-shared-key {address [ipv6] A [MASK] | hostname H} key [0|6|7] KEY;
    # IKEv2 keyrings: pre-shared-key [local|remote] [0|6] KEY; ASA: ikev1 pre-shared-key [0|8]
    # KEY, ikev2 local-|remote-authentication pre-shared-key [hex] KEY, tunnel-group
    # ipsec-attributes: pre-shared-key KEY
    _p(
        r"\bpre-shared-key<S>(?:(?:address<S>(?:ipv6<S>)?|hostname<S>)\S+"
        r"(?:<S>\d+\.\d+\.\d+\.\d+)?<S>key<S>|(?:local|remote)<S>)?"
        r"(?:[0678]<S>(?=\S))?(?:hex<S>(?=\S))?(?P<v>\S+)"
    ),
    # Manual SAs: set session-key inbound|outbound esp <spi> cipher <hex> [authenticator <hex>]
    _p(r"\b(?:cipher|authenticator)<S>(?P<v>[0-9A-Fa-f]{8,})"),
    _p(r"\bset<S>session-key<S>\S+<S>ah<S>\d+<S>(?P<v>[0-9A-Fa-f]{8,})"),
    # username x secret 9 $9$..., enable secret [level 15] 5 ..., enable password x,
    # key-string 7 ..., ASA passwd ... encrypted, key config-key password-encrypt ...
    _p(
        r"\b(?:secret|password|passwd|key-string|password-encrypt)<S>(?:level<S>\d+<S>)?<ENC>"
        r"(?![=:])(?P<v>\S+)"
    ),
    _p(r"\bip<S>nhrp<S>authentication<S>(?P<v>\S+)"),
    # ip ospf authentication-key [0|7] K; ntp authentication-key 1 md5 K [7];
    # ip ospf message-digest-key 1 md5 [7] K
    _p(
        r"\b(?:authentication-key|message-digest-key)<S>"
        r"(?:\d+<S>(?:md5|sha\d*|cmac-aes-128|hmac-sha[-\d]*)<S>)?<ENC>(?P<v>\S+)"
    ),
    # TACACS+/RADIUS shared keys: tacacs-server|radius-server ... key [7] K, and the indented
    # "key [7] K" of server and ISAKMP client-group blocks (not "key chain", "key 1")
    _p(r"\b(?:tacacs-server|radius-server)\b[^\n]*?\bkey<S><ENC>(?P<v>\S+)"),
    _p(r"^[ \t]+key<S><ENC>(?!chain\b|config-key\b|\d+[ \t]*$)(?P<v>\S+)", re.M),
    _p(r"\bsnmp-server<S>community<S><ENC>(?P<v>\S+)"),
    # SNMPv3 users: ... auth sha AUTHPW priv aes 128 PRIVPW
    _p(r"\bauth<S>(?:md5|sha\S*)<S>(?P<v>\S+)"),
    _p(r"\bpriv<S>(?:des\S*|3des|aes(?:<S>\d+)?)<S>(?P<v>\S+)"),
    # ipsec.secrets (strongSwan, libreswan): [ids] : PSK "k" | XAUTH "pw" | EAP "pw" ...;
    # unquoted values only when they end the line (": PSK," in show output is no secret)
    _p(
        r":[ \t]*(?:PSK|XAUTH|EAP|NTLM)<S>"
        r"(?P<v>\"[^\"\n]*\"|'[^'\n]*'|0[xs]\S+|\S+(?=[ \t]*$))",
        re.M,
    ),
    # ipsec.secrets private keys with a passphrase: : RSA|ECDSA|P12 file "passphrase"
    _p(r":[ \t]*(?:RSA|ECDSA|BLISS|P12|PKCS8|PIN)<S>\S+<S>(?P<v>\"[^\"\n]*\")"),
    # libreswan raw RSA keys: PrivateExponent: 0x..., Prime1: 0x... (inside : RSA { ... })
    _p(
        r"\b(?:PrivateExponent|Prime1|Prime2|Exponent1|Exponent2|Coefficient)[ \t]*:[ \t]*"
        r"(?P<v>\S+)"
    ),
    # PEM private keys (a host key or certificate key pasted into a config or secrets file)
    _p(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?P<v>.*?)"
        r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----",
        re.S,
    ),
    # key = value / key: value / "key": "value" (swanctl secrets, JSON, query strings)
    _p(
        r"""["']?\b[\w-]*(?:password|passwd|secret|psk|passphrase|token|pre[-_]?shared[-_]?key"""
        r"""|session[-_]?key|enc[-_]?key|auth[-_]?key)["']?[ \t]*[=:][ \t]*(?P<v>""" + _V + ")",
        re.I,
    ),
    # strongSwan / ESP key material printed as 0x<hex> of 16+ bytes after "key"
    _p(r"\bkey\b[ \t]*(?:[=:][ \t]*)?(?P<v>0x[0-9A-Fa-f]{32,})", re.I),
    # charon at log level 4 dumps the keys it derives ("Sk_ei secret => 16 bytes @ 0x...",
    # "encryption initiator key => ...") as hex lines "   0: 7D 34 ...  ascii": every hex
    # dump line of a charon log is hidden, whatever it holds
    _p(
        r"(?m)^[^\n]*\[[A-Z]{2,4}\] <[^>\n]*>[ \t]+\d+:[ \t]+"
        r"(?P<v>(?:[0-9A-F]{2}[ \t]){1,16}[^\n]*)$"
    ),
)


@functools.cache
def _text_patterns() -> tuple[re.Pattern[str], ...]:
    """Compiled at the first redaction: a command that logs, saves and audits nothing (most
    read-only commands) does not compile twenty patterns at start-up."""
    return tuple(re.compile(pattern, flags) for pattern, flags in _TEXT_SOURCES)


_registered: set[str] = set()
_lock = threading.Lock()
_MIN_LITERAL = 4  # shorter values would mask ordinary words


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember literal secrets (inventory passwords) so any occurrence of them is masked."""
    with _lock:
        _registered.update(v for v in values if v and len(v) >= _MIN_LITERAL)


def clear_registered() -> None:
    with _lock:
        _registered.clear()


def redact_text(text: str, *, mask: str = MASK) -> str:
    """Replace every secret the patterns or the registered literals find in ``text``.

    ``mask`` is what stands in for each secret: :data:`MASK` in logs and audit records,
    :data:`REMOVED` in saved device outputs. Runs in time linear in ``text`` (device outputs
    can be tens of megabytes) and returns ``text`` itself when there is nothing to hide.
    """
    if not text:
        return text

    def hide(match: re.Match[str]) -> str:
        whole, start = match.group(0), match.start()
        return whole[: match.start("v") - start] + mask + whole[match.end("v") - start :]

    for pattern in _text_patterns():
        text = pattern.sub(hide, text)
    with _lock:
        literals = sorted(_registered, key=len, reverse=True)
    for literal in literals:
        if literal in text:
            text = text.replace(literal, mask)
    return text


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(SECRET_KEY.search(key))


def redact(value: Any) -> Any:
    """A deep copy of ``value`` with secret-named keys masked and every string redacted.

    Objects with a ``get()``-only secret (``inventory.Secret``, pydantic ``SecretStr``) become
    the mask; other objects are left alone (their ``str`` is not ours to trust or change).
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: (MASK if is_secret_key(k) and v not in (None, "", False) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if type(value).__name__ in ("Secret", "SecretStr", "SecretBytes"):
        return MASK
    return value


def register_host_secrets(hosts: Iterable[Any]) -> None:
    """Register every password and enable secret of inventory hosts (and their jump hosts)."""
    values: list[str] = []
    for host in hosts:
        hop = host
        while hop is not None and not isinstance(hop, str):
            for secret in (getattr(hop, "password", None), getattr(hop, "enable_secret", None)):
                if secret is not None:
                    values.append(secret.get())
            hop = getattr(hop, "jump_host", None)
    register_secrets(values)
