"""Hostile devices over real SSH: each fails alone, with a message naming the cause, and
devices that are merely slow or decorated still get exactly their own outputs.

Expected outputs are the texts the test server prints (ios_server.VERSION, ISAKMP_SA, LONG);
expected failures are what each device does wrong, as an operator would describe it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipsecctl.errors import (
    AuthenticationError,
    CommandRejected,
    ConnectError,
    OutOfStepError,
    OutputTooLargeError,
    TimeoutError_,
)
from ipsecctl.platforms import get_platform
from ipsecctl.transport import ConnectionParams, SshSession, Timeouts, open_session

from .conftest import ios_params, isolated_known, trust
from .ios_server import FLOOD_LINE, ISAKMP_SA, LATE, LONG, VERSION, IosServer
from .raw_peer import RawPeer

IOS = get_platform("cisco_ios")
ADDR = "127.0.0.41"
SHORT = Timeouts(connect=3, banner=5, auth=5, command=5, overall=60)
# for devices that must succeed however loaded the test machine is
GENEROUS = Timeouts(connect=30, banner=30, auth=30, command=60, overall=300)
POLL = [("show version", VERSION), ("show crypto isakmp sa", ISAKMP_SA), ("show long", LONG)]


def connect(server: IosServer, known_file: Path, **overrides: object) -> SshSession:
    trust(known_file, server.address, server.port, server.host_key)
    return open_session(
        ios_params(server, known_file, **overrides), IOS, known_hosts=isolated_known(known_file)
    )


def peer_params(peer: RawPeer, known_file: Path) -> ConnectionParams:
    return ConnectionParams(
        name="rtr-01",
        hostname=peer.address,
        port=peer.port,
        username="admin",
        password="pw-Qx81",
        use_agent=False,
        use_ssh_config=False,
        known_hosts=(known_file,),
        timeouts=SHORT,
    )


@pytest.fixture
def transport_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged at WARNING or above by ipsecctl and paramiko, as a log file gets it."""
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.WARNING, logger="ipsecctl")
    caplog.set_level(logging.WARNING, logger="paramiko")
    yield caplog


def client_side(records: list[logging.LogRecord]) -> list[str]:
    """Records from the client (the test servers' own paramiko transports are not ours)."""
    return [r.getMessage() for r in records if not r.name.startswith("paramiko.transport")]


# -- devices that are slow or decorated: exact outputs, in step, run after run ------------


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param({"first_prompt_delay": 1.5}, id="first prompt after 1.5 s"),
        pytest.param({"command_delay": 0.3}, id="0.3 s per command"),
        pytest.param({"first_prompt_delay": 1.5, "command_delay": 0.3}, id="both"),
        pytest.param(
            {"first_prompt_delay": 1.5, "command_delay": 0.3, "privileged": True},
            id="both, no enable",
        ),
        pytest.param({"ansi": True, "line_end": "\r\n\r"}, id="ANSI escapes and \\r\\n\\r"),
    ],
)
def test_slow_or_decorated_device_gets_exactly_its_own_outputs(
    behaviour: dict[str, object], known_file: Path
) -> None:
    server = IosServer(address=ADDR, **behaviour)  # type: ignore[arg-type]
    with server:
        for _ in range(3):  # the campaign saw the shift in 3 runs of 3
            with connect(server, known_file, timeouts=GENEROUS) as s:
                assert s.prompt == server.hostname + "#"
                for command, expected in POLL:
                    assert s.send(command) == expected, command
    assert server.connections == 3


def test_trickling_device_within_its_timeout_gets_exact_outputs(known_file: Path) -> None:
    """About 30 bytes/s: the banner alone outlasts the 1 s nudge, as with 1 byte/s."""
    server = IosServer(
        address=ADDR, hostname="R1", privileged=True, byte_delay=0.03, banner="\n*** lab ***\n\n"
    )
    with server, connect(server, known_file, timeouts=GENEROUS) as s:
        assert s.send("show version") == VERSION


def test_output_printed_after_the_prompt_does_not_shift_the_next_command(
    known_file: Path, transport_log: pytest.LogCaptureFixture
) -> None:
    server = IosServer(address=ADDR, misbehave={"show late": "late-output"})
    with server, connect(server, known_file, timeouts=GENEROUS) as s:
        assert s.send("show late") == VERSION
        assert server.served.wait(10)
        assert s.send("show crypto isakmp sa") == ISAKMP_SA
        assert s.send("show version") == VERSION
    assert server.connections == 1
    warnings = client_side(transport_log.records)
    assert any("out of step" in w and "'show crypto isakmp sa'" in w for w in warnings), warnings
    assert LATE.strip() not in "".join(warnings)  # device text is not echoed into logs


