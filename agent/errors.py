"""The one exception hierarchy of opsmedic.

    OpsmedicError                 anything opsmedic raises on purpose; the CLI prints its message, no traceback
    ├── ConfigError               settings, policy, runbook or catalog files that cannot be used
    ├── StoreUnavailable          the incident store cannot be written now; callers retry (the webhook says 503)
    ├── NotFound                  an incident, approval or record that does not exist
    └── InvalidRequest            input from a user or a peer that breaks a contract (HTTP 400, CLI usage)

Expected failures of read-only tools are not exceptions: they are results with a status (see `tools.result`).
"""

from __future__ import annotations


class OpsmedicError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class ConfigError(OpsmedicError, ValueError):
    """A configuration file or setting is malformed; the message names the file, line and field."""


class StoreUnavailable(OpsmedicError):
    """The store could not be written (locked, full, unreachable). Nothing was recorded; try again."""


class NotFound(OpsmedicError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain message
        return str(self.args[0]) if self.args else "not found"


class InvalidRequest(OpsmedicError, ValueError):
    """Input that breaks a contract; the message names the problem."""
