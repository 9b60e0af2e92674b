"""One template, many data files: one configuration per device (the Template Manager model).

A template is jinja2 (the operator's own, or a built-in one from ``templates/data/``); its
variables are *declared* by use (:func:`jinja2.meta.find_undeclared_variables`, following
``{% include %}`` and ``{% import %}``), and a template may mark some optional with a comment
``{# optional: a, b #}``. Data comes as:

* a data file: YAML/JSON mapping, or ``name = value`` lines (``#`` comments);
* a folder of data files (sorted by name);
* a CSV file: one row per device, the header names the variables, a ``name`` column names each
  configuration.

Every data set is checked against the template before anything renders: a variable the
template needs and the data lacks, or one the data gives and the template does not know, is an
error naming the file, the line and the variable. Each configuration is named after its data
file (or its CSV row's ``name``). The reserved variables ``platform`` (one of the platforms the
product knows; a template may fix it with ``{# platform: cisco_iosxe #}``) and ``device`` (the
inventory name, default: the configuration's name) are always accepted.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2 import meta

from ipsecctl import errors
from ipsecctl.provision.jinja_env import BUILTIN, KeywordError, make_env

PLATFORMS = ("cisco_ios", "cisco_iosxe", "cisco_asa", "strongswan")
RESERVED = ("platform", "device", "name")
DATA_SUFFIXES = (".yaml", ".yml", ".json", ".txt", ".data", ".dat", ".vars")
BUILTIN_DATA = BUILTIN / "data"
_OPTIONAL = re.compile(r"\{#-?\s*optional:\s*([^#]*?)\s*-?#\}")
_PLATFORM = re.compile(r"\{#-?\s*platform:\s*(\S+?)\s*-?#\}")
#: data variables that name a device's outside address / interface (to find its pairs)
ADDRESS_VARS = ("outside_address", "wan_ip", "wan_address", "local_address")
INTERFACE_VARS = ("outside_interface", "wan_if", "wan_interface")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass
class TemplateInfo:
    """A loaded template and what it declares."""

    path: Path
    template: jinja2.Template
    required: set[str]
    optional: set[str]
    platform: str | None
    source: str

    @property
    def variables(self) -> set[str]:
        return self.required | self.optional

    def first_use(self, var: str) -> int:
        """1-based line of the template where ``var`` first appears (for messages)."""
        rx = re.compile(rf"\b{re.escape(var)}\b")
        for i, line in enumerate(self.source.splitlines(), 1):
            if ("{{" in line or "{%" in line) and rx.search(line):
                return i
        return 1


@dataclass
class DataSet:
    """One device's variables, with the line each came from."""

    name: str
    source: Path
    values: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)
    row_line: int | None = None  # CSV: the row's line

    def where(self, var: str | None = None) -> str:
        line = self.lines.get(var or "", self.row_line)
        return f"{self.source}" + (f" line {line}" if line else "")


@dataclass
class RenderedConfig:
    name: str
    device: str
    platform: str
    text: str
    source: str
    address: str | None = None  # the device's outside address, when the data names it
    interface: str | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}.swanctl.conf" if self.platform == "strongswan" else f"{self.name}.cfg"

    def line_count(self) -> int:
        return sum(
            1
            for ln in self.text.splitlines()
            if ln.strip() and not ln.lstrip().startswith(("!", "#"))
        )


def builtin_names() -> list[str]:
    return sorted(p.name for p in BUILTIN_DATA.glob("*.j2"))


