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


def _line(name: str, key: paramiko.PKey) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}\n"


def test_a_lookup_builds_only_the_keys_it_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet's first poll looks up every router in one known_hosts of every router: a key
    object per line per lookup made it quadratic. Only the matching line's key is built."""
    keys = [paramiko.ECDSAKey.generate() for _ in range(3)]
    lines = [_line(f"[10.0.{i // 250}.{i % 250}]:22", keys[i % 3]) for i in range(1000)]
    path = tmp_path / "known_hosts"
    path.write_text("".join(lines))
    built: list[int] = []
    real = paramiko.hostkeys.HostKeyEntry.from_line

    def counting(line: str, lineno: int | None = None) -> paramiko.hostkeys.HostKeyEntry | None:
        built.append(lineno or 0)
        return real(line, lineno)

    monkeypatch.setattr(paramiko.hostkeys.HostKeyEntry, "from_line", counting)
    known = KnownHosts([path], own=tmp_path / "own", system=[])
    for i in (7, 500, 999):
        [entry] = known.lookup(f"[10.0.{i // 250}.{i % 250}]:22")
        assert (entry.line, entry.key) == (i + 1, keys[i % 3])
    assert built == [8, 501, 1000]


def test_an_edited_file_is_read_again_at_once(tmp_path: Path) -> None:
    """A line replaced by one of the same length, within the same clock tick, is seen."""
    old, new = paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    path.write_text(_line("rtr", old))
    known = KnownHosts([path], own=tmp_path / "own", system=[])
    assert [e.key for e in known.lookup("rtr")] == [old]
    path.write_text(_line("rtr", new))
    assert [e.key for e in known.lookup("rtr")] == [new]
    assert known.check("rtr", new)
    with pytest.raises(HostKeyError):
        known.check("rtr", old)


def test_hashed_and_plain_names_in_file_order(tmp_path: Path) -> None:
    """Hashed names (``HashKnownHosts``), lists of names, markers and unusable lines: the
    entries for a name are every usable line naming it, in file order, each once."""
    a, b, c = (paramiko.ECDSAKey.generate() for _ in range(3))
    hashed = HostKeys.hash_host("[rtr]:2222")
    path = tmp_path / "known_hosts"
    path.write_text(
        "# comment\n"
        + _line("other", a)
        + _line(f"{hashed}", b)  # line 3
        + "@revoked [rtr]:2222 "
        + f"{c.get_name()} {c.get_base64()}\n"
        + "[rtr]:2222 ssh-rsa not-base64\n"
        + _line(f"other,[rtr]:2222,{HostKeys.hash_host('[rtr]:2222')}", c)  # line 6
    )
    known = KnownHosts([path], own=tmp_path / "own", system=[])
    assert [(e.line, e.key) for e in known.lookup("[rtr]:2222")] == [(3, b), (6, c)]
    assert [(e.line, e.key) for e in known.lookup("other")] == [(2, a), (6, c)]
    assert known.lookup("rtr") == []


def test_the_index_stays_bounded_and_right(tmp_path: Path) -> None:
    """A long-lived process handed many known_hosts files keeps a bounded index of them; a
    file whose index was dropped is read and indexed again, with the same answer."""
    from ipsecctl.transport import hostkeys

    key = paramiko.ECDSAKey.generate()
    files = []
    for i in range(hostkeys._MAX_INDEXES + 8):
        path = tmp_path / f"known_hosts_{i}"
        path.write_text(_line(f"rtr{i}", key))
        files.append(path)
    for i, path in enumerate(files):
        known = KnownHosts([path], own=tmp_path / "own", system=[])
        assert [e.key for e in known.lookup(f"rtr{i}")] == [key]
    assert len(hostkeys._indexes) <= hostkeys._MAX_INDEXES
    assert files[0] not in hostkeys._indexes  # the first indexed went first
    known = KnownHosts([files[0]], own=tmp_path / "own", system=[])
    assert [e.key for e in known.lookup("rtr0")] == [key]
