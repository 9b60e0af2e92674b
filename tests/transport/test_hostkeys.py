"""Host-key policies against a real SSH server: reject, accept-new, ask, changed, hashed."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest
from paramiko.hostkeys import HostKeys

from ipsecctl.errors import HostKeyError
from ipsecctl.platforms import get_platform
from ipsecctl.transport import AskHostKey, KnownHosts, fingerprint, host_key_name, open_session

from .conftest import ios_params, isolated_known, trust
from .ios_server import VERSION, IosServer

IOS = get_platform("cisco_ios")


def connect(
    server: IosServer, known_file: Path, ask: AskHostKey | None = None, **overrides: object
) -> str:
    params = ios_params(server, known_file, **overrides)
    with open_session(params, IOS, ask_host_key=ask, known_hosts=isolated_known(known_file)) as s:
        return s.send("show version")


def test_unknown_key_under_reject_fails_with_fingerprint(
    ios: IosServer, known_file: Path, own_known_hosts: Path
) -> None:
    with pytest.raises(HostKeyError) as err:
        connect(ios, known_file)
    message = str(err.value)
    assert "unknown host key for rtr-01" in message
    assert fingerprint(ios.host_key) in message and message.count("SHA256:") == 1
    assert "--host-key-policy accept-new" in message
    assert err.value.device == "rtr-01"
    assert not own_known_hosts.exists()
    assert ios.commands == []  # never got as far as a shell


def test_accept_new_records_then_reject_accepts(
    ios: IosServer, known_file: Path, own_known_hosts: Path
) -> None:
    assert connect(ios, known_file, host_key_policy="accept-new") == VERSION
    recorded = own_known_hosts.read_text()
    assert recorded.startswith(host_key_name(ios.address, ios.port) + " ecdsa-sha2-nistp256 ")
    assert oct(own_known_hosts.stat().st_mode & 0o777) == "0o600"
    assert connect(ios, known_file, host_key_policy="reject") == VERSION
    assert own_known_hosts.read_text() == recorded  # nothing recorded twice


@pytest.mark.parametrize("policy", ["reject", "accept-new", "ask"])
def test_changed_key_always_fails_naming_file_and_line(
    ios: IosServer, known_file: Path, policy: str, own_known_hosts: Path
) -> None:
    known_file.write_text("# inventory known_hosts\n\n")
    trust(known_file, ios.address, ios.port, paramiko.ECDSAKey.generate())  # line 3
    asked: list[str] = []

    def ask(device: str, hostname: str, key_type: str, fp: str) -> bool:
        asked.append(device)
        return True

    with pytest.raises(HostKeyError) as err:
        connect(ios, known_file, ask=ask, host_key_policy=policy)
    message = str(err.value)
    assert "HOST KEY CHANGED for rtr-01" in message
    assert f"{known_file}:3" in message
    assert fingerprint(ios.host_key) in message
    assert asked == [] and not own_known_hosts.exists()


def test_hashed_entry_is_recognised(ios: IosServer, known_file: Path) -> None:
    name = host_key_name(ios.address, ios.port)
    hashed = HostKeys.hash_host(name)
    known_file.write_text(f"{hashed} {ios.host_key.get_name()} {ios.host_key.get_base64()}\n")
    assert connect(ios, known_file) == VERSION


def test_ask_callback_accepts_and_records(
    ios: IosServer, known_file: Path, own_known_hosts: Path
) -> None:
    calls: list[tuple[str, ...]] = []

    def ask(device: str, hostname: str, key_type: str, fp: str) -> bool:
        calls.append((device, hostname, key_type, fp))
        return True

    assert connect(ios, known_file, ask=ask, host_key_policy="ask") == VERSION
    assert calls == [
        ("rtr-01", f"[{ios.address}]:{ios.port}", "ecdsa-sha2-nistp256", fingerprint(ios.host_key))
    ]
    assert connect(ios, known_file, ask=ask, host_key_policy="ask") == VERSION
    assert len(calls) == 1  # remembered: not asked again
    assert own_known_hosts.exists()


def test_ask_declined_and_ask_without_callback_fail(ios: IosServer, known_file: Path) -> None:
    with pytest.raises(HostKeyError, match="declined"):
        connect(ios, known_file, ask=lambda *a: False, host_key_policy="ask")
    with pytest.raises(HostKeyError, match="nobody to ask"):
        connect(ios, known_file, host_key_policy="ask")


def test_known_hosts_skips_garbage_and_markers(tmp_path: Path) -> None:
    key = paramiko.ECDSAKey.generate()
    path = tmp_path / "kh"
    path.write_text(
        "garbage line\n@cert-authority * ssh-ed25519 AAAA\n"
        f"[10.9.9.9]:2222 {key.get_name()} {key.get_base64()}\n"
    )
    known = KnownHosts([path], own=tmp_path / "own", system=())
    assert [(e.line, e.key_type) for e in known.lookup("[10.9.9.9]:2222")] == [
        (3, "ecdsa-sha2-nistp256")
    ]
    assert known.check("[10.9.9.9]:2222", key) is True
    assert known.check("10.9.9.9", key) is False  # port 22 is a different entry