def resolve_template(ref: str) -> Path:
    """An operator's template file, or a built-in data template by name."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    for cand in (ref, f"{ref}.j2"):
        if (BUILTIN_DATA / cand).is_file():
            return BUILTIN_DATA / cand
    if path.exists():
        raise errors.InputFileError(f"{ref}: not a template file")
    raise errors.InputFileError(
        f"{ref}: no such template file or built-in template (built-ins: "
        f"{', '.join(builtin_names())})"
    )


def _syntax(exc: jinja2.TemplateSyntaxError, default: Path) -> errors.InputFileError:
    where = exc.filename or str(default)
    return errors.InputFileError(f"{where} line {exc.lineno}: template syntax error: {exc.message}")


def load_template(ref: str) -> TemplateInfo:
    path = resolve_template(ref)
    try:
        source = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.InputFileError(f"{path}: cannot read the template ({exc})") from None
    env = make_env([path.parent])
    try:
        ast = env.parse(source, name=path.name, filename=str(path))
        required = set(meta.find_undeclared_variables(ast))
        seen = {path.name}
        todo = [t for t in meta.find_referenced_templates(ast) if t]
        while todo:
            ref_name = todo.pop()
            if ref_name in seen:
                continue
            seen.add(ref_name)
            try:
                src, fname, _ = env.loader.get_source(env, ref_name)  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                raise errors.InputFileError(
                    f"{path} line {_line_of(source, ref_name)}: includes {ref_name!r}, which "
                    "is neither beside the template nor a built-in block"
                ) from None
            sub = env.parse(src, name=ref_name, filename=fname)
            # macros of an imported file take their values as arguments; an included file
            # shares the context, so its free variables are the template's too
            if not _only_macros(sub):
                required |= set(meta.find_undeclared_variables(sub))
            todo += [t for t in meta.find_referenced_templates(sub) if t]
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise _syntax(exc, path) from None
    optional: set[str] = set()
    for m in _OPTIONAL.finditer(source):
        optional |= {v.strip() for v in m.group(1).split(",") if v.strip()}
    platform = None
    pm = _PLATFORM.search(source)
    if pm:
        platform = pm.group(1)
        if platform not in PLATFORMS:
            raise errors.InputFileError(
                f"{path} line {_line_of(source, pm.group(0))}: unknown platform {platform!r} "
                f"(known: {', '.join(PLATFORMS)})"
            )
    required -= optional
    required -= set(RESERVED)
    return TemplateInfo(path, template, required, optional, platform, source)


def _line_of(source: str, text: str) -> int:
    idx = source.find(text)
    return source.count("\n", 0, idx) + 1 if idx >= 0 else 1


def _only_macros(ast: jinja2.nodes.Template) -> bool:
    return all(
        isinstance(n, jinja2.nodes.Macro | jinja2.nodes.Output)
        and (
            not isinstance(n, jinja2.nodes.Output)
            or all(isinstance(c, jinja2.nodes.TemplateData) and not c.data.strip() for c in n.nodes)
        )
        for n in ast.body
    )


# ------------------------------------------------------------------------------------ data
def _yaml_lines(text: str) -> dict[str, int]:
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}


def _load_pairs_file(path: Path, text: str) -> DataSet:
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", "!", ";")):
            continue
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(.*)$", line)
        if m is None:
            raise errors.InputFileError(f"{path} line {i}: expected NAME = VALUE")
        name, value = m.group(1), m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if name in values:
            raise errors.InputFileError(
                f"{path} line {i}: variable {name!r} given twice (first at line {lines[name]})"
            )
        values[name], lines[name] = value, i
    return DataSet(path.stem, path, values, lines)


def load_data_file(path: Path) -> DataSet:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.InputFileError(f"{path}: cannot read the data file ({exc})") from None
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise errors.InputFileError(f"{path}{where}: not valid YAML") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise errors.InputFileError(f"{path} line 1: expected a mapping of variables")
        return DataSet(path.stem, path, {str(k): v for k, v in data.items()}, _yaml_lines(text))
    return _load_pairs_file(path, text)


def load_csv(path: Path) -> list[DataSet]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.InputFileError(f"{path}: cannot read the CSV ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    if "name" not in header:
        raise errors.InputFileError(
            f"{path} line 1: the header needs a 'name' column (it names each configuration)"
        )
    out: list[DataSet] = []
    for row in reader:
        if None in row:
            raise errors.InputFileError(
                f"{path} line {reader.line_num}: more fields than the header has"
            )
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        name = values.pop("name")
        out.append(DataSet(name, path, values, {}, reader.line_num))
    return out


def load_data(path: Path) -> list[DataSet]:
    """A data file, a folder of them, or a CSV (one row per device)."""
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
        )
        if not files:
            raise errors.InputFileError(
                f"{path}: no data files ({', '.join(DATA_SUFFIXES)}) in the folder"
            )
        sets = [load_data_file(p) for p in files]
    elif path.suffix.lower() == ".csv":
        sets = load_csv(path)
    elif path.is_file():
        sets = [load_data_file(path)]
    else:
        raise errors.InputFileError(f"{path}: no such data file or folder")
    _refuse_duplicates(sets)
    return sets


def _refuse_duplicates(sets: list[DataSet]) -> None:
    """Duplicate names, devices or addresses are refused before anything renders."""
    for ds in sets:
        if not _NAME.match(ds.name):
            raise errors.InputFileError(
                f"{ds.where('name')}: configuration name {ds.name!r} "
                "must be letters, digits, '_', '.', '-'"
            )
    keys = (
        "name",
        "device",
        *tuple(sorted({k for ds in sets for k in ds.values if _is_address_var(k)})),
    )
    for key in keys:
        seen: dict[str, DataSet] = {}
        for ds in sets:
            value = ds.name if key == "name" else ds.values.get(key)
            if key == "device" and value is None:
                value = ds.name
            if value in (None, ""):
                continue
            text = str(value)
            if text in seen:
                first = seen[text]
                raise errors.InputFileError(
                    f"{ds.where(key)}: duplicate {key} {text!r} (also {first.where(key)}): "
                    "each device appears once"
                )
            seen[text] = ds


def _is_address_var(name: str) -> bool:
    """Variables that hold a device's own address (must be unique across devices)."""
    low = name.lower()
    return low in (
        "outside_address",
        "wan_ip",
        "wan_address",
        "local_address",
        "management_ip",
        "mgmt_ip",
        "address",
        "local_ip",
        "loopback",
    )


