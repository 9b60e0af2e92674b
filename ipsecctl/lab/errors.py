"""The lab's one error class.

Every lab failure (a router that cannot bind, a namespace that cannot be built, a daemon that
does not start, a lab directory that is unreadable) is a :class:`LabError`: one class for the
simulated fleet and the real gateways alike, so callers catch one thing and the CLI maps it to
exit 1 like any :class:`~ipsecctl.errors.IpsecctlError`.
"""

from __future__ import annotations

from ipsecctl.errors import IpsecctlError


class LabError(IpsecctlError):
    """The lab could not be started, found, driven or stopped."""
