"""SshSession against the IOS-like server over real SSH on 127.0.0.x."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from ipsecctl.errors import AuthenticationError, CommandRejected, ConnectError, TimeoutError_
from ipsecctl.platforms import get_platform
from ipsecctl.transport import SshSession, Timeouts, open_session

from .conftest import IOS_ADDR, free_port, ios_params, isolated_known, trust
from .ios_server import ISAKMP_SA, LONG, VERSION, IosServer

IOS = get_platform("cisco_ios")


def session(server: IosServer, known_file: Path, **overrides: object) -> SshSession:
    trust(known_file, server.address, server.port, server.host_key)
    return open_session(
        ios_params(server, known_file, **overrides), IOS, known_hosts=isolated_known(known_file)
    )


@pytest.mark.parametrize(
    ("hostname", "trailing_space", "privileged"),
    [
        ("R1", False, True),
        ("rtr-01.lab-east", True, False),
        ("edge(dc1).example-net", False, False),
        ("core_sw-2.site-3(vpn)", True, True),
    ],
)
def test_prompt_variants_give_clean_output(
    hostname: str, trailing_space: bool, privileged: bool, known_file: Path
) -> None:
    server = IosServer(
        address=IOS_ADDR, hostname=hostname, trailing_space=trailing_space, privileged=privileged
    )
    with server, session(server, known_file) as s:
        assert s.prompt == hostname + "#"  # enabled with the secret when it was at '>'
        assert s.send("show version") == VERSION
        assert s.send("show version") == VERSION  # persistent: same shell, same answer
    assert server.connections == 1
    prepare = ["terminal length 0", "terminal width 511"]
    expected = prepare if privileged else ["enable", *prepare]
    assert server.commands == [*expected, "show version", "show version"]


def test_enable_with_secret_reaches_privileged_commands(ios: IosServer, known_file: Path) -> None:
    with session(ios, known_file) as s:
        assert s.prompt is not None and s.prompt.endswith("#")
        assert s.send("show crypto isakmp sa") == ISAKMP_SA


def test_without_enable_secret_privileged_command_is_rejected(
    ios: IosServer, known_file: Path
) -> None:
    with session(ios, known_file, enable_secret=None) as s:
        assert s.prompt == ios.hostname + ">"
        with pytest.raises(CommandRejected) as err:
            s.send("show crypto isakmp sa")
    assert err.value.device == "rtr-01"
    assert err.value.command == "show crypto isakmp sa"


def test_wrong_enable_secret_is_an_authentication_error(ios: IosServer, known_file: Path) -> None:
    with pytest.raises(AuthenticationError, match="enable failed on rtr-01") as err:
        session(ios, known_file, enable_secret="not-the-secret")
    assert "not-the-secret" not in str(err.value)


def test_more_paging_fallback_strips_marker_and_backspaces(known_file: Path) -> None:
    # the device ignores 'terminal length 0' (some contexts do): --More-- must be answered
    server = IosServer(address=IOS_ADDR, honour_terminal_length=False)
    with server, session(server, known_file) as s:
        out = s.send("show long")
        assert out == LONG
        assert "More" not in out and "\x08" not in out
        assert s.send("show version") == VERSION  # the shell is still in step afterwards


@pytest.mark.parametrize(
    ("command", "indicator"),
    [("show foo bar", "% Invalid input detected"), ("show ip route vrf", "% Incomplete command")],
)
def test_failure_indicator_raises_command_rejected(
    ios: IosServer, known_file: Path, command: str, indicator: str
) -> None:
    with session(ios, known_file) as s:
        with pytest.raises(CommandRejected) as err:
            s.send(command)
        message = str(err.value)
        assert "rtr-01" in message and repr(command) in message and indicator in message
        assert s.send("show version") == VERSION  # a rejected command leaves the session usable


def test_command_timeout_names_device_and_command_then_reconnects(
    ios: IosServer, known_file: Path
) -> None:
    with session(ios, known_file) as s:
        started = time.monotonic()
        with pytest.raises(TimeoutError_) as err:
            s.send("show hang", timeout=0.5)
        assert time.monotonic() - started < 10  # bounded: without the timeout it hangs
        assert err.value.device == "rtr-01"
        assert "show hang" in str(err.value) and "command timeout" in str(err.value)
        assert s.send("show version") == VERSION
    assert ios.connections == 2


def test_slow_command_within_its_timeout(ios: IosServer, known_file: Path) -> None:
    with session(ios, known_file) as s:
        assert s.send("show slow", timeout=4) == "slow answer\n"


def test_overall_deadline_cuts_a_long_command_timeout(ios: IosServer, known_file: Path) -> None:
    timeouts = Timeouts(connect=3, banner=3, auth=3, command=30, overall=1.5)
    with session(ios, known_file, timeouts=timeouts) as s:
        started = time.monotonic()
        with pytest.raises(TimeoutError_, match=r"overall deadline of 1\.5s"):
            s.send("show hang")
        assert time.monotonic() - started < 15  # well short of the 30 s command timeout
        with pytest.raises(TimeoutError_, match="overall deadline"):
            s.send("show version")  # the budget is spent until the next poll renews it
        s.renew_deadline()
        assert s.send("show version") == VERSION


def test_device_dropping_the_connection_is_connect_error_then_reconnects(
    ios: IosServer, known_file: Path
) -> None:
    with session(ios, known_file) as s:
        with pytest.raises(ConnectError, match="rtr-01 closed the connection"):
            s.send("test drop")
        assert s.send("show version") == VERSION
        s.reconnect()
        assert s.send("show version") == VERSION
    assert ios.connections == 3


def test_unreachable_port_is_connect_error(known_file: Path) -> None:
    port = free_port("127.0.0.11")  # nothing listens there once the probe socket is closed
    params = ios_params(IosServer(address="127.0.0.11", port=port), known_file)
    with pytest.raises(ConnectError, match=r"rtr-01 at 127\.0\.0\.11:\d+: connection refused"):
        open_session(params, IOS, known_hosts=isolated_known(known_file))


def test_wrong_password_is_authentication_error(ios: IosServer, known_file: Path) -> None:
    with pytest.raises(AuthenticationError, match="authentication failed for admin@rtr-01") as e:
        session(ios, known_file, password="wrong-pw-Q1")
    assert e.value.device == "rtr-01" and "wrong-pw-Q1" not in str(e.value)


def test_secrets_never_in_logs_reprs_or_errors(
    ios: IosServer, known_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # An earlier in-process CLI run (setup_logging) may have left these loggers at WARNING;
    # caplog restores whatever it changes.
    caplog.set_level(logging.DEBUG, logger="ipsecctl")
    caplog.set_level(logging.DEBUG, logger="paramiko")
    params = ios_params(ios, known_file)
    with session(ios, known_file) as s:
        s.send("show version")
        with pytest.raises(CommandRejected) as rejected:
            s.send("show foo")
        texts = [repr(params), str(params), repr(s), str(rejected.value)]
    with pytest.raises(AuthenticationError) as denied:
        session(ios, known_file, password="other-pw-Zq9x")
    texts.append(str(denied.value))
    assert "show version" in caplog.text  # the log really was captured at DEBUG
    for secret in (ios.password, ios.enable_secret, "other-pw-Zq9x"):
        assert secret
        assert secret not in caplog.text
        for text in texts:
            assert secret not in text


def test_one_session_is_safe_to_share_between_threads(ios: IosServer, known_file: Path) -> None:
    results: list[str] = []
    with session(ios, known_file) as s:

        def work(command: str, expected: str) -> None:
            for _ in range(3):
                results.append("ok" if s.send(command) == expected else "bad")

        threads = [
            threading.Thread(target=work, args=("show version", VERSION)),
            threading.Thread(target=work, args=("show crypto isakmp sa", ISAKMP_SA)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    assert results == ["ok"] * 6
