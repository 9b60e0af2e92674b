"""Sessions offer AES-GCM first (one authenticated cipher call per packet: less client CPU on
every poll) and still agree with a device that offers only CTR ciphers."""

from __future__ import annotations

from pathlib import Path

from ipsecctl.transport import SshSession

from .conftest import trusted_ios_session
from .ios_server import ISAKMP_SA, IosServer

ADDR = "127.0.0.47"


def _cipher(session: SshSession) -> str:
    client = session._client
    assert client is not None
    transport = client.get_transport()
    assert transport is not None
    return str(transport.local_cipher)


def test_aes_gcm_when_the_device_offers_it(known_file: Path) -> None:
    with IosServer(address=ADDR) as server:
        session = trusted_ios_session(server, known_file)
        try:
            assert _cipher(session) == "aes128-gcm@openssh.com"
            assert session.send("show crypto isakmp sa") == ISAKMP_SA
        finally:
            session.close()


def test_ctr_with_a_device_that_has_no_gcm(known_file: Path) -> None:
    with IosServer(address=ADDR, ciphers=("aes256-ctr", "aes128-cbc")) as server:
        session = trusted_ios_session(server, known_file)
        try:
            assert _cipher(session) == "aes256-ctr"
            assert session.send("show crypto isakmp sa") == ISAKMP_SA
        finally:
            session.close()
