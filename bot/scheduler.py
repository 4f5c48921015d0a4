"""The APScheduler wiring: scheduled drills fire once, whatever the processes.

The database is the source of truth. Every process runs an `AsyncIOScheduler`
with in-memory jobs rebuilt from the `schedule` table (stable job ids,
`CronTrigger` in the schedule's zoneinfo timezone). A fire first *claims*
`(schedule_id, fire_time)` with a unique row, so two processes, a restart mid-fire
or a catch-up never post twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.loop_failures import LoopFailures
from bot.schedule import claim_key, last_fire, limit_of, skip_dates, trigger_for, zone
from bot.storage import schedule_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import Schedule, utcnow
from bot.use_cases import UseCases

log = logging.getLogger(__name__)

RESYNC_SECONDS = 60
JOBS_PER_TURN = 100  # APScheduler jobs added between turns of the loop


class DrillScheduler:
    """Keeps APScheduler's jobs in step with the database and turns fires into prompts."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        use: UseCases,
        grace: timedelta,
        digest_day: str = "fri",
        digest_time: str = "16:00",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._use = use
        self._grace = grace
        self._clock = clock
        self._digest_day = digest_day
        self._digest_hour, self._digest_minute = (int(x) for x in digest_time.split(":"))
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": max(1, int(grace.total_seconds())),
            },
        )
        self._resync_task: asyncio.Task[None] | None = None
        self._catch_up_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Build the jobs and start (needs a running loop); catch up on missed fires meanwhile.

        The catch-up runs in the background so a long list of missed fires does not hold
        back readiness (/healthz) or Slack's requests; claims keep it from doubling a job.
        """
        # First, so missed fires go out while the jobs are built (a claim per fire keeps a
        # job and the catch-up from both posting it).
        self._catch_up_task = asyncio.create_task(self._catch_up_logged(), name="schedule-catch-up")
        await self.sync()
        self._scheduler.start()
        self._resync_task = asyncio.create_task(self._resync_forever(), name="schedule-resync")

    async def _catch_up_logged(self) -> None:
        try:
            posted = await self.catch_up()
        except Exception:
            log.exception("schedule catch-up failed")
            return
        if posted:
            log.info("catch-up: posted %d missed scheduled drill(s)", posted)

    def shutdown(self) -> None:
        for task in (self._resync_task, self._catch_up_task):
            if task is not None:
                task.cancel()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def request_sync(self) -> None:
        """Called after a change made in this process; other processes resync periodically."""
        if self._scheduler.running:
            asyncio.get_running_loop().create_task(self.sync())

    async def sync(self) -> None:
        async with unit_of_work(self._sessions) as session:
            schedules = list(await schedule_rows.active_schedules(session))
            channels = await schedule_rows.scheduled_channels(session)
        wanted = {f"schedule:{s.id}" for s in schedules}
        wanted |= {f"digest:{team}:{channel}" for team, channel, _ in channels}
        for job in self._scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        for i, schedule in enumerate(schedules):
            if i % JOBS_PER_TURN == JOBS_PER_TURN - 1:
                await asyncio.sleep(0)  # thousands of jobs take a while: let requests in
            self._scheduler.add_job(
                self.fire,
                trigger_for(schedule),
                id=f"schedule:{schedule.id}",
                kwargs={"schedule_id": schedule.id},
                replace_existing=True,
            )
        for team, channel, tz in channels:
            # The weekly digest of every channel with a schedule, in that schedule's timezone.
            self._scheduler.add_job(
                self.post_digest,
                CronTrigger(
                    day_of_week=self._digest_day,
                    hour=self._digest_hour,
                    minute=self._digest_minute,
                    timezone=zone(tz),
                ),
                id=f"digest:{team}:{channel}",
                kwargs={"team": team, "channel": channel},
                replace_existing=True,
            )

    async def post_digest(self, team: str, channel: str) -> bool:
        """A digest job ran; the outbox's dedupe key makes it post once per channel and week."""
        return await self._use.reports.post_digest(team=team, channel=channel, now=self._clock())

    def jobs(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    async def _resync_forever(self) -> None:
        failures = LoopFailures(log, "schedule resync")
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            try:
                await self.sync()
                failures.succeeded()
            except Exception as exc:
                failures.failed(exc)

    async def fire(self, schedule_id: int) -> bool:
        """A job ran: post the prompt for the most recent scheduled time, once."""
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            schedule = await schedule_rows.get_schedule_by_id(session, schedule_id)
        if schedule is None or schedule.paused:
            return False
        fire_time = last_fire(schedule, now)
        if fire_time is None or now - fire_time > self._grace:
            log.warning(
                "schedule %s: no fire within the grace window at %s; skipped", schedule_id, now
            )
            return False
        return await self._post(schedule, fire_time)

    async def catch_up(self) -> int:
        """Post fires missed while the bot was down, if they are within the grace window."""
        now = self._clock()
        posted = 0
        async with unit_of_work(self._sessions) as session:
            schedules = list(await schedule_rows.active_schedules(session))
        for schedule in schedules:
            fire_time = last_fire(schedule, now)
            if fire_time is None or fire_time < schedule.created_at:
                continue
            if now - fire_time > self._grace:
                async with unit_of_work(self._sessions) as session:
                    claimed = await schedule_rows.has_run(
                        session,
                        schedule_id=int(schedule.id or 0),
                        fire_time=claim_key(schedule, fire_time),
                    )
                if not claimed:
                    log.info(
                        "schedule %s: missed the %s fire by more than the grace window; skipped",
                        schedule.id,
                        fire_time.isoformat(),
                    )
                continue
            posted += await self._post(schedule, fire_time)
        return posted

    async def _post(self, schedule: Schedule, fire_time: datetime) -> bool:
        key = claim_key(schedule, fire_time)
        skipped = fire_time.astimezone(zone(schedule.tz)).date() in skip_dates(schedule)
        asked = await self._use.asking.ask_scheduled(
            team=schedule.team,
            channel=schedule.channel,
            schedule_id=int(schedule.id or 0),
            fire_time=key,
            skip=skipped,
            limit=limit_of(schedule),
        )
        return asked is not None
