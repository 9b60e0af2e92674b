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

from typing import NoReturn

from ipsecctl.data_files import CACHE_ENV


def run() -> NoReturn:
    import gc
    import os

    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(50_000, gen1, gen2)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if "TTPCACHEFOLDER" not in os.environ or CACHE_ENV not in os.environ:
        cache = _cache_folder()
        if cache is not None:
            os.environ.setdefault(CACHE_ENV, cache)
            ttp = os.path.join(cache, "ttp")
            if _owner_only_folder(ttp):
                os.environ.setdefault("TTPCACHEFOLDER", ttp)
    from ipsecctl.cli.app import run as run_app

    run_app()


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
