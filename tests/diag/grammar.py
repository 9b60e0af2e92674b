"""Match a command line against a platform's grammar (ipsecctl/platforms/grammar/<p>.yaml).

Test-only: the grammars are the reference the next steps are checked against. A form is
compiled into one anchored regular expression: literals match themselves, ``<type>`` a value
of that type, ``[...]`` is optional, ``{a | b}`` one alternative. A command may carry output
filters (``show logging | include X``, ``... | grep -E 'a|b'``): the part before the first
`` | `` must match an exec form, each part after it a filter form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

GRAMMAR_DIR = Path(__file__).resolve().parents[2] / "ipsecctl" / "platforms" / "grammar"

_V4 = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}"
_V6 = r"(?=[0-9A-Fa-f:]*:)[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
TYPES = {
    "ip": f"(?:{_V4}|{_V6})",
    "ipv4": _V4,
    "ipv6": _V6,
    "prefix": rf"(?:{_V4}/\d{{1,2}}|{_V6}/\d{{1,3}})",
    "mask": _V4,
    "int": r"\d+",
    # a name as devices print them: no blank, no shell or CLI metacharacter
    "name": r"[A-Za-z0-9_][A-Za-z0-9_.:@/+-]*",
    "iface": r"[A-Za-z][A-Za-z0-9_./:-]*",
    "quoted": r"(?:'[^']*'|\"[^\"]*\")",
    "text": r"\S.*",
}
_TOKEN = re.compile(r"\[|\]|\{|\}|\||[^\s\[\]{}|]+")


class GrammarError(ValueError):
    """A form in a grammar file that does not parse (a data bug, reported with the form)."""


def _compile(form: str) -> str:
    """The regex (each token preceded by one space) for one form."""
    tokens = _TOKEN.findall(form)
    pos = 0

    def seq(stop: set[str]) -> str:
        nonlocal pos
        out = ""
        while pos < len(tokens) and tokens[pos] not in stop:
            tok = tokens[pos]
            pos += 1
            if tok in ("[", "{"):
                close = "]" if tok == "[" else "}"
                alts = [seq({"|", close})]
                while pos < len(tokens) and tokens[pos] == "|":
                    pos += 1
                    alts.append(seq({"|", close}))
                if pos >= len(tokens) or tokens[pos] != close:
                    raise GrammarError(f"unbalanced {tok!r} in form {form!r}")
                pos += 1
                group = "(?:" + "|".join(alts) + ")"
                out += group + ("?" if tok == "[" else "")
            elif tok.startswith("<") and tok.endswith(">"):
                kind = tok[1:-1]
                if kind not in TYPES:
                    raise GrammarError(f"unknown type {tok} in form {form!r}")
                out += " " + TYPES[kind]
            elif tok in ("]", "}", "|"):
                raise GrammarError(f"stray {tok!r} in form {form!r}")
            else:
                out += " " + _literal(tok)
        return out

    body = seq(set())
    if pos != len(tokens):
        raise GrammarError(f"stray {tokens[pos]!r} in form {form!r}")
    return body


def _literal(tok: str) -> str:
    """A literal token; ``key=<type>`` style settings keep their value typed."""
    parts = re.split(r"(<\w+>)", tok)
    out = ""
    for part in parts:
        if part.startswith("<") and part.endswith(">") and part[1:-1] in TYPES:
            out += TYPES[part[1:-1]]
        else:
            out += re.escape(part)
    return out


@dataclass(frozen=True)
class Grammar:
    platform: str
    exec: tuple[re.Pattern[str], ...]
    config: tuple[re.Pattern[str], ...]
    filters: tuple[re.Pattern[str], ...]
    file: tuple[re.Pattern[str], ...]

    def accepts(self, command: str, mode: str = "exec") -> bool:
        """Whether ``command`` (one line, single spaces) is a form of this platform."""
        if mode == "exec":
            head, *pipes = command.split(" | ")
            return _any(self.exec, head) and all(_any(self.filters, p) for p in pipes)
        forms = {"config": self.config, "file": self.file}.get(mode)
        if forms is None:
            raise ValueError(f"unknown mode {mode!r}")
        return _any(forms, command)


def _any(patterns: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(p.fullmatch(" " + text) for p in patterns)


@cache
def load(platform: str) -> Grammar:
    data = yaml.safe_load((GRAMMAR_DIR / f"{platform}.yaml").read_text())
    base = load(data["extends"]) if data.get("extends") else None

    def section(name: str) -> tuple[re.Pattern[str], ...]:
        own = tuple(re.compile(_compile(f)) for f in data.get(name) or [])
        return (getattr(base, name) if base else ()) + own

    return Grammar(
        platform, section("exec"), section("config"), section("filters"), section("file")
    )


def platforms() -> list[str]:
    return sorted(p.stem for p in GRAMMAR_DIR.glob("*.yaml"))
