"""Start-up: a command imports what it needs when it runs. ``--help`` lists every command from
the CLI's table without importing them, so the table must say what each command says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from ipsecctl.cli import app as cli
from tests.helpers import console_modules

FIX = Path(__file__).parent / "fixtures"


def test_every_listed_command_is_the_real_one_with_the_same_help() -> None:
    listed = typer.main.get_command(cli.app)
    assert isinstance(listed, cli.LazyGroup)
    names = listed.list_commands(None)  # type: ignore[arg-type]
    assert names == list(cli._LOADERS)
    for name in names:
        real = cli.load_command(name)
        assert real is not None and real.name == name, name
        assert real.help == listed.commands[name].help, name
        assert real.hidden is False


def _modules_after(*args: str, stdin: str | None = None) -> tuple[set[str], str]:
    """Run the console entry in a fresh interpreter; which modules did it import?"""
    program = (
        "import sys, json\n"
        "from ipsecctl.cli.app import main\n"
        "try:\n"
        f"    code = main({list(args)!r})\n"
        "finally:\n"
        "    sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        check=False,
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line[len("MODULES ") :])), proc.stdout


HEAVY = (
    "textual",
    "paramiko",
    "cryptography",
    "ipsecctl.lab",
    "ipsecctl.tui",
    "ipsecctl.diag.packets.report",
    "ipsecctl.provision",
)


def _loaded(modules: set[str], prefix: str) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in modules)


def test_version_imports_no_command() -> None:
    modules, out = _modules_after("--version")
    assert out.startswith("ipsecctl ")
    for heavy in (*HEAVY, "pydantic", "rich.table", "ipsecctl.cli.commands_views"):
        assert not _loaded(modules, heavy), heavy


def test_help_lists_every_command_without_importing_them() -> None:
    modules, out = _modules_after("--help")
    for name in cli._LOADERS:
        assert f" {name} " in out, name
    for heavy in (*HEAVY, "ipsecctl.cli.commands_views", "ipsecctl.cli.diag"):
        assert not _loaded(modules, heavy), heavy


def test_parse_json_loads_neither_ssh_nor_the_dashboard() -> None:
    sample = FIX / "replay" / "hub-1" / "show_crypto_ipsec_sa.txt"
    modules, out = _modules_after(
        "parse", str(sample), "-p", "cisco_iosxe", "-c", "show crypto ipsec sa", "--json"
    )
    assert json.loads(out)["tunnels"]
    for heavy in (*HEAVY, "rich.table", "rich.progress"):
        assert not _loaded(modules, heavy), heavy


def test_replayed_tunnels_need_no_ssh(tmp_path: Path) -> None:
    modules, out = _modules_after("--replay", str(FIX / "replay"), "tunnels", "--json")
    assert json.loads(out)["kind"] == "tunnels"
    for heavy in (*HEAVY, "rich.table"):
        assert not _loaded(modules, heavy), heavy


@pytest.mark.parametrize(
    "argv",
    [
        ["lab", "--help"],
        ["diag", "esp", "--help"],
        ["provision", "--help"],
        ["inventory", "--help"],
    ],
)
def test_sub_apps_load_when_named(argv: list[str]) -> None:
    _modules, out = _modules_after(*argv)
    assert "Usage: ipsecctl " + argv[0] in " ".join(out.split())


def _console_settings(env_value: str | None) -> list[str]:
    """Run the console script's entry in a fresh interpreter; what did it decide?"""
    program = (
        "import atexit, gc, os, sys\n"
        "atexit.register(lambda: print('SETTINGS', gc.get_threshold()[0],"
        " repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS'))))\n"
        "sys.argv = ['ipsecctl', '--version']\n"
        "from ipsecctl.cli.console import run\n"
        "run()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if env_value is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = env_value
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True
    )
    return next(x for x in proc.stdout.splitlines() if x.startswith("SETTINGS ")).split()[1:]


