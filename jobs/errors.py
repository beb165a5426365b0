"""The one error base of runs and sweeps.

``JobError`` is the user's problem, worded for them: a spec that cannot run, missing
candles, a bad override. A job that meets one ends ``failed`` with its message.
Anything else a job raises is a bug or an outage: the job ends ``errored`` and the
exception goes to the log with its traceback.
"""

from __future__ import annotations

from typing import Any


class JobError(Exception):
    """A run or sweep cannot be created, changed or run; ``errors`` maps a field path
    (``market.start``, ``spec``) to messages for API clients."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.errors = errors or {}

    def as_dict(self) -> dict[str, Any]:
        return {"detail": str(self), **({"errors": self.errors} if self.errors else {})}
