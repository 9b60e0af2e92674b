"""Logging: levels per -v, a 0600 log file, and no secret in any captured record."""

from __future__ import annotations

import logging
import stat

import pytest

from ipsecctl.logging_setup import setup_logging, uninstall_record_redaction
from ipsecctl.redact import MASK, clear_registered, register_secrets


@pytest.fixture(autouse=True)
def _restore():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    uninstall_record_redaction()
    clear_registered()
    for name in ("ipsecctl", "inventory", "parsers", "paramiko"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    paramiko_log = logging.getLogger("paramiko")
    paramiko_log.propagate = True
    for handler in list(paramiko_log.handlers):
        paramiko_log.removeHandler(handler)


def test_levels():
    setup_logging(0)
    assert logging.getLogger("ipsecctl").getEffectiveLevel() == logging.WARNING
    assert not logging.getLogger("paramiko.transport").isEnabledFor(logging.CRITICAL)
    setup_logging(1)
    assert logging.getLogger("ipsecctl").getEffectiveLevel() == logging.INFO
    assert not logging.getLogger("paramiko.transport").isEnabledFor(logging.CRITICAL)
    setup_logging(2)
    assert logging.getLogger("ipsecctl.transport").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("paramiko.transport").getEffectiveLevel() == logging.DEBUG


def test_no_secret_in_caplog_file_or_exception(tmp_path, caplog, capsys):
    log_file = tmp_path / "logs" / "ipsecctl.log"
    setup_logging(2, log_file)
    register_secrets(["inventory-Pa55"])
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("ipsecctl.transport.ssh")
    log.debug("sent %r", "crypto isakmp key Sup3rPSK address 10.0.0.2")
    log.debug("auth for %s with %s", "admin", "inventory-Pa55")
    logging.getLogger("paramiko.transport").debug("userauth password=%s", "hunter2")
    log.info("settings %s", {"enable_secret": "en4ble", "workers": 4})
    try:
        raise RuntimeError("device said: enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0")
    except RuntimeError:
        log.exception("command failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    outputs = {
        "caplog": caplog.text,
        "file": log_file.read_text(),
        "stderr": capsys.readouterr().err,
    }
    for where, text in outputs.items():
        for secret in ("Sup3rPSK", "inventory-Pa55", "hunter2", "en4ble", "$1$mERr$hx5rVt"):
            assert secret not in text, f"{secret} leaked into {where}"
        assert MASK in text and "command failed" in text
    assert "'workers': 4" in outputs["file"]
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def _paramiko_failure() -> None:
    """What paramiko's transport thread logs when a kex fails: ERROR lines and a traceback."""
    log = logging.getLogger("paramiko.transport")
    try:
        raise RuntimeError("Incompatible ssh peer (no acceptable kex algorithm) pw=hunter2")
    except RuntimeError:
        log.error("Exception (client): Incompatible ssh peer", exc_info=True)
    log.error("Secsh channel 0 open FAILED: Connection refused: Connect failed")


def test_paramiko_is_silent_without_vv_or_log_file(capsys):
    for verbosity in (0, 1):
        setup_logging(verbosity)
        _paramiko_failure()
        assert capsys.readouterr().err == ""


def test_paramiko_goes_to_the_log_file_only(tmp_path, capsys):
    log_file = tmp_path / "ipsecctl.log"
    setup_logging(0, log_file)
    register_secrets(["hunter2"])
    _paramiko_failure()
    logging.getLogger("ipsecctl.cli").warning("one line for the operator")
    for handler in logging.getLogger().handlers:
        handler.flush()
    err = capsys.readouterr().err
    assert "paramiko" not in err and "Traceback" not in err
    assert "one line for the operator" in err
    text = log_file.read_text()
    assert "Secsh channel 0 open FAILED" in text and "Traceback" in text
    assert "hunter2" not in text


def test_paramiko_reaches_stderr_with_vv(capsys):
    setup_logging(2)
    _paramiko_failure()
    err = capsys.readouterr().err
    assert "Secsh channel 0 open FAILED" in err and "Traceback" in err
    setup_logging(0)  # and a later setup silences it again
    _paramiko_failure()
    assert capsys.readouterr().err == ""
