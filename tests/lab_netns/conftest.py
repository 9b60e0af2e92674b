"""Namespace tests need root, iproute2 and strongSwan: skip without them, fail under CI=true."""

from __future__ import annotations

import os
import shutil

import pytest

from ipsecctl.lab.strongswan import strongswan_missing


def need(*extra_tools: str) -> None:
    missing = strongswan_missing() + [t for t in extra_tools if shutil.which(t) is None]
    if missing:
        msg = f"namespace lab prerequisites missing: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def netns_ok() -> None:
    need()


@pytest.fixture
def netns_tshark_ok() -> None:
    need("tshark", "dumpcap")
