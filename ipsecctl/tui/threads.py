"""Background threads for work that may wait on a device (actions, probes, shells, reads).

Not Textual's thread workers: those run in the event loop's default executor, which
``asyncio.run`` waits for when the app exits, so one action stuck on a hung device would hold
the terminal after ``q``. These are daemon threads: quitting never waits for them (the
sessions they use are cut by the fleet's ``close(abandon=True)`` anyway), and what they
report goes through ``post_message`` / ``call_from_thread`` like a worker's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def background(fn: Callable[..., Any], *args: Any, name: str = "ipsecctl-ui") -> threading.Thread:
    """Run ``fn(*args)`` on a daemon thread; an exception is logged, never raised."""

    def run() -> None:
        try:
            fn(*args)
        except Exception:  # a bug in one background task must not take the app down
            log.exception("background task %s failed", name)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
