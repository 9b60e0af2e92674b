"""Group decoded IKE messages into IKE SAs and say, per SA, what happened and why.

Pure functions over the dicts of :mod:`ipsecctl.diag.ike.decode`. The verdict is the one line
an operator needs first ("proposal rejected: NO_PROPOSAL_CHOSEN", "invalid KE: responder wants
group 19", "established"); the timeline is the evidence for it.
"""

from __future__ import annotations

from typing import Any

AUTH_FAIL = {"AUTHENTICATION_FAILED", "AUTHORIZATION_FAILED"}
CHILD_FAIL = {
    "TS_UNACCEPTABLE",
    "NO_PROPOSAL_CHOSEN",
    "SINGLE_PAIR_REQUIRED",
    "INTERNAL_ADDRESS_FAILURE",
    "FAILED_CP_REQUIRED",
    "INVALID_SELECTORS",
    "NO_ADDITIONAL_SAS",
    "TEMPORARY_FAILURE",
}

OK_VERDICTS = ("established", "phase 1 established", "IKE_SA_INIT completed")
FAILED_VERDICTS = (
    "responder never answered", "proposal rejected", "invalid KE", "authentication failed",
    "child SA rejected", "phase 2 rejected", "IKE_AUTH never answered", "IKE_AUTH failed",
    "IKE_AUTH answered; keys do not verify", "malformed", "responder asked for a COOKIE",
    "phase 1 in progress (stopped)",
)  # fmt: skip
"""Verdicts that mean the negotiation failed (exit 3). Anything neither OK nor failed (an
IKE_AUTH that cannot be judged without keys, a redirect, a capture that starts mid-SA) is
``undetermined``: not a finding, so a healthy capture without keys exits 0."""
NEEDS_KEYS = "IKE_AUTH answered (encrypted): keys needed to confirm authentication (give --keys)"


def sa_key(msg: dict[str, Any]) -> tuple[int, str] | None:
    """IKE SAs are identified by the initiator's SPI/cookie (the responder's is 0 at first)."""
    if msg.get("version") not in (1, 2) or not msg.get("spi_i"):
        return None
    return int(msg["version"]), str(msg["spi_i"])


def _summary(msg: dict[str, Any]) -> str:
    parts = []
    for p in msg.get("payloads", []):
        t = p.get("type", "?")
        if t == "N":
            parts.append(f"N({p.get('name', '?')})")
        elif t in ("SK", "SKF"):
            inner = p.get("payloads")
            frag = f" {p.get('fragment_number')}/{p.get('total_fragments')}" if t == "SKF" else ""
            if inner is not None:
                parts.append(
                    f"{t}{frag}{{"
                    + " ".join(
                        f"N({q.get('name')})" if q.get("type") == "N" else str(q.get("type"))
                        for q in inner
                    )
                    + "}"
                )
            else:
                parts.append(f"{t}{frag}(encrypted)")
        else:
            parts.append(str(t))
    return " ".join(parts)


def _direction(msg: dict[str, Any], first_src: str | None) -> str:
    if msg.get("version") == 2:
        return "I->R" if msg.get("initiator") else "R->I"
    return "I->R" if msg.get("src") == first_src else "R->I"


def _entry(msg: dict[str, Any], t0: float, first_src: str | None) -> dict[str, Any]:
    kind = ("response" if msg.get("response") else "request") if msg.get("version") == 2 else ""
    return {
        "frame": msg.get("frame"),
        "t": round(float(msg.get("time") or 0) - t0, 6),
        "direction": _direction(msg, first_src),
        "exchange": msg.get("exchange"),
        "message_id": msg.get("message_id"),
        "kind": kind,
        "summary": _summary(msg),
        "retransmission": "retransmission_of" in msg,
        "icv": msg.get("icv"),
        "errors": msg.get("errors", []),
    }


def verdict_v2(msgs: list[dict[str, Any]]) -> str:
    """One-line outcome of an IKEv2 SA's exchanges (latest decisive event wins)."""
    responses = [m for m in msgs if m.get("response")]
    if not responses:
        return "responder never answered"
    init_resp = [m for m in responses if m.get("exchange") == "IKE_SA_INIT"]
    verdict = None
    for m in init_resp:
        names = {n["name"] for n in m.get("notify", [])}
        if "NO_PROPOSAL_CHOSEN" in names:
            verdict = "proposal rejected: NO_PROPOSAL_CHOSEN"
        elif "INVALID_KE_PAYLOAD" in names:
            group = next(
                (n.get("group") for n in m["notify"] if n["name"] == "INVALID_KE_PAYLOAD"), None
            )
            verdict = f"invalid KE: responder wants group {group}"
        elif "REDIRECT" in names:
            gw = next((n.get("gateway") for n in m["notify"] if n["name"] == "REDIRECT"), None)
            verdict = f"redirected to {gw}"
        elif "COOKIE" in names:
            verdict = "responder asked for a COOKIE (no answer to the retry)"
        elif any(p.get("type") == "SA" for p in m.get("payloads", [])):
            verdict = "IKE_SA_INIT completed"
        elif m.get("errors"):
            verdict = "malformed IKE_SA_INIT response"
    auth = [m for m in msgs if m.get("exchange") == "IKE_AUTH"]
    auth_resp = [m for m in auth if m.get("response")]
    if verdict == "IKE_SA_INIT completed" and auth:
        verdict = "IKE_AUTH never answered" if not auth_resp else _auth_verdict(auth_resp)
    for m in msgs:
        if m.get("exchange") == "CREATE_CHILD_SA" and m.get("response"):
            names = {n["name"] for n in m.get("notify", [])}
            bad = sorted(names & CHILD_FAIL)
            if bad:
                verdict = f"child SA rejected: {bad[0]}"
    return verdict or "incomplete"


