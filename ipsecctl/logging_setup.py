"""Logging for ``-v``/``-vv`` and ``--log-file``, with secrets removed from every record.

Redaction happens in a :class:`RedactingFilter` that rewrites the record itself (message with
its arguments merged, and exception text), so every handler downstream sees the redacted
record: the console, the log file and anything a library or test attaches to the root logger.
:func:`setup_logging` also installs the same redaction in the log-record factory, because a
filter on a handler only runs for that handler and records from third-party loggers (paramiko
prints banners and auth details at DEBUG) must never slip through any other handler.

Levels: default WARNING; ``-v`` INFO for ipsecctl; ``-vv`` DEBUG for ipsecctl and paramiko.

paramiko is silent below ``-vv``: its transport thread logs tracebacks at ERROR for failures
the transport layer already reports as one-line errors (no common algorithm, no banner, a
refused jump channel), and an operator must see that line only. With ``--log-file`` (and no
``-vv``) its WARNING and worse go to the file alone, redacted, for bug reports.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipsecctl.redact import redact, redact_text

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_HANDLER_MARK = "_ipsecctl_handler"
_original_factory: Callable[..., logging.LogRecord] | None = None


def _redact_record(record: logging.LogRecord) -> None:
    """Merge args into the message and redact it; redact cached exception text too."""
    if getattr(record, "_ipsecctl_redacted", False):
        return
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # bad format args: keep both parts, redacted
        message = f"{record.msg} {redact(list(record.args or ()))}"
    record.msg = redact_text(str(message))
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    record._ipsecctl_redacted = True


class RedactingFilter(logging.Filter):
    """Never drops a record; rewrites it so that no secret reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


class RedactingFormatter(logging.Formatter):
    """Last line of defence: redact the fully formatted text (traceback included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def install_record_redaction() -> None:
    """Redact every record when it is created, whoever logs it (idempotent)."""
    global _original_factory
    if _original_factory is not None:
        return
    original = logging.getLogRecordFactory()
    _original_factory = original

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)


def uninstall_record_redaction() -> None:
    global _original_factory
    if _original_factory is not None:
        logging.setLogRecordFactory(_original_factory)
        _original_factory = None


def level_for(verbosity: int) -> int:
    return logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG


def setup_logging(verbosity: int = 0, log_file: Path | None = None) -> None:
    """Configure the ``ipsecctl`` hierarchy; calling it again replaces the previous setup.

    The log file (created 0600: it may hold device output) gets at least INFO even without
    ``-v``, so a bug report can include it without re-running with more flags.
    """
    install_record_redaction()
    console_level = level_for(verbosity)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()
    formatter = RedactingFormatter(FORMAT)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(formatter)
    handlers: list[logging.Handler] = [console]
    file_handler: logging.Handler | None = None
    file_level = min(console_level, logging.INFO)
    if log_file is not None:
        log_file = Path(log_file).expanduser()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setLevel(file_level)
        file_handler.setFormatter(formatter)
        handlers.append(file_handler)
    for handler in handlers:
        handler.addFilter(RedactingFilter())
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    ours = file_level if log_file is not None else console_level
    root.setLevel(min(ours, logging.WARNING))
    for name in ("ipsecctl", "inventory", "parsers"):
        logging.getLogger(name).setLevel(ours)
    _setup_paramiko(verbosity, file_handler)


def _setup_paramiko(verbosity: int, file_handler: logging.Handler | None) -> None:
    """-vv: through our handlers at DEBUG; --log-file: WARNING+ to the file; else nothing."""
    logger = logging.getLogger("paramiko")
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            logger.removeHandler(handler)
    if verbosity >= 2:
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
        return
    logger.propagate = False
    if file_handler is not None:
        logger.setLevel(logging.WARNING)
        logger.addHandler(file_handler)  # already marked: removed by the next setup
        return
    logger.setLevel(logging.CRITICAL + 1)
    silent = logging.NullHandler()  # a handler, so logging's lastResort never prints either
    setattr(silent, _HANDLER_MARK, True)
    logger.addHandler(silent)
