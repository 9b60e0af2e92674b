"""Inventory: nornir SimpleInventory files -> resolved :class:`Host` objects.

Imports nothing from ``ipsecctl`` so it can be reused (and tested) on its own. Entry points:
:func:`find_inventory` (where), :func:`load_inventory` (read, validate, resolve) and
:meth:`Inventory.select` (which hosts a command targets). See ``loader`` for inheritance and
credential precedence, ``schema`` for the accepted keys, ``examples/`` for inventories.
"""

from typing import TYPE_CHECKING, Any

from inventory.errors import InventoryError
from inventory.model import Host, Inventory
from inventory.secret import MASK, Secret

if TYPE_CHECKING:
    from inventory.loader import ENV_CREDENTIALS, ENV_INVENTORY, find_inventory, load_inventory
    from inventory.schema import PlatformNames, canonical_platform

#: names whose modules (the YAML reader among them) load when first used: a program that
#: only handles hosts (replayed outputs, saved states) never reads an inventory file
_LAZY = {
    "ENV_CREDENTIALS": "inventory.loader",
    "ENV_INVENTORY": "inventory.loader",
    "find_inventory": "inventory.loader",
    "load_inventory": "inventory.loader",
    "PlatformNames": "inventory.schema",
    "canonical_platform": "inventory.schema",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'inventory' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
