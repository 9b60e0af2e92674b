"""The namespace-lab prerequisites fixture, shared with tests/lab_netns."""

from tests.lab_netns.conftest import netns_tshark_ok  # noqa: F401
