"""--save-raw at rest: 0600 files in 0700 folders, key material replaced by <removed>.

Configurations come from real SSH sessions (the IOS-like server for Cisco syntax, OpenSSH for
strongSwan/libreswan files read over an exec channel); the expected files are the same text
with each secret replaced, written out by hand below.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ipsecctl.platforms import get_platform
from ipsecctl.redact import REMOVED, redact_text
from ipsecctl.transport import RawRecorder, ReplayRunner, command_slug, open_session

from .conftest import Sshd, ios_params, isolated_known, sshd_params, trust
from .ios_server import IosServer

# (line as the device prints it, line as saved); IOS, IOS-XE, ASA
CISCO = [
    (
        "crypto isakmp key 6 Sup3rPsk-1 address 10.0.0.1",
        "crypto isakmp key 6 <removed> address 10.0.0.1",
    ),
    (
        "crypto isakmp key cisco123 address 0.0.0.0 0.0.0.0",
        "crypto isakmp key <removed> address 0.0.0.0 0.0.0.0",
    ),
    (
        " pre-shared-key address 10.1.1.1 key Ring-Key-7",
        " pre-shared-key address 10.1.1.1 key <removed>",
    ),
    ("  pre-shared-key local 6 Loc4l-Key", "  pre-shared-key local 6 <removed>"),
    ("  pre-shared-key remote Rem0te-Key", "  pre-shared-key remote <removed>"),
    (
        " set session-key inbound esp 256 cipher 0123456789abcdef0123456789abcdef"
        " authenticator 00112233445566778899aabbccddeeff00112233",
        " set session-key inbound esp 256 cipher <removed> authenticator <removed>",
    ),
    (
        " set session-key outbound ah 300 fedcba9876543210fedcba9876543210",
        " set session-key outbound ah 300 <removed>",
    ),
    (
        "enable secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM",
        "enable secret 9 <removed>",
    ),
    ("enable secret level 15 5 $1$abcd$efghijklmnop", "enable secret level 15 5 <removed>"),
    (
        "username admin privilege 15 password 7 0822455D0A16",
        "username admin privilege 15 password 7 <removed>",
    ),
    (" key-string 7 070C285F4D06", " key-string 7 <removed>"),
    (" ip ospf authentication-key 7 110A1016141D", " ip ospf authentication-key 7 <removed>"),
    ("ntp authentication-key 1 md5 NtpK3y 7", "ntp authentication-key 1 md5 <removed> 7"),
    (" ip nhrp authentication DmvpnK", " ip nhrp authentication <removed>"),
    (
        "tacacs-server host 10.9.9.9 key 7 045802150C2E",
        "tacacs-server host 10.9.9.9 key 7 <removed>",
    ),
    (" key 7 045802150C2E", " key 7 <removed>"),
    ("snmp-server community Publ1cRO RO", "snmp-server community <removed> RO"),
    # ASA
    (" ikev1 pre-shared-key AsaV1-Key", " ikev1 pre-shared-key <removed>"),
    (
        " ikev2 local-authentication pre-shared-key AsaV2-Local",
        " ikev2 local-authentication pre-shared-key <removed>",
    ),
    (
        " ikev2 remote-authentication pre-shared-key hex 0a0b0c0d",
        " ikev2 remote-authentication pre-shared-key hex <removed>",
    ),
    ("tunnel-group 198.51.100.7 ipsec-attributes", "tunnel-group 198.51.100.7 ipsec-attributes"),
    (" pre-shared-key TgKey-99", " pre-shared-key <removed>"),
    ("enable password 8Ry2YjIyt7RRXU24 encrypted", "enable password <removed> encrypted"),
    ("passwd 2KFQnbNIdI.2KYOU encrypted", "passwd <removed> encrypted"),
    # not secrets: stay as they are
    ("crypto isakmp policy 10", "crypto isakmp policy 10"),
    (" authentication pre-share", " authentication pre-share"),
    ("key chain EIGRP-KEYS", "key chain EIGRP-KEYS"),
    (" key 1", " key 1"),
]
SWANCTL = [
    ("secrets {", "secrets {"),
    ("    ike-site-b {", "    ike-site-b {"),
    ("        id = site-b.example.net", "        id = site-b.example.net"),
    ('        secret = "swan Psk with spaces"', "        secret = <removed>"),
    ("    }", "    }"),
    ("    eap-carol {", "    eap-carol {"),
    ("        secret = 0sFpZAZqEN6Ti9sqt4ZP5EWcqx", "        secret = <removed>"),
    ("    }", "    }"),
    ("}", "}"),
]
IPSEC_SECRETS = [
    ('@west @east : PSK "libreswan shared key"', "@west @east : PSK <removed>"),
    ("10.0.0.1 10.0.0.2 : PSK 0x6c69627265737761", "10.0.0.1 10.0.0.2 : PSK <removed>"),
    ('carol : XAUTH "carol-pw"', "carol : XAUTH <removed>"),
    (': RSA moonKey.pem "key passphrase"', ": RSA moonKey.pem <removed>"),
    (
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----<removed>-----END PRIVATE KEY-----",
    ),
]
PEM_BODY = "MC4CAQAwBQYDK2VwBCIEIHb1tT0qYkqVfxqJ0kcbCz9l3BvyxzG3NlGNw2xWwRpE"


def text(pairs: list[tuple[str, str]], side: int) -> str:
    return "".join(pair[side] + "\n" for pair in pairs)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cisco_secrets_are_removed_and_files_are_private(known_file: Path, tmp_path: Path) -> None:
    config = text(CISCO, 0)
    server = IosServer(address="127.0.0.44", outputs={"show running-config": config})
    raw = tmp_path / "saved" / "raw"  # two folders ipsecctl creates
    with server:
        trust(known_file, server.address, server.port, server.host_key)
        session = open_session(
            ios_params(server, known_file),
            get_platform("cisco_ios"),
            known_hosts=isolated_known(known_file),
        )
        with RawRecorder(raw, session) as recorder:
            assert recorder.send("show running-config") == config  # the caller sees it all
    saved = raw / "rtr-01" / "show_running_config.txt"
    assert saved.read_text() == text(CISCO, 1)
    assert mode(saved) == 0o600 and mode(raw / "rtr-01" / "meta.json") == 0o600
    assert mode(raw / "rtr-01") == 0o700 and mode(raw) == 0o700 and mode(raw.parent) == 0o700
    assert '"secrets": "removed"' in (raw / "rtr-01" / "meta.json").read_text()
    with ReplayRunner(raw, "rtr-01") as replay:
        assert replay.send("show running-config") == text(CISCO, 1)


def test_linux_secret_files_over_an_exec_channel(
    sshd: Sshd, known_file: Path, tmp_path: Path
) -> None:
    pem = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n"
    files = tmp_path / "etc"
    files.mkdir()
    (files / "swanctl.conf").write_text(text(SWANCTL, 0))
    (files / "ipsec.secrets").write_text(text(IPSEC_SECRETS[:-1], 0) + pem)
    trust(known_file, sshd.address, sshd.port, sshd.host_key)
    raw = tmp_path / "raw"
    session = open_session(
        sshd_params(sshd, known_file),
        get_platform("strongswan"),
        known_hosts=isolated_known(known_file),
    )
    with RawRecorder(raw, session) as recorder:
        for name in ("swanctl.conf", "ipsec.secrets"):
            recorder.send(f"cat {files / name}")
    device = raw / "gw-linux"
    saved = {p.name: p for p in device.iterdir() if p.suffix == ".txt"}
    swanctl = saved[command_slug(f"cat {files / 'swanctl.conf'}") + ".txt"]
    assert swanctl.read_text() == text(SWANCTL, 1)
    secrets = next(p for name, p in saved.items() if "secrets" in name)
    assert secrets.read_text() == text(IPSEC_SECRETS[:-1], 1) + IPSEC_SECRETS[-1][1] + "\n"
    assert PEM_BODY not in secrets.read_text()
    assert all(mode(p) == 0o600 for p in saved.values()) and mode(device) == 0o700


def test_secrets_kept_only_when_asked_and_still_private(known_file: Path, tmp_path: Path) -> None:
    config = text(CISCO, 0)
    server = IosServer(address="127.0.0.44", outputs={"show running-config": config})
    with server:
        trust(known_file, server.address, server.port, server.host_key)
        session = open_session(
            ios_params(server, known_file),
            get_platform("cisco_ios"),
            known_hosts=isolated_known(known_file),
        )
        with RawRecorder(tmp_path / "raw", session, keep_secrets=True) as recorder:
            recorder.send("show running-config")
    saved = tmp_path / "raw" / "rtr-01" / "show_running_config.txt"
    assert saved.read_text() == config
    assert mode(saved) == 0o600 and mode(saved.parent) == 0o700
    assert '"secrets": "kept"' in (saved.parent / "meta.json").read_text()


def test_existing_folders_are_tightened_but_parents_left_alone(tmp_path: Path) -> None:
    """An old 0755 device folder is made 0700; a pre-existing --save-raw DIR is not chmodded
    (it could be /tmp or a shared folder), its per-device folders protect the files."""

    class Runner:
        device, platform = "r1", "cisco_ios"

        def send(self, command: str, *, timeout: float | None = None) -> str:
            return "enable secret 5 $1$xyz$abc\n"

        def close(self) -> None:
            pass

    shared = tmp_path / "shared"
    (shared / "r1").mkdir(parents=True)
    os.chmod(shared, 0o755)
    os.chmod(shared / "r1", 0o755)
    old = shared / "r1" / "show_run.txt"
    old.write_text("old")
    os.chmod(old, 0o644)
    RawRecorder(shared, Runner()).send("show run")  # type: ignore[arg-type]
    assert mode(shared) == 0o755 and mode(shared / "r1") == 0o700
    assert mode(old) == 0o600 and old.read_text() == f"enable secret 5 {REMOVED}\n"


@pytest.mark.parametrize(("line", "expected"), CISCO + SWANCTL + IPSEC_SECRETS[:-1])
def test_the_same_function_serves_logs_with_their_mask(line: str, expected: str) -> None:
    assert redact_text(line, mask=REMOVED) == expected
    assert redact_text(line) == expected.replace(REMOVED, "**********")
