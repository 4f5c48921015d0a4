"""Who holds a lease: every running process is a `LeaseOwner` row with a heartbeat.

A process registers on start and beats every HEARTBEAT_SECONDS. Its claims (answers to
grade, messages to send) name it as their owner. Another process takes an owner's work
over once that owner's heartbeat is OWNER_TIMEOUT_SECONDS old - it was killed, or its
machine is gone - and never while it beats, however long its lease says. A graceful
stop removes the owner, so whatever it still held is taken over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.loop_failures import LoopFailures
from bot.storage import owner_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import utcnow

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
# Longer than the longest the event loop may be held (a SQLite write waiting for another
# process's lock: 5 s), short enough that a dead process's work resumes within seconds.
OWNER_TIMEOUT_SECONDS = 6.0
# Rows of owners dead this long are removed when a process starts.
FORGET_OWNERS_AFTER = timedelta(hours=1)


class Liveness:
    """This process as a lease owner: its id, its heartbeat, and when others are dead."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.id = str(uuid.uuid4())
        self._beat_at: float | None = None  # monotonic time of the last recorded beat

    def dead_before(self) -> datetime:
        """An owner whose last heartbeat is older than this is dead."""
        return utcnow() - timedelta(seconds=OWNER_TIMEOUT_SECONDS)

    def fresh(self) -> bool:
        """Whether this process's heartbeat is recent enough that no other process can
        think it dead while it starts a post (half the timeout left)."""
        return (
            self._beat_at is not None
            and time.monotonic() - self._beat_at < OWNER_TIMEOUT_SECONDS / 2
        )

    async def start(self) -> None:
        """Register this process (and drop owners long dead)."""
        now = utcnow()
        async with unit_of_work(self._sessions) as session:
            await owner_rows.forget_owners(session, before=now - FORGET_OWNERS_AFTER)
            await self._register(session, now)
        self._beat_at = time.monotonic()

    async def _register(self, session: AsyncSession, now: datetime) -> None:
        await owner_rows.add_owner(
            session, owner=self.id, host=socket.gethostname(), pid=os.getpid(), now=now
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until `stop` is set."""
        failures = LoopFailures(log, "heartbeat")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=HEARTBEAT_SECONDS)
            if stop.is_set():
                break
            started = time.monotonic()
            try:
                async with unit_of_work(self._sessions) as session:
                    now = utcnow()
                    if not await owner_rows.beat(session, owner=self.id, now=now):
                        await self._register(session, now)  # removed while it was away
            except Exception as exc:
                failures.failed(exc)
                continue
            failures.succeeded()
            self._beat_at = started

    async def retire(self) -> None:
        """A graceful stop: whatever this process still holds is free at once."""
        try:
            async with unit_of_work(self._sessions) as session:
                await owner_rows.remove_owner(session, owner=self.id)
        except Exception:
            log.exception("could not remove this process's lease owner row")
        self._beat_at = None
