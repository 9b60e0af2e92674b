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
"""

from __future__ import annotations

from typing import NoReturn


def run() -> NoReturn:
    import gc
    import os

    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(50_000, gen1, gen2)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from ipsecctl.cli.app import run as run_app

    run_app()
