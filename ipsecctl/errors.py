"""One exception tree for the whole application.

Every error the tool raises on purpose derives from :class:`IpsecctlError`, carries a one-line
message meant for an operator (what failed, on which input, what to do), and maps to an exit
code. The CLI catches the root class and prints ``error: <message>``; anything else is a bug.

::

    IpsecctlError                      exit 1 unless stated
    ├── UsageError                     exit 2  bad arguments or options
    │   ├── InventoryError             exit 2  unreadable/invalid inventory (file, line, field)
    │   └── InputFileError             exit 2  unreadable or unusable input file
    ├── TransportError                 exit 1  anything between us and a device's CLI
    │   ├── ConnectError                       unreachable, refused, DNS
    │   ├── TimeoutError_                      a wait ran out (connect, banner, auth, command)
    │   ├── AuthenticationError                credentials refused
    │   ├── HostKeyError                       unknown (policy reject) or changed host key
    │   ├── AlgorithmError                     no common SSH algorithm (see the legacy extra)
    │   ├── OutOfStepError                     the shell's output no longer lines up with
    │   │                                      the commands sent (the session is reset)
    │   ├── OutputTooLargeError                a command's output passed the size limit
    │   └── CommandRejected                    the device printed a failure indicator
    ├── ParseError                     exit 1  device output we do not recognise
    ├── ActionError                    exit 1  an action ran but did not verify
    ├── StoreError                     exit 1  the history database is unreachable or refused
    └── RefusedError                   exit 4  read-only, declined, or confirmation impossible

``parsers.ParseError`` is re-raised as :class:`ParseError` at the boundary because ``parsers``
imports nothing from ``ipsecctl``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_OPERATIONAL = 1
EXIT_USAGE = 2
EXIT_PROBLEM = 3
EXIT_REFUSED = 4


class IpsecctlError(Exception):
    """Root of every deliberate error; ``str()`` is the operator-facing one-liner."""

    exit_code = EXIT_OPERATIONAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(IpsecctlError):
    exit_code = EXIT_USAGE


class InventoryError(UsageError):
    pass


class InputFileError(UsageError):
    pass


class TransportError(IpsecctlError):
    """Failure talking to a device; ``device`` names it when known."""

    kind = "transport"

    def __init__(self, message: str, *, device: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.device = device


class ConnectError(TransportError):
    kind = "unreachable"


class TimeoutError_(TransportError):
    kind = "timeout"


class AuthenticationError(TransportError):
    kind = "auth"


class HostKeyError(TransportError):
    kind = "host_key"


class AlgorithmError(TransportError):
    kind = "algorithm"


class OutOfStepError(TransportError):
    kind = "out_of_step"


class OutputTooLargeError(TransportError):
    kind = "too_large"


class CommandRejected(TransportError):
    kind = "rejected"

    def __init__(
        self, message: str, *, device: str | None = None, command: str | None = None
    ) -> None:
        super().__init__(message, device=device)
        self.command = command


class ParseError(IpsecctlError):
    kind = "parse"


class ActionError(IpsecctlError):
    pass


class StoreError(IpsecctlError):
    """The history database (a PostgreSQL server) could not be reached or refused a query."""


class RefusedError(IpsecctlError):
    exit_code = EXIT_REFUSED
