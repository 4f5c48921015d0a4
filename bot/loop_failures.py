"""How a polling loop reports its failures without flooding the log during an outage."""

from __future__ import annotations

import logging

from bot.storage.reachability import database_unreachable


class LoopFailures:
    """A database outage is one warning when it begins and one line when the loop works
    again, not a traceback every poll; any other failure is logged with its traceback."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._waiting = False

    def failed(self, error: Exception) -> None:
        if not database_unreachable(error):
            self._log.exception("%s failed", self._what, exc_info=error)
            return
        if not self._waiting:
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            self._log.warning("%s waits for the database: %s", self._what, first_line)
            self._waiting = True

    def succeeded(self) -> None:
        if self._waiting:
            self._log.warning("%s: the database is back", self._what)
            self._waiting = False