# ------------------------------------------------------------------------------------ render
def check_variables(info: TemplateInfo, ds: DataSet) -> None:
    given = set(ds.values)
    missing = sorted(info.required - given)
    if missing:
        var = missing[0]
        raise errors.InputFileError(
            f"{ds.where()}: variable {var!r} missing (the template {info.path.name} uses it "
            f"at line {info.first_use(var)})"
            + (f"; also missing: {', '.join(missing[1:])}" if len(missing) > 1 else "")
        )
    unknown = sorted(given - info.variables - set(RESERVED))
    if unknown:
        var = unknown[0]
        raise errors.InputFileError(
            f"{ds.where(var)}: variable {var!r} is not used by the template "
            f"{info.path.name} (its variables: {', '.join(sorted(info.variables)) or 'none'})"
        )


def _platform(info: TemplateInfo, ds: DataSet) -> str:
    value = ds.values.get("platform") or info.platform
    if value is None:
        raise errors.InputFileError(
            f"{ds.where()}: variable 'platform' missing (one of {', '.join(PLATFORMS)}), or "
            f"fix it in the template with {{# platform: cisco_iosxe #}}"
        )
    if value not in PLATFORMS:
        raise errors.InputFileError(
            f"{ds.where('platform')}: unknown platform {value!r} (known: {', '.join(PLATFORMS)})"
        )
    return str(value)


def render_all(info: TemplateInfo, sets: list[DataSet]) -> list[RenderedConfig]:
    """Check every data set first (nothing renders if one is wrong), then render each."""
    for ds in sets:
        check_variables(info, ds)
        _platform(info, ds)
    out = []
    for ds in sets:
        platform = _platform(info, ds)
        device = str(ds.values.get("device") or ds.name)
        ctx = {**ds.values, "name": ds.name, "device": device, "platform": platform}
        try:
            text = info.template.render(**ctx)
        except jinja2.UndefinedError as exc:
            raise errors.InputFileError(
                f"{ds.where()}: {exc.message} (template {info.path.name})"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise _syntax(exc, info.path) from None
        except (KeywordError, jinja2.TemplateError) as exc:
            raise errors.InputFileError(
                f"{ds.where()}: {exc} (template {info.path.name})"
            ) from None
        addr = next((ds.values[k] for k in ADDRESS_VARS if ds.values.get(k)), None)
        iface = next((ds.values[k] for k in INTERFACE_VARS if ds.values.get(k)), None)
        out.append(
            RenderedConfig(
                ds.name,
                device,
                platform,
                text,
                str(ds.source),
                str(addr) if addr else None,
                str(iface) if iface else None,
            )
        )
    return out
