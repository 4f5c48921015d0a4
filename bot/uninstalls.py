"""Use cases for a workspace leaving and coming back: uninstall, reinstall, purge.

When Slack says the app was uninstalled from a workspace (or its bot token was
revoked), the Slack layer deletes the installation at once and calls `removed`:
the workspace's schedules are paused, its unsent messages dropped, and the
deletion of all its data is scheduled `ANSWER_RETENTION_DAYS` later (right away
when that is 0: nothing can be done for a workspace the bot has left). Installing
the app again before then cancels the deletion. `run` carries deletions out; it
is safe on any number of replicas (each purge is a set of idempotent deletes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.loop_failures import LoopFailures
from bot.storage import installation_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import utcnow

log = logging.getLogger(__name__)

MAX_SLEEP_SECONDS = 3600.0


class Uninstalls:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        retention_days: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        self._wake = asyncio.Event()

    async def removed(self, team: str, *, reason: str) -> datetime:
        """The app left `team`: stop acting for it and schedule its data's deletion."""
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            removal = await installation_rows.record_removal(
                session, team=team, reason=reason, removed_at=now, purge_after=now + self._retention
            )
            await installation_rows.quiesce_team(session, team=team)
        log.info(
            "workspace %s removed (%s): schedules paused; its data is deleted after %s",
            team,
            reason,
            removal.purge_after.isoformat(timespec="minutes"),
        )
        self._wake.set()
        return removal.purge_after

    async def installed(self, team: str) -> None:
        """The app was installed in `team` (again): a pending deletion is cancelled."""
        async with unit_of_work(self._sessions) as session:
            cancelled = await installation_rows.cancel_removal(session, team=team)
        if cancelled:
            log.info("workspace %s installed again: its data is kept", team)

    async def purge_expired_states(self) -> int:
        """Delete the OAuth install states that expired unused; returns how many."""
        async with unit_of_work(self._sessions) as session:
            return await installation_rows.purge_expired_oauth_states(session, now=self._clock())

    async def stored_bot_token(self, team: str, *, client_id: str) -> str | None:
        """The bot token of `team`'s latest installation as stored (encrypted), or None."""
        async with self._sessions() as session:
            return await installation_rows.latest_bot_token(session, client_id=client_id, team=team)

    async def installation_rows(self, team: str) -> int:
        async with self._sessions() as session:
            return await installation_rows.count_installations(session, team=team)

    async def purge_due(self) -> dict[str, dict[str, int]]:
        """Delete the data of every workspace whose deletion is due; returns counts per team."""
        async with unit_of_work(self._sessions) as session:
            due = await installation_rows.due_removals(session, now=self._clock())
        purged: dict[str, dict[str, int]] = {}
        for team in due:
            async with unit_of_work(self._sessions) as session:
                counts = await installation_rows.purge_team(session, team=team)
            purged[team] = counts
            log.info(
                "workspace %s: data deleted (%s)",
                team,
                ", ".join(f"{name} {n}" for name, n in counts.items() if n) or "nothing left",
            )
        return purged

    async def run(self, stop: asyncio.Event) -> None:
        """Carry out deletions as they fall due, until `stop` is set."""
        failures = LoopFailures(log, "workspace purge pass")
        while not stop.is_set():
            try:
                await self.purge_due()
                async with self._sessions() as session:
                    next_due = await installation_rows.next_removal_due(session)
                failures.succeeded()
            except Exception as exc:
                failures.failed(exc)
                next_due = None
            sleep = MAX_SLEEP_SECONDS
            if next_due is not None:
                sleep = min(sleep, max(1.0, (next_due - self._clock()).total_seconds()))
            self._wake.clear()
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            await asyncio.wait(waiters, timeout=sleep, return_when=asyncio.FIRST_COMPLETED)
            for task in waiters:
                task.cancel()