def test_console_process_collects_less_often_and_loads_no_pydantic_plugins() -> None:
    assert _console_settings(None) == ["50000", "'__all__'"]
    # an explicit choice (empty: let plugins load) is kept
    assert _console_settings("") == ["50000", "''"]


def _plugin_package(folder: Path) -> Path:
    """A pydantic plugin, installed the way plugins are (an entry point in the ``pydantic``
    group of a distribution on the path), that writes a line to ``seen`` for every
    validator pydantic builds while it is loaded."""
    (folder / "seen_plugin.py").write_text(
        "import os\n"
        "class Plugin:\n"
        "    def new_schema_validator(self, schema, schema_type, path, kind, config, settings):\n"
        "        with open(os.path.join(os.path.dirname(__file__), 'seen'), 'a') as f:\n"
        "            f.write(str(path.name) + '\\n')\n"
        "        return None, None, None\n"
        "plugin = Plugin()\n"
    )
    info = folder / "seen_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: seen-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nseen = seen_plugin:plugin\n")
    return folder / "seen"


def _console_run(args: list[str], env: dict[str, str]) -> tuple[set[str], str]:
    run, modules = console_modules(args, env)
    assert run.code == 0, run
    return modules, run.out


def test_plugins_off_means_no_plugin_loader_and_an_explicit_choice_loads_them(
    tmp_path: Path,
) -> None:
    """With discovery off (the console's default) the plugin loader and the
    ``importlib.metadata`` it imports are never loaded, and a plugin that is installed is
    not called; ``PYDANTIC_DISABLE_PLUGINS=`` (empty) loads it, and pydantic calls it."""
    seen = _plugin_package(tmp_path)
    sample = FIX / "replay" / "hub-1" / "show_crypto_ipsec_sa.txt"
    args = ["parse", str(sample), "-p", "cisco_iosxe", "-c", "show crypto ipsec sa", "--json"]
    base = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    base["PYTHONPATH"] = os.pathsep.join([str(tmp_path), base.get("PYTHONPATH", "")])
    base["IPSECCTL_WORKERS"] = "8"  # a setting from the environment: Settings is validated
    modules, out = _console_run(args, base)
    tunnels = json.loads(out)["tunnels"]
    assert tunnels
    assert "importlib.metadata" not in modules
    assert not seen.exists()
    modules, out = _console_run(args, {**base, "PYDANTIC_DISABLE_PLUGINS": ""})
    assert json.loads(out)["tunnels"] == tunnels
    assert "importlib.metadata" in modules and "seen_plugin" in modules
    assert "Settings" in seen.read_text().split()  # pydantic told the plugin of its validator


def test_the_loaders_stand_in_hands_the_rest_to_the_real_loader() -> None:
    """Anything but ``get_plugins`` while plugins are off, or ``get_plugins`` once the
    variable lets plugins load, is answered by pydantic's own loader."""
    program = (
        "import os, sys\n"
        "from ipsecctl.cli import console\n"
        "os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'\n"
        "console._plugin_loader_stand_in()\n"
        "from pydantic.plugin._loader import get_plugins\n"
        "assert get_plugins() == () and 'importlib.metadata' not in sys.modules\n"
        "from pydantic.plugin._loader import PYDANTIC_ENTRY_POINT_GROUP\n"
        "assert PYDANTIC_ENTRY_POINT_GROUP == 'pydantic'\n"
        "assert 'importlib.metadata' in sys.modules\n"
        "assert sys.modules['pydantic.plugin._loader'].__file__.endswith('_loader.py')\n"
        "os.environ['PYDANTIC_DISABLE_PLUGINS'] = ''\n"
        "assert list(get_plugins()) == []\n"  # the real answer: no plugin installed here
    )
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    subprocess.run([sys.executable, "-c", program], env=env, check=True, timeout=60)


