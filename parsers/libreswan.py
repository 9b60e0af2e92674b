"""libreswan ``ipsec status`` / ``ipsec whack --status`` and ``ipsec trafficstatus`` /
``ipsec whack --trafficstatus`` -> ``ike_sas`` and ``tunnels`` (same keys as for strongSwan).

``ipsec status`` (lines prefixed ``000 `` up to libreswan 4.x, bare from 5.x):

- connection lines ``"conn": LNET===LHOST[id]...RHOST[id]===RNET; erouted; ...`` give the
  local (first) and remote addresses and selectors; ``"conn":   IKEv2 algorithm newest:
  AES_CBC_256-HMAC_SHA2_256-MODP2048`` and ``ESP algorithm newest: AES_GCM_16_256-NONE`` the
  algorithms;
- state lines ``#N: "conn":PORT STATE_... (...); ...; IKE SA #M;`` -- IKE SAs and Child SAs
  (``ESTABLISHED_CHILD_SA``, ``QUICK_``, ``IPSEC``) -- and, for a Child SA, the line
  ``#N: "conn" esp.SPI@PEER esp.SPI@LOCAL ... Traffic: ESPin=84B ESPout=84B ...``: the SA named
  by the peer's address is the outbound one.

``ipsec trafficstatus`` lines (``006 #N: "conn"[k] addr, type=ESP, add_time=T, inBytes=I,
outBytes=O, maxBytes=..., id='...'``): one tunnel per established Child SA, counters only.

Lines of ``ipsec status`` that carry nothing kept here are listed in
``templates/libreswan/ipsec_status.known``; any other line is unrecognised output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from parsers._engine import ParseError

_KNOWN = Path(__file__).parent / "templates" / "libreswan" / "ipsec_status.known"
_PREFIX = re.compile(r"^(?:\d{3}(?: |$))?")
_STATE = re.compile(
    r'^#(\d+): "([^"]+)"(?:\[\d+\])?(?: [^:\s]*)?(?::(\d+))? (STATE_\w+|'
    r"[A-Z][A-Z0-9_]+_(?:SA|I\d|R\d)\w*) \(([^)]*)\)(.*)$"
)
_SPIS = re.compile(
    r'^#(\d+): "([^"]+)"(?:\[\d+\])?(?: \S+)? (esp|ah)\.([0-9a-fA-F]+|\w+)@(\S+) '
    r"(?:esp|ah)\.([0-9a-fA-F]+|\w+)@(\S+).*?Traffic: ESPin=(\S+) ESPout=(\S+?)!?"
    r" ESPmax=\S+"
)
_CONN = re.compile(r'^"([^"]+)"(?:\[\d+\])?: (\S+)\.\.\.(\S+?);')
_ALG = re.compile(
    r'^"([^"]+)"(?:\[\d+\])?:\s+(IKEv2|IKE|ESP) algorithm newest: (\S+?)'
    r"(?:; pfsgroup=(\S+))?$"
)
_TRAFFIC = re.compile(
    r'^#(\d+): "([^"]+)"(?:\[\d+\])?(?: (\S+))?, type=(\w+), add_time=(\d+), '
    r"inBytes=(\d+), outBytes=(\d+)(?:, maxBytes=\S+)?(?:, id=\'([^\']*)\')?"
    r"(?:, lease=\S+)?$"
)
_IKE_SA = re.compile(r"(?:_IKE_SA|PARENT_[IR]\d|MAIN_[IR]\d|AGGR_[IR]\d)")
_CHILD_SA = re.compile(r"(?:_CHILD_SA|QUICK_[IR]\d|V2_IPSEC_[IR])")

_ENC = {
    "AES_CBC_128": "aes128",
    "AES_CBC_192": "aes192",
    "AES_CBC_256": "aes256",
    "AES_GCM_16_128": "aes128gcm16",
    "AES_GCM_16_256": "aes256gcm16",
    "AES_GCM_16_192": "aes192gcm16",
    "3DES_CBC": "3des",
    "AES_128": "aes128",
    "AES_256": "aes256",
    "CHACHA20_POLY1305": "chacha20poly1305",
}
_HASH = {
    "HMAC_SHA1": "sha1",
    "HMAC_SHA2_256": "sha256",
    "HMAC_SHA2_384": "sha384",
    "HMAC_SHA2_512": "sha512",
    "HMAC_MD5": "md5",
    "HMAC_SHA1_96": "sha1",
    "HMAC_SHA2_256_128": "sha256",
    "HMAC_SHA2_384_192": "sha384",
    "HMAC_SHA2_512_256": "sha512",
    "NONE": None,
}
_DH = {
    "MODP1024": 2,
    "MODP1536": 5,
    "MODP2048": 14,
    "MODP3072": 15,
    "MODP4096": 16,
    "DH19": 19,
    "DH20": 20,
    "DH21": 21,
    "DH31": 31,
}


def _known() -> tuple[str, ...]:
    lines = [ln.strip() for ln in _KNOWN.read_text().splitlines()]
    return tuple(ln for ln in lines if ln and not ln.startswith("#"))


def _bytes(text: str) -> int:
    m = re.fullmatch(r"(\d+)([KMG]?)B", text.rstrip("!"))
    if not m:
        return 0
    return int(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[m.group(2)]


def _addr(host: str) -> str:
    """``HOST<nexthop>[id]:port`` -> HOST."""
    addr = re.split(r"[\[<]", host, maxsplit=1)[0]
    return re.sub(r":\d+$", "", addr) if addr.count(":") == 1 else addr


def _conn_ends(left: str, right: str) -> tuple[str | None, str, str | None, str]:
    """``LNET===LHOST---HOP...HOP---RHOST===RNET`` (nets, hops optional)."""
    lnet, lhost = left.split("===", 1) if "===" in left else (None, left)
    rhost, rnet = right.rsplit("===", 1) if "===" in right else (right, None)
    return lnet, _addr(lhost.split("---")[0]), rnet, _addr(rhost.split("---")[-1])


def _algs(text: str) -> dict[str, Any]:
    parts = text.split("-")
    out: dict[str, Any] = {"encryption": _ENC.get(parts[0], parts[0].lower())}
    if len(parts) > 1:
        out["integrity"] = _HASH.get(parts[1], parts[1].lower())
    if len(parts) > 2:
        out["dh_group"] = _DH.get(parts[2])
    return out


def _ts(net: str | None) -> dict[str, Any] | None:
    return {"prefix": net, "protocol": 0, "port": 0} if net else None


def parse_status(text: str, command: str = "ipsec status") -> dict[str, list[dict[str, Any]]]:
    known = _known()
    conns: dict[str, dict[str, Any]] = {}
    states: dict[int, dict[str, Any]] = {}
    spis: dict[int, re.Match[str]] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _PREFIX.sub("", raw.rstrip(), count=1).strip()
        if not line:
            continue
        if (m := _SPIS.match(line)) is not None:
            spis[int(m.group(1))] = m
        elif (m := _STATE.match(line)) is not None:
            states[int(m.group(1))] = {
                "conn": m.group(2),
                "port": m.group(3),
                "state": m.group(4),
                "text": m.group(5),
                "rest": m.group(6),
            }
        elif (m := _ALG.match(line)) is not None:
            conns.setdefault(m.group(1), {})[m.group(2)] = m.group(3)
            if m.group(4):
                conns[m.group(1)]["pfs"] = m.group(4)
        elif (m := _CONN.match(line)) is not None:
            lnet, laddr, rnet, raddr = _conn_ends(m.group(2), m.group(3))
            conns.setdefault(m.group(1), {}).update(local=laddr, remote=raddr, lnet=lnet, rnet=rnet)
        elif (
            re.match(r'^"[^"]+"(?:\[\d+\])?:\s', line)
            or line.startswith(known)
            or re.match(r"^[\w-]+=\S", line)
        ):  # "config setup options" lines
            continue
        else:
            raise ParseError(command, line, lineno, "unrecognised output")
    ike_sas: list[dict[str, Any]] = []
    tunnels: list[dict[str, Any]] = []
    for num, st in sorted(states.items()):
        conn = conns.get(st["conn"], {})
        state = st["state"]
        up = (
            "ESTABLISHED" in state
            or state.endswith(("I4", "R3", "I3", "R2"))
            or "IPsec SA established" in st["text"]
            or "ISAKMP SA established" in st["text"]
        )
        if _IKE_SA.search(state) and not _CHILD_SA.search(state):
            v2 = "V2" in state or "PARENT" in state
            algs = (
                _algs(conn.get("IKEv2" if v2 else "IKE", ""))
                if conn.get("IKEv2" if v2 else "IKE")
                else {}
            )
            ike_sas.append(
                {
                    "version": 2 if v2 else 1,
                    "local": conn.get("local"),
                    "remote": conn.get("remote"),
                    "state": state,
                    "status": "up" if up else "negotiating",
                    "conn_id": num,
                    "local_port": int(st["port"]) if st["port"] else None,
                    "remote_port": int(st["port"]) if st["port"] else None,
                    "nat_t": st["port"] == "4500" if st["port"] else None,
                    "encryption": algs.get("encryption"),
                    "integrity": algs.get("integrity"),
                    "prf": f"prf{algs['integrity']}" if algs.get("integrity") else None,
                    "dh_group": algs.get("dh_group"),
                    "auth": None,
                    "extra": {"name": st["conn"], "detail": st["text"]},
                }
            )
            continue
        m = spis.get(num)
        esp = _algs(conn["ESP"]) if conn.get("ESP") else {}
        ike_ref = re.search(r"(?:IKE SA #|isakmp#)(\d+)", st["rest"])
        sas = []
        counters: dict[str, int] = {}
        if m is not None:
            out_spi, in_spi = m.group(4), m.group(6)
            for direction, spi in (("in", in_spi), ("out", out_spi)):
                try:
                    value: int | None = int(spi, 16)
                except ValueError:
                    value = None  # a sanitised sample
                sas.append(
                    {
                        "direction": direction,
                        "protocol": m.group(3),
                        "spi": value,
                        "encryption": esp.get("encryption"),
                        "integrity": esp.get("integrity"),
                        "mode": "tunnel",
                        "udp_encap": st["port"] == "4500",
                        "status": state,
                    }
                )
            counters = {"bytes_in": _bytes(m.group(8)), "bytes_out": _bytes(m.group(9))}
        tunnels.append(
            {
                "kind": "child_sa",
                "local_addr": conn.get("local"),
                "peer": conn.get("remote"),
                "peer_port": int(st["port"]) if st["port"] else None,
                "local_ts": _ts(conn.get("lnet")),
                "remote_ts": _ts(conn.get("rnet")),
                "counters": counters,
                "sas": sas,
                "extra": {
                    "name": st["conn"],
                    "unique_id": num,
                    "state": state,
                    "ike_id": int(ike_ref.group(1)) if ike_ref else None,
                },
            }
        )
    return {"ike_sas": ike_sas, "tunnels": tunnels}


def parse_trafficstatus(
    text: str, command: str = "ipsec trafficstatus"
) -> dict[str, list[dict[str, Any]]]:
    tunnels: list[dict[str, Any]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _PREFIX.sub("", raw.rstrip(), count=1).strip()
        if not line:
            continue
        m = _TRAFFIC.match(line)
        if m is None:
            raise ParseError(command, line, lineno, "unrecognised output")
        tunnels.append(
            {
                "kind": "child_sa",
                "peer": m.group(3),
                "local_ts": None,
                "remote_ts": None,
                "counters": {"bytes_in": int(m.group(6)), "bytes_out": int(m.group(7))},
                "sas": [],
                "extra": {
                    "name": m.group(2),
                    "unique_id": int(m.group(1)),
                    "type": m.group(4),
                    "add_time": int(m.group(5)),
                    "remote_id": m.group(8),
                },
            }
        )
    return {"tunnels": tunnels}


def parse_libreswan(slug: str, text: str, command: str) -> dict[str, list[dict[str, Any]]]:
    if slug == "ipsec_trafficstatus":
        return parse_trafficstatus(text, command)
    return parse_status(text, command)
