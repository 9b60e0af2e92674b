"""Embedded lab: simulated Cisco IOS / IOS-XE routers over real SSH with stateful crypto.

Public API: :func:`start_lab` (background process), :func:`find_lab`, :class:`LabHandle`, and
:class:`Lab` (in-process, for tests). The strongSwan namespace lab lives in ``netns*`` /
``strongswan*`` modules next to these.
"""

from ipsecctl.lab.manage import LabError, LabHandle, default_dir, find_lab, start_lab
from ipsecctl.lab.runtime import Lab, RouterInfo

__all__ = ["Lab", "LabError", "LabHandle", "RouterInfo", "default_dir", "find_lab", "start_lab"]
