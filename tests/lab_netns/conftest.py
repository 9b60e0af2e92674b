"""Namespace tests need root, iproute2 and strongSwan: skip without them, fail under CI=true."""

from __future__ import annotations

import shutil

import pytest

from ipsecctl.lab.strongswan import strongswan_missing
from tests.helpers import need


def need_tools(*extra_tools: str) -> None:
    missing = strongswan_missing() + [t for t in extra_tools if shutil.which(t) is None]
    need(not missing, f"namespace lab prerequisites missing: {', '.join(missing)}")


@pytest.fixture
def netns_ok() -> None:
    need_tools()


@pytest.fixture
def netns_tshark_ok() -> None:
    need_tools("tshark", "dumpcap")


@pytest.fixture
def netns_sshd_ok() -> None:
    """strongSwan in namespaces plus an OpenSSH server to expose the gateways as devices."""
    from ipsecctl.lab.sshd_gateway import sshd_missing

    missing = strongswan_missing() + sshd_missing()
    need(not missing, f"namespace lab prerequisites missing: {', '.join(missing)}")
