"""A secret value that cannot leak through ``repr``/``str``/logging by accident."""

from __future__ import annotations

import hmac

MASK = "**********"


class Secret:
    """Holds a password, enable secret or key; every textual form is the mask.

    Only :meth:`get` returns the value, so a secret reaches a log or an export only if some code
    asks for it by name. Equality is constant-time so comparing secrets leaks no timing.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))