# -- devices that fail: alone, named, and the session recovers where it can ---------------


def test_no_banner(transport_log: pytest.LogCaptureFixture, known_file: Path) -> None:
    with RawPeer(ADDR, "silent") as peer, pytest.raises(TimeoutError_) as err:
        open_session(peer_params(peer, known_file), IOS, known_hosts=isolated_known(known_file))
    assert str(err.value).startswith(f"rtr-01 at {ADDR}:{peer.port} sent no SSH banner within 3 s")
    assert client_side(transport_log.records) == []  # no paramiko traceback after the timeout


def test_banner_that_drips(transport_log: pytest.LogCaptureFixture, known_file: Path) -> None:
    with RawPeer(ADDR, "drip", drip_delay=0.5) as peer, pytest.raises(TimeoutError_) as err:
        open_session(peer_params(peer, known_file), IOS, known_hosts=isolated_known(known_file))
    assert str(err.value).startswith(
        f"rtr-01 at {ADDR}:{peer.port} sent only part of its SSH banner within 3 s"
    ), err.value
    assert client_side(transport_log.records) == []


def test_hang_in_the_middle_of_an_output(known_file: Path) -> None:
    server = IosServer(address=ADDR, misbehave={"show crypto isakmp sa": "hang-midway"})
    with server, connect(server, known_file, timeouts=SHORT) as s:
        with pytest.raises(TimeoutError_) as err:
            s.send("show crypto isakmp sa")
        message = str(err.value)
        assert message.startswith("rtr-01: 'show crypto isakmp sa' stopped answering after ")
        assert "no prompt within 5s (command timeout)" in message
        assert s.send("show version") == VERSION  # reconnected: a new, clean shell
    assert server.connections == 2


def test_connection_closed_in_the_middle_of_an_output(known_file: Path) -> None:
    server = IosServer(address=ADDR, misbehave={"show crypto isakmp sa": "drop-midway"})
    with server, connect(server, known_file, timeouts=SHORT) as s:
        with pytest.raises(ConnectError) as err:
            s.send("show crypto isakmp sa")
        assert str(err.value).startswith(
            "rtr-01 closed the connection while running 'show crypto isakmp sa' (after "
        )
        assert s.send("show version") == VERSION
    assert server.connections == 2


@pytest.mark.parametrize("kind", ["flood", "flood-no-newline"])
def test_100_mb_of_output_stops_at_the_limit_naming_the_command(
    kind: str, known_file: Path
) -> None:
    server = IosServer(address=ADDR, misbehave={"show crypto isakmp sa": kind})
    assert server.flood_bytes == 100 * 1024 * 1024
    with server, connect(server, known_file, timeouts=GENEROUS) as s:
        with pytest.raises(OutputTooLargeError) as err:
            s.send("show crypto isakmp sa")
        assert str(err.value).startswith(
            "rtr-01: the output of 'show crypto isakmp sa' passed the limit of 32 MB"
        )
        assert err.value.kind == "too_large"
        assert s.send("show version") == VERSION
    assert server.connections == 2


def test_large_output_within_the_limit_is_complete(known_file: Path) -> None:
    lines = 40 * 1024  # about 2.6 MB
    server = IosServer(address=ADDR, misbehave={"show big": "flood"})
    server.flood_bytes = (len(FLOOD_LINE) + 1) * lines  # +1: the device sends \r\n
    with server, connect(server, known_file, timeouts=GENEROUS) as s:
        assert s.send("show big") == FLOOD_LINE * lines
        assert s.send("show version") == VERSION


def test_output_limit_is_configurable(known_file: Path) -> None:
    server = IosServer(address=ADDR, misbehave={"show crypto isakmp sa": "flood"})
    limit = 1024 * 1024
    with (
        server,
        connect(server, known_file, timeouts=GENEROUS, max_output=limit) as s,
        pytest.raises(OutputTooLargeError, match="passed the limit of 1 MB"),
    ):
        s.send("show crypto isakmp sa")


def test_invalid_input_for_everything(known_file: Path) -> None:
    server = IosServer(address=ADDR, reject_all=True, privileged=True)
    with server, connect(server, known_file, timeouts=SHORT) as s:
        for command in ("show version", "show crypto isakmp sa"):
            with pytest.raises(CommandRejected) as err:
                s.send(command)
            assert str(err.value).startswith(
                f"rtr-01 rejected {command!r}: % Invalid input detected at '^' marker."
            )


