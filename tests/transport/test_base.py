"""ConnectionParams and the CommandRunner protocol."""

from __future__ import annotations

from pathlib import Path

from ipsecctl.platforms import get_platform
from ipsecctl.transport import CommandRunner, ConnectionParams, SshSession, clean_output


def test_repr_hides_secrets_including_nested_jump() -> None:
    jump = ConnectionParams(name="bastion", hostname="127.0.0.20", password="jump-pw-77")
    params = ConnectionParams(
        name="r1",
        hostname="127.0.0.10",
        password="dev-pw-88",
        enable_secret="en-99",
        passphrase="pp-11",
        jump=jump,
        key_filename="k",  # type: ignore[arg-type]
        known_hosts=["kh"],  # type: ignore[arg-type]
    )
    text = repr(params)
    for secret in ("jump-pw-77", "dev-pw-88", "en-99", "pp-11"):
        assert secret not in text and secret not in str(params)
    assert "password=***" in text and "enable_secret=***" in text
    assert params.key_filename == ("k",) and params.known_hosts == (Path("kh"),)
    assert ConnectionParams(name="x", hostname="h").effective_port == 22


def test_ssh_session_is_a_command_runner_without_connecting() -> None:
    params = ConnectionParams(name="r1", hostname="127.0.0.10", use_ssh_config=False)
    session = SshSession(params, get_platform("cisco_ios"))
    assert isinstance(session, CommandRunner)
    assert (session.device, session.platform) == ("r1", "cisco_ios")
    session.close()


def test_clean_output_undoes_terminal_artefacts() -> None:
    erase = "\b" * 9 + " " * 9 + "\b" * 9
    assert clean_output(f"a\r\n{erase}b\r\n\x1b[Kc\r\nxx\r   \rd") == "a\nb\nc\nd"
