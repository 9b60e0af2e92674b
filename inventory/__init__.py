"""Inventory: nornir SimpleInventory files -> resolved :class:`Host` objects.

Imports nothing from ``ipsecctl`` so it can be reused (and tested) on its own. Entry points:
:func:`find_inventory` (where), :func:`load_inventory` (read, validate, resolve) and
:meth:`Inventory.select` (which hosts a command targets). See ``loader`` for inheritance and
credential precedence, ``schema`` for the accepted keys, ``examples/`` for inventories.
"""

from inventory.errors import InventoryError
from inventory.loader import ENV_CREDENTIALS, ENV_INVENTORY, find_inventory, load_inventory
from inventory.model import Host, Inventory
from inventory.schema import PlatformNames, canonical_platform
from inventory.secret import MASK, Secret

__all__ = [
    "ENV_CREDENTIALS",
    "ENV_INVENTORY",
    "MASK",
    "Host",
    "Inventory",
    "InventoryError",
    "PlatformNames",
    "Secret",
    "canonical_platform",
    "find_inventory",
    "load_inventory",
]
