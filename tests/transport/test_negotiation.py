"""A peer that hangs during SSH negotiation: the error says which phase ran out of time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipsecctl.errors import TimeoutError_
from ipsecctl.transport import ConnectionParams, KnownHosts, Timeouts
from ipsecctl.transport.client import open_client

ADDR = "127.0.0.34"


@pytest.fixture(params=["silent", "banner only"])
def hung_peer(request: pytest.FixtureRequest) -> Iterator[tuple[str, int, str]]:
    """Accepts TCP; then says nothing, or sends an SSH banner and nothing more."""
    listener = socket.socket()
    listener.bind((ADDR, 0))
    listener.listen(4)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            if request.param == "banner only":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield ADDR, int(listener.getsockname()[1]), request.param
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_negotiation_timeout_names_the_phase(
    hung_peer: tuple[str, int, str], tmp_path: Path
) -> None:
    address, port, kind = hung_peer
    params = ConnectionParams(
        name="r02",
        hostname=address,
        port=port,
        username="admin",
        password="pw",
        use_agent=False,
        use_ssh_config=False,
        timeouts=Timeouts(connect=1.5, banner=5, auth=5, command=5, overall=20),
    )
    started = time.monotonic()
    with pytest.raises(TimeoutError_) as err:
        open_client(params, known=KnownHosts([tmp_path / "kh"], system=()))
    assert time.monotonic() - started < 4
    where = f"r02 at {address}:{port}"
    if kind == "silent":
        assert str(err.value).startswith(f"{where} sent no SSH banner within 1.5 s;")
    else:
        assert str(err.value).startswith(f"{where} did not finish the SSH key exchange within")
    assert "No existing session" not in str(err.value)