def _auth_verdict(auth_resp: list[dict[str, Any]]) -> str:
    last = auth_resp[-1]
    if last.get("decrypted") is not True:
        if last.get("icv") == "bad":
            return "IKE_AUTH answered; keys do not verify (icv bad)"
        return NEEDS_KEYS
    names = {n["name"] for n in last.get("notify", [])}
    if names & AUTH_FAIL:
        return "authentication failed"
    bad = sorted(names & CHILD_FAIL)
    inner = [q.get("type") for p in last.get("payloads", []) for q in p.get("payloads") or []]
    if "AUTH" in inner and bad:
        return f"child SA rejected: {bad[0]}"
    if "AUTH" in inner:
        return "established"
    if bad:
        return f"child SA rejected: {bad[0]}"
    errors = sorted(
        n["name"]
        for n in last.get("notify", [])
        if isinstance(n.get("type"), int) and n["type"] < 16384
    )
    if errors:  # RFC 7296 3.10.1: notify types below 16384 are errors
        return f"IKE_AUTH failed: {errors[0]}"
    return "IKE_AUTH answered without AUTH (EAP or another round in progress?)"


def verdict_v1(msgs: list[dict[str, Any]], first_src: str | None) -> str:
    """Outcome of an IKEv1 exchange set (phase 1 main/aggressive, then quick mode)."""
    replies = [m for m in msgs if m.get("src") != first_src]
    if not replies:
        return "responder never answered"
    for m in msgs:
        for n in m.get("notify", []):
            if n["name"] == "NO_PROPOSAL_CHOSEN":
                return "proposal rejected: NO_PROPOSAL_CHOSEN"
            if n["name"] in (
                "AUTHENTICATION_FAILED",
                "INVALID_HASH_INFORMATION",
                "PAYLOAD_MALFORMED",
            ):
                return f"authentication failed ({n['name']})"
            if n["name"] == "INVALID_ID_INFORMATION":
                return "phase 2 rejected: INVALID_ID_INFORMATION"
    fresh = [m for m in msgs if "retransmission_of" not in m]
    quick = [m for m in fresh if m.get("exchange") == "QUICK_MODE"]
    main = [m for m in fresh if m.get("exchange") == "MAIN_MODE"]
    aggr = [m for m in fresh if m.get("exchange") == "AGGRESSIVE"]
    qids: dict[int, int] = {}
    for m in quick:
        qids[m.get("message_id", 0)] = qids.get(m.get("message_id", 0), 0) + 1
    if any(c >= 3 for c in qids.values()):
        return "established"
    if len(main) >= 6 or len(aggr) >= 3:
        return "phase 1 established"
    if len(main) >= 2 or len(aggr) >= 2:
        return "phase 1 in progress (stopped)"
    return "incomplete"


def build_sas(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per IKE SA: SPIs, version, message frames, timeline and verdict, in first-seen order."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for m in messages:
        key = sa_key(m)
        if key is not None:
            groups.setdefault(key, []).append(m)
    out = []
    for (version, spi_i), msgs in groups.items():
        first_src = msgs[0].get("src")
        t0 = float(msgs[0].get("time") or 0)
        spi_r = next(
            (m["spi_r"] for m in msgs if m.get("spi_r") and set(m["spi_r"]) != {"0"}),
            msgs[0].get("spi_r"),
        )
        verdict = verdict_v2(msgs) if version == 2 else verdict_v1(msgs, first_src)
        out.append(
            {
                "spi_i": spi_i,
                "spi_r": spi_r,
                "version": version,
                "initiator": first_src if msgs[0].get("initiator") is not False else None,
                "messages": [m.get("frame") for m in msgs],
                "timeline": [_entry(m, t0, first_src) for m in msgs],
                "verdict": verdict,
                "outcome": outcome(verdict),
            }
        )
    return out


def outcome(verdict: str) -> str:
    """``ok`` | ``failed`` | ``undetermined`` for a verdict (JSON ``ike_sas[].outcome``)."""
    if verdict.startswith(OK_VERDICTS):
        return "ok"
    if verdict.startswith(FAILED_VERDICTS):
        return "failed"
    return "undetermined"


def is_problem(verdict: str) -> bool:
    """Whether a verdict means the SA failed (exit code 3 for ``diag ike``)."""
    return outcome(verdict) == "failed"
