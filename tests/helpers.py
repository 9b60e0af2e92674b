"""Helpers shared by test packages (fixtures stay in each package's conftest.py)."""

from __future__ import annotations

import os

import pytest


def need(condition: bool, reason: str) -> None:
    """Skip when a prerequisite (root, sshd, strongSwan, tshark) is missing; under CI=true that
    is a failure instead, so CI can never pass by skipping what it was set up to run."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"prerequisite missing under CI: {reason}")
    pytest.skip(reason)
