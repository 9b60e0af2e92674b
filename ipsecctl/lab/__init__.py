"""Embedded lab: simulated Cisco IOS / IOS-XE routers and ASA firewalls over real SSH with
stateful crypto driven by their configuration, plus real strongSwan and libreswan gateways in
network namespaces (``real=True``).

Public API: :func:`start_lab` (background process), :func:`find_lab`, :func:`list_labs`,
:func:`clean_stale`, :class:`LabHandle`, :class:`Lab` (in-process, for tests) and the one error
class :class:`LabError`.
"""

from ipsecctl.lab.errors import LabError
from ipsecctl.lab.manage import (
    LabHandle,
    clean_stale,
    default_dir,
    find_lab,
    list_labs,
    start_lab,
)
from ipsecctl.lab.runtime import Lab, RouterInfo

__all__ = [
    "Lab",
    "LabError",
    "LabHandle",
    "RouterInfo",
    "clean_stale",
    "default_dir",
    "find_lab",
    "list_labs",
    "start_lab",
]
