"""Answer retention: answers (to drills and to spaced reviews) older than
ANSWER_RETENTION_DAYS are deleted, hourly."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.polling import PollingLoop
from bot.storage import attempt_rows, calibration_rows, review_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import utcnow

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600


class Retention:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, days: int) -> None:
        self._sessions = sessions
        self._days = days

    async def purge(self) -> int:
        """Delete the answers older than the retention period; how many."""
        if self._days <= 0:
            return 0
        cutoff = utcnow() - timedelta(days=self._days)
        async with unit_of_work(self._sessions) as session:
            removed = await attempt_rows.delete_attempts_before(session, cutoff)
            # Verdicts on those answers and paired ratings of that age go with them.
            await calibration_rows.delete_expired(session, cutoff)
            # Spaced review's micro-drills keep their answers too.
            return removed + await review_rows.delete_reviews_before(session, cutoff)

    def loop(self) -> PollingLoop:
        return PollingLoop(
            "retention pass", self.purge, interval=INTERVAL_SECONDS, done=self._report
        )

    def _report(self, removed: int) -> None:
        log.info("retention: deleted %d answers older than %d days", removed, self._days)