def test_invalid_input_for_enable_names_enable(known_file: Path) -> None:
    server = IosServer(address=ADDR, reject_all=True)
    with server, pytest.raises(AuthenticationError) as err:
        connect(server, known_file, timeouts=SHORT)
    assert str(err.value).startswith(
        "enable failed on rtr-01: rtr-01 rejected 'enable': % Invalid input detected"
    )


def test_shell_that_keeps_asking_for_a_password(known_file: Path) -> None:
    server = IosServer(address=ADDR, password_loop=True)
    with server, pytest.raises(AuthenticationError) as err:
        connect(server, known_file, timeouts=SHORT)
    assert str(err.value).startswith(
        "rtr-01: the device keeps asking for a password (the login was refused)"
    )
    assert server.commands == [server.password]  # answered once, never again
    assert server.password not in str(err.value)


def test_enable_that_keeps_asking_for_a_password(known_file: Path) -> None:
    server = IosServer(address=ADDR)
    with server, pytest.raises(AuthenticationError) as err:
        connect(server, known_file, timeouts=SHORT, enable_secret="not-the-secret-9")
    assert str(err.value).startswith(
        "enable failed on rtr-01: the device keeps asking for a password (the enable secret "
        "was refused)"
    )
    assert server.commands == ["enable"]
    assert server.secrets_tried == ["not-the-secret-9"]  # no guessing, no retries
    assert "not-the-secret-9" not in str(err.value)


def test_one_byte_per_second(known_file: Path) -> None:
    server = IosServer(address=ADDR, byte_delay=1.0)
    with server, pytest.raises(TimeoutError_) as err:
        connect(server, known_file, timeouts=SHORT)
    message = str(err.value)
    assert message.startswith("rtr-01: the first prompt was still arriving within 5s")
    assert "bytes/s); the device or the link is too slow" in message


def test_device_that_never_echoes_is_out_of_step(known_file: Path) -> None:
    server = IosServer(address=ADDR, echo=False, privileged=True)
    with server, pytest.raises(OutOfStepError) as err:
        connect(server, known_file, timeouts=SHORT)
    assert str(err.value).startswith(
        "rtr-01: session out of step: 'terminal length 0' was never echoed within 5s"
    )
    assert "the session is reset" in str(err.value)


def test_hostile_devices_fail_alone_beside_a_healthy_one(known_file: Path) -> None:
    """All at once, on threads as the collector runs them: the healthy router's outputs are
    exact and each hostile one reports its own cause."""
    hostile = {
        "hang": ({"misbehave": {"show crypto isakmp sa": "hang-midway"}}, TimeoutError_),
        "drop": ({"misbehave": {"show crypto isakmp sa": "drop-midway"}}, ConnectError),
        "flood": ({"misbehave": {"show crypto isakmp sa": "flood-no-newline"}}, None),
        "invalid": ({"reject_all": True, "privileged": True}, CommandRejected),
        "password": ({"password_loop": True}, AuthenticationError),
        "trickle": ({"byte_delay": 1.0}, TimeoutError_),
        "mute": ({"echo": False, "privileged": True}, OutOfStepError),
    }
    servers = {name: IosServer(address=ADDR, **kw) for name, (kw, _) in hostile.items()}  # type: ignore[arg-type]
    servers["healthy"] = IosServer(address=ADDR, first_prompt_delay=1.5, command_delay=0.3)
    results: dict[str, object] = {}

    def run(name: str, server: IosServer) -> None:
        timeouts = GENEROUS if name in ("healthy", "flood") else SHORT
        try:
            with connect(server, known_file, name=name, timeouts=timeouts, max_output=4 << 20) as s:
                results[name] = [s.send(command) for command, _ in POLL]
        except Exception as exc:
            results[name] = exc

    for server in servers.values():
        server.start()
    try:
        threads = [threading.Thread(target=run, args=item) for item in servers.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        for server in servers.values():
            server.stop()
    assert results["healthy"] == [expected for _, expected in POLL]
    hostile["flood"] = ({}, OutputTooLargeError)
    for name, (_, error) in hostile.items():
        got = results[name]
        assert isinstance(got, error), (name, got)  # type: ignore[arg-type]
        assert str(got).startswith(name) or f" on {name}:" in str(got), (name, got)