def test_invoke_is_imported_when_paramiko_first_uses_it() -> None:
    """paramiko imports invoke with its ssh_config reader; the console's stand-in takes that
    import, and a ``Match exec`` line (the one thing paramiko runs invoke for) still runs its
    command: the real invoke is imported then."""
    program = (
        "import sys\n"
        "from ipsecctl.cli import console\n"
        "console._invoke_stand_in()\n"
        "import paramiko\n"
        "assert 'invoke.collection' not in sys.modules, 'invoke was imported with paramiko'\n"
        "config = paramiko.SSHConfig.from_text(\n"
        "    'Match exec \"test 1 = 1\"\\n  User matched\\n'\n"
        "    'Match exec \"test 1 = 2\"\\n  Port 2222\\n'\n"
        ")\n"
        "found = config.lookup('router')\n"
        "assert found['user'] == 'matched' and 'port' not in found, found\n"
        "assert 'invoke.collection' in sys.modules\n"
        "assert sys.modules['invoke'].__file__.endswith('__init__.py')\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)


def _ttp_cache_after(env: dict[str, str]) -> str:
    program = (
        "import atexit, os, sys\n"
        "atexit.register(lambda: print('TTPCACHE', os.environ.get('TTPCACHEFOLDER')))\n"
        "sys.argv = ['ipsecctl', '--version']\n"
        "from ipsecctl.cli.console import run\n"
        "run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True
    )
    return next(x for x in proc.stdout.splitlines() if x.startswith("TTPCACHE ")).split()[1]


def test_ttp_keeps_its_cache_in_the_users_cache_folder(tmp_path: Path) -> None:
    """Installed for everyone, TTP's own folder is not the user's: its cache goes to the
    user's cache folder, and parsing with a TTP template prints no warning about it."""
    env = {k: v for k, v in os.environ.items() if k != "TTPCACHEFOLDER"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    folder = tmp_path / "cache" / "ipsecctl" / "ttp"
    assert _ttp_cache_after(env) == str(folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    # an explicit choice is kept
    assert _ttp_cache_after({**env, "TTPCACHEFOLDER": str(tmp_path)}) == str(tmp_path)
    # the one-row-per-SA table older ASA software prints is read by its TTP template (the block
    # layout of later releases is not: parsers.cisco_asa_ike.usual_ikev1)
    sample = FIX / "cisco" / "asa" / "show_crypto_ikev1_sa_detail" / "ntc-templates-1.txt"
    script = shutil.which("ipsecctl")
    assert script, "the ipsecctl console script is not installed"
    argv = [script, "parse", str(sample), "-p", "cisco_asa", "-c", "show crypto ikev1 sa detail"]
    for _ in range(2):  # writing the cache, then reading it
        proc = subprocess.run([*argv, "--json"], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["ike_sas"]
        assert "ttp" not in proc.stderr.lower(), proc.stderr
    assert (folder / "ttp_dict_cache.pickle").is_file()


def test_importing_the_console_module_changes_nothing() -> None:
    program = (
        "import gc, os\n"
        "before = gc.get_threshold()\n"
        "import ipsecctl.cli.console\n"
        "assert gc.get_threshold() == before\n"
        "assert 'PYDANTIC_DISABLE_PLUGINS' not in os.environ\n"
        "assert 'TTPCACHEFOLDER' not in os.environ\n"
        "assert 'IPSECCTL_CACHE_DIR' not in os.environ\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYDANTIC_DISABLE_PLUGINS", "TTPCACHEFOLDER", "IPSECCTL_CACHE_DIR")
    }
    subprocess.run([sys.executable, "-c", program], env=env, check=True)


def test_without_a_cache_folder_to_make_ttp_keeps_its_own(tmp_path: Path) -> None:
    """A cache home that cannot hold a folder (a file there) or is not absolute: the console
    sets nothing and TTP keeps its default, rather than a folder it cannot write."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "TTPCACHEFOLDER"}
    assert _ttp_cache_after({**env, "XDG_CACHE_HOME": str(blocker)}) == "None"
    assert _ttp_cache_after({**env, "XDG_CACHE_HOME": "relative/cache", "HOME": "relative"}) == (
        "None"
    )
