"""The console script (and ``python -m ipsecctl``): the process is ipsecctl's own, so what
only a process owner may decide is decided here, before the command line application is
imported; a program that embeds :func:`ipsecctl.cli.app.main` keeps its own settings.

- The cyclic collector runs every 50,000 net allocations instead of every 700 from the first
  import on: importing the framework and pydantic otherwise runs it about 60 times (~9 ms of
  every command) over objects that live as long as the process.
- Pydantic's plugin discovery is off unless ``PYDANTIC_DISABLE_PLUGINS`` says otherwise:
  it reads the entry points of every installed distribution the first time a model is
  validated (~15 ms, more in a crowded environment), and no plugin has a say in ipsecctl's
  own validation. Set ``PYDANTIC_DISABLE_PLUGINS=`` (empty) to let plugins load.
  While discovery is off, pydantic's plugin loader is not imported either: it imports
  ``importlib.metadata`` (and with it ``email``, ``zipfile``, ``socket``: 10-18 ms of every
  command, paid at the first validator Typer builds for an option) only to return no
  plugins. A stand-in answers ``get_plugins()`` with the same empty answer as long as the
  variable says "off", and hands anything else to the real loader, imported then.
- invoke (a task runner paramiko depends on) is imported when first used, not when paramiko
  is: paramiko's ssh_config reader imports it for one thing, running the command of a
  ``Match exec`` line, and the import (unittest.mock, asyncio, a vendored YAML) was ~50 ms
  of every command that opens an SSH session. A stand-in takes the import and hands
  anything asked of it to the real invoke, imported then.
- Caches live in the user's cache folder (``$XDG_CACHE_HOME/ipsecctl``, else
  ``~/.cache/ipsecctl``, made owner-only) unless the environment names them:
  ``IPSECCTL_CACHE_DIR`` (empty: no cache) for the data of the YAML files ipsecctl ships
  (:mod:`ipsecctl.data_files`), ``TTPCACHEFOLDER`` for TTP's table of its functions. TTP
  otherwise keeps that table inside its own installed package and rewrites it whenever it
  cannot read it: where ipsecctl is installed for everyone, that folder is not the user's
  to write, and every command that parsed with a TTP template printed a warning and rebuilt
  the table.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import NoReturn

from ipsecctl.data_files import CACHE_ENV


def run() -> NoReturn:
    import gc
    import os

    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(50_000, gen1, gen2)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] in _PLUGINS_OFF:
        _plugin_loader_stand_in()
    _invoke_stand_in()
    if "TTPCACHEFOLDER" not in os.environ or CACHE_ENV not in os.environ:
        cache = _cache_folder()
        if cache is not None:
            os.environ.setdefault(CACHE_ENV, cache)
            ttp = os.path.join(cache, "ttp")
            if _owner_only_folder(ttp):
                os.environ.setdefault("TTPCACHEFOLDER", ttp)
    from ipsecctl.cli.app import run as run_app

    run_app()


#: the values of PYDANTIC_DISABLE_PLUGINS for which pydantic loads no plugin at all
_PLUGINS_OFF = ("__all__", "1", "true")
_LOADER = "pydantic.plugin._loader"
_INVOKE = "invoke"


def _stand_in(name: str, doc: str, *, package: bool) -> tuple[ModuleType, Callable[[], ModuleType]]:
    """A module to put in ``sys.modules`` under ``name`` in place of the real one, and the
    function that imports the real one (which then replaces it there). Whatever the stand-in
    does not hold itself is asked of the real module, imported at that moment; the import
    system's own questions (``__path__`` of a module that is no package, ``__file__``...)
    are answered "absent" without importing anything."""
    import importlib
    import sys
    import types

    stand_in = types.ModuleType(name, doc)

    def real() -> ModuleType:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return importlib.import_module(name)

    def module_getattr(attr: str) -> object:
        if attr.startswith("__") and not (package and attr == "__path__"):
            raise AttributeError(attr)
        return getattr(real(), attr)

    stand_in.__getattr__ = module_getattr  # type: ignore[method-assign]
    return stand_in, real


def _plugin_loader_stand_in() -> None:
    """Put a stand-in for pydantic's plugin loader where imports find it (see the module's
    docstring). ``get_plugins()`` is the loader's one function pydantic calls; while
    ``PYDANTIC_DISABLE_PLUGINS`` says "off" the real one returns ``()`` before reading
    anything, and so does this. Should the variable change, or anyone ask the module for
    anything else, the real loader is imported and answers."""
    import os
    import sys

    stand_in, real = _stand_in(
        _LOADER, "pydantic's plugin loader while plugins are off", package=False
    )

    def get_plugins() -> object:
        if os.environ.get("PYDANTIC_DISABLE_PLUGINS") in _PLUGINS_OFF:
            return ()
        return real().get_plugins()

    stand_in.get_plugins = get_plugins  # type: ignore[attr-defined]
    sys.modules.setdefault(_LOADER, stand_in)


def _invoke_stand_in() -> None:
    """Put a stand-in for invoke where imports find it (see the module's docstring):
    paramiko imports it with its ssh_config reader and uses it only to run the command of a
    ``Match exec`` line, which imports the real invoke through the stand-in. Nothing is done
    where invoke is not installed (paramiko then says so itself, when such a line is read)
    or already imported."""
    import importlib.util
    import sys

    if _INVOKE in sys.modules or importlib.util.find_spec(_INVOKE) is None:
        return
    stand_in, _real = _stand_in(_INVOKE, "invoke, imported when first used", package=True)
    sys.modules[_INVOKE] = stand_in


def _cache_folder() -> str | None:
    """The user's cache folder for ipsecctl (made owner-only), or None when there is none to
    make (no home, a file in the way): nothing is cached then, and TTP keeps its default."""
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    folder = os.path.join(base, "ipsecctl")
    return folder if _owner_only_folder(folder) else None


def _owner_only_folder(folder: str) -> bool:
    import os

    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
