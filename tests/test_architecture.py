"""The shape of the house, read from the code's own imports (every ``import``, lazy ones too).

- Layers: the front ends (cli, tui) sit on the operations layer (ops), which sits on the
  engines (collect, actions, diag, store, provision, lab, transitions, assemble), which sit on
  transport, platforms and settings, which sit on models and errors. Nothing imports a layer
  above its own.
- parsers/ and inventory/ import nothing from ipsecctl: they are usable on their own.
- No circle between the parts of ipsecctl (imports made only for type checking do not count).
- Only the transport, the IKE probe, the lab, the exporter and the PostgreSQL store client
  open network connections.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ipsecctl", "parsers", "inventory")

LAYERS: dict[str, int] = {
    "ipsecctl.__main__": 6,
    "ipsecctl.cli": 5,
    "ipsecctl.tui": 5,
    "ipsecctl.ops": 4,
    "ipsecctl.exporter": 4,
    "ipsecctl.lab": 3,
    "ipsecctl.collect": 3,
    "ipsecctl.actions": 3,
    "ipsecctl.diag": 3,
    "ipsecctl.store": 3,
    "ipsecctl.provision": 3,
    "ipsecctl.transitions": 3,
    "ipsecctl.assemble": 3,
    "ipsecctl.sessions": 2,
    "ipsecctl.transport": 1,
    "ipsecctl.platforms": 1,
    "ipsecctl.settings": 1,
    "ipsecctl.logging_setup": 1,
    "ipsecctl.models": 0,
    "ipsecctl.errors": 0,
    "ipsecctl.redact": 0,
    "ipsecctl": 0,
    "parsers": 0,
    "inventory": 0,
}

#: modules allowed to open sockets, and the modules/calls that do
NETWORK_ALLOWED = (
    "ipsecctl.transport",
    "ipsecctl.diag.ike.probe",
    "ipsecctl.lab",
    "ipsecctl.exporter",
    "ipsecctl.store.postgres",
)
NETWORK_MODULES = (
    "paramiko",
    "psycopg",
    "http.server",
    "socketserver",
    "urllib.request",
    "http.client",
    "prometheus_client",
)
SOCKET_CALLS = {"socket", "create_connection", "create_server", "socketpair"}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts).removesuffix(".__init__")
            out.append((name, path))
    return out


def _layer(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for prefix, rank in LAYERS.items():
        matches = module == prefix or module.startswith(prefix + ".")
        if matches and (best is None or len(prefix) > best[0]):
            best = (len(prefix), rank)
    return None if best is None else best[1]


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        lines.add(sub.lineno)
    return lines


def _imports(module: str, path: Path) -> list[tuple[str, bool]]:
    """(imported module, only for type checking) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only = _type_checking_only(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno in typing_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, node.lineno in typing_only))
            found += [(f"{base}.{a.name}", node.lineno in typing_only) for a in node.names]
    return found


def test_nothing_imports_a_layer_above_its_own() -> None:
    bad = []
    for module, path in _modules():
        mine = _layer(module)
        for target, _typing in _imports(module, path):
            theirs = _layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                bad.append(f"{module} (layer {mine}) imports {target} (layer {theirs})")
    assert not bad, "\n".join(bad)


def test_parsers_and_inventory_stand_alone() -> None:
    bad = [
        f"{module} imports {target}"
        for module, path in _modules()
        if module.split(".")[0] in ("parsers", "inventory")
        for target, _t in _imports(module, path)
        if target.split(".")[0] == "ipsecctl"
    ]
    assert not bad, "\n".join(bad)


def _part(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "ipsecctl" and len(parts) > 1 else parts[0]


def test_no_circle_between_the_parts_of_ipsecctl() -> None:
    names = {m for m, _ in _modules()}
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in _modules():
        for target, typing_only in _imports(module, path):
            if typing_only or target not in names:
                continue
            a, b = _part(module), _part(target)
            if a != b:
                graph[a].add(b)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    assert not circles, circles


def test_only_the_network_edges_open_sockets() -> None:
    bad = []
    for module, path in _modules():
        if any(module == p or module.startswith(p + ".") for p in NETWORK_ALLOWED):
            continue
        for target, typing_only in _imports(module, path):
            if not typing_only and any(
                target == n or target.startswith(n + ".") for n in NETWORK_MODULES
            ):
                bad.append(f"{module} imports {target}")
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "socket"
                and node.func.attr in SOCKET_CALLS
            ):
                bad.append(f"{module}:{node.lineno} calls socket.{node.func.attr}")
    assert not bad, "\n".join(bad)
