"""Exec-channel runner (strongSwan-style) against real OpenSSH sshd; SHA-1-only peers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecctl.errors import AlgorithmError, CommandRejected, TimeoutError_
from ipsecctl.platforms import get_platform
from ipsecctl.transport import open_session

from .conftest import Sshd, isolated_known, sshd_params, trust

STRONGSWAN = get_platform("strongswan")


def test_exec_runner_runs_many_commands_over_one_connection(sshd: Sshd, known_file: Path) -> None:
    trust(known_file, sshd.address, sshd.port, sshd.host_key)
    params = sshd_params(sshd, known_file)
    with open_session(params, STRONGSWAN, known_hosts=isolated_known(known_file)) as s:
        assert s.send("echo hello") == "hello\n"
        assert s.send("printf 'a\\r\\nb\\n'") == "a\nb\n"
        first = s.send("echo $SSH_CONNECTION")
        assert first.split()[2:] == ["127.0.0.20", str(sshd.port)]
        with pytest.raises(CommandRejected, match=r"'sh -c \"exit 3\"' exited with status 3"):
            s.send('sh -c "exit 3"')
        with pytest.raises(CommandRejected, match="command not found") as err:
            s.send("no-such-command-xyz")
        assert err.value.device == "gw-linux"
        with pytest.raises(TimeoutError_, match=r"'sleep 5' did not finish within 0\.5s"):
            s.send("sleep 5", timeout=0.5)
        assert s.send("echo $SSH_CONNECTION") == first  # same TCP connection throughout


def test_sha1_only_peer_is_algorithm_error_naming_legacy(
    sshd_sha1_only: Sshd, known_file: Path
) -> None:
    params = sshd_params(sshd_sha1_only, known_file, name="old-ios")
    with pytest.raises(AlgorithmError) as err:
        open_session(params, STRONGSWAN, known_hosts=isolated_known(known_file))
    message = str(err.value)
    assert "old-ios" in message and "ipsecctl[legacy]" in message and "paramiko<5" in message
    assert "ip ssh server algorithm" in message
