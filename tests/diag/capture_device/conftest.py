"""A lab of simulated routers for the device captures, and the ``ipsecctl`` runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ipsecctl.lab import Lab
from tests.helpers import CliRun, run_cli
from tests.lab_netns.conftest import netns_sshd_ok, netns_tshark_ok  # noqa: F401


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("capture-lab")
    with Lab(directory, devices=12, seed=1, time_scale=20.0) as running:
        yield running


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., CliRun]:
    def run(*args: str, timeout: float = 120) -> CliRun:
        return run_cli(*args, home=tmp_path / "home", timeout=timeout)

    return run
