"""Tokens each workspace spent on LLM grading today: the daily budget's ledger.

The database is the record: every graded attempt stores ``tokens_used`` (a fallback
grade stores the tokens its failed LLM call spent), so today's spend is the sum over
the team's attempts graded since midnight UTC, shared by every process.

The database only learns of a grade after the grader returns it, so a burst of
grades could each read the same total and overshoot. The LLM grader therefore
`record`s every call's tokens here the moment the response arrives; those stay in
an in-process counter until the database shows a write after them (an attempt with
tokens graded at or after the moment they were recorded), then the database
carries them. What remains possible is an overshoot by the calls already in flight
(at most ``LLM_CONCURRENCY`` per process) and by other processes' unsaved calls.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.storage.tables import Attempt, utcnow


class SqlTokenLedger:
    """`bot.grading.llm.TokenLedger` over the attempts table, plus the unsaved tokens."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._unsaved: dict[str, list[tuple[datetime, int]]] = {}

    def record(self, team: str, tokens: int) -> None:
        if tokens > 0:
            self._unsaved.setdefault(team, []).append((self._clock(), tokens))

    async def spent_today(self, team: str) -> int:
        now = self._clock()
        midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
        tokens, graded_at = col(Attempt.tokens_used), col(Attempt.graded_at)
        query = sa.select(
            sa.func.coalesce(sa.func.sum(tokens), 0),
            sa.func.max(sa.case((tokens > 0, graded_at))),
        ).where(col(Attempt.team) == team, graded_at >= midnight)
        async with self._sessions() as session:
            saved, last_write = (await session.execute(query)).one()
        last_write = _aware(last_write)
        pending = [
            (at, n)
            for at, n in self._unsaved.get(team, [])
            if at >= midnight and (last_write is None or at > last_write)
        ]
        if pending:
            self._unsaved[team] = pending
        else:
            self._unsaved.pop(team, None)
        return int(saved or 0) + sum(n for _, n in pending)


def _aware(value: object) -> datetime | None:
    """`MAX()` over a UTC column: SQLite hands back a string or a naive datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)
