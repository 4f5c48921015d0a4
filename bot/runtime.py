"""The composition root: builds every part from Settings and runs them on one loop.

Nothing is built at import time. `Runtime.start()` migrates the database and
starts the grading worker and the outbox sender; `serve_http()` / `serve_socket()`
add the Slack listener; `stop()` shuts down gracefully (stop taking requests,
finish the current pass, close connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config import Settings
from bot.dashboard import Dashboards
from bot.drills import Drills
from bot.foreground import Foreground
from bot.grading.grade import Grader
from bot.grading.rubric import RubricGrader
from bot.grading.worker import ProcessGrader
from bot.liveness import Liveness
from bot.loop_failures import LoopFailures
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.questions import QuestionBank, load_bank
from bot.schedule import DrillScheduler, Schedules
from bot.slack.app import ACK_PATH_TIMEOUT_SECONDS, build_app, build_client, web_api_session
from bot.slack.blocks import FullRenderer
from bot.slack.installs import build_installs
from bot.slack.poster import SlackPoster
from bot.slack.schedule_blocks import ScheduleMessages
from bot.storage.db import make_engine, make_sessionmaker, migrate_to_head, ping
from bot.storage.ledger import SqlTokenLedger
from bot.storage.spool import Spool
from bot.teamlead import TeamLead
from bot.web import build_web
from bot.workspaces import Workspaces

if TYPE_CHECKING:
    from bot.grading.llm import TokenLedger

log = logging.getLogger(__name__)


def build_grader(
    settings: Settings,
    bank: QuestionBank,
    *,
    metrics: Metrics | None = None,
    ledger: TokenLedger | None = None,
    daily_budget: int | None = None,
    processes: int = 0,
) -> Grader:
    """The rubric grader (in `processes` worker processes if above 0), or the LLM grader
    with the rubric grader as its fallback."""
    rubric = RubricGrader(bank)
    if settings.effective_grader != "llm":
        return ProcessGrader(bank, processes=processes) if processes > 0 else rubric
    if settings.openai_api_key is None:
        log.warning("GRADER=llm needs OPENAI_API_KEY; using the rubric grader")
        return rubric
    from bot.grading.llm import FallbackGrader, LLMGrader, make_client  # openai only when used

    client = make_client(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
    )
    llm = LLMGrader(
        bank,
        client=client,
        model=settings.openai_model,
        timeout=settings.openai_timeout_seconds,
        concurrency=settings.llm_concurrency,
        daily_budget=settings.llm_daily_token_budget if daily_budget is None else daily_budget,
        ledger=ledger,
        metrics_hook=metrics.llm_tokens.inc if metrics is not None else None,
    )
    return FallbackGrader(llm, rubric)


class Runtime:
    def __init__(self, settings: Settings, bank: QuestionBank | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.bank = bank or load_bank(settings.resolved_rubrics_dir())
        self.engine = make_engine(settings.async_database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.client = build_client(settings)
        self.workspaces = Workspaces(
            sessions=self.sessions, retention_days=settings.answer_retention_days
        )
        self.installs = build_installs(settings, engine=self.engine, workspaces=self.workspaces)
        self.liveness = Liveness(self.sessions)
        self.poster = SlackPoster(self.client, self.installs.token_for)
        self.outbox = Outbox(
            sessions=self.sessions,
            poster=self.poster,
            metrics=self.metrics,
            poll_seconds=settings.outbox_poll_seconds,
            lease_seconds=settings.lease_seconds,
            owner=self.liveness,
        )
        self._grade_wake = asyncio.Event()
        self.grader = build_grader(
            settings,
            self.bank,
            metrics=self.metrics,
            ledger=SqlTokenLedger(self.sessions),
            processes=settings.grading_processes,
        )
        self.foreground = Foreground(max_wait=self._give_way_seconds())
        self.drills = Drills(
            bank=self.bank,
            sessions=self.sessions,
            grader=self.grader,
            renderer=FullRenderer(),
            metrics=self.metrics,
            on_answer=self._grade_wake.set,
            on_message=self.outbox.wake,
            lease_seconds=settings.lease_seconds,
            mock_followups=settings.mock_followups,
            give_way=self.foreground.give_way,
            spool=Spool(settings.spool_path),
            owner=self.liveness,
        )
        self.scheduler = DrillScheduler(
            sessions=self.sessions,
            drills=self.drills,
            grace=settings.schedule_grace,
            digest_day=settings.digest_day,
            digest_time=settings.digest_time,
        )
        self.schedules = Schedules(
            self.sessions,
            on_change=self.scheduler.request_sync,
            bank=self.bank,
            renderer=ScheduleMessages(),
            on_message=self.outbox.wake,
        )
        self.bolt = build_app(
            settings,
            self.drills,
            self.schedules,
            self.client,
            installs=self.installs,
            teamlead=TeamLead(drills=self.drills, sessions=self.sessions),
            dashboards=Dashboards(drills=self.drills, sessions=self.sessions),
        )
        self.web = build_web(
            bolt=self.bolt,
            health=self.health,
            metrics=self.metrics,
            max_body_bytes=settings.max_body_bytes,
            foreground=self.foreground,
            signing_secret=(
                settings.slack_signing_secret.get_secret_value()
                if settings.slack_signing_secret
                else None
            ),
        )
        self.web.add_routes(self.installs.routes(self.bolt))  # OAuth install (multi-workspace)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._warm_task: asyncio.Task[None] | None = None
        self._ready = False
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def health(self) -> dict[str, str] | None:
        """None until started (and while the database is unreachable); then what /healthz shows.

        `rubrics` says whether the background compile has finished: until it has, a first
        answer to a question compiles that question's rubric itself (slower, still correct).
        """
        if not (self._ready and await ping(self.engine)):
            return None
        warming = self._warm_task is not None and not self._warm_task.done()
        return {"rubrics": "compiling" if warming else "ready"}

    def _give_way_seconds(self) -> float:
        """How long background work waits for Slack's requests in flight (foreground.py).
        The wait is for work that holds the event loop: grading in this process, and SQLite,
        whose statements run on the loop. On PostgreSQL with a grading worker, claiming and
        recording are awaited I/O that requests go on around, so a long wait only slows
        grading: there, 10 ms instead of 50 took a 500-answer burst's last reply from 1.36-1.38
        to 1.24-1.26 s after its first answer (medians of 8 runs; BENCHMARKS.md)."""
        holds_loop = self.engine.dialect.name == "sqlite" or not isinstance(
            self.grader, ProcessGrader
        )
        return 0.05 if holds_loop else 0.01

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            await migrate_to_head(self.engine, self.settings.async_database_url)
        self._stop.clear()
        await self.liveness.start()
        # Every Web API call is bounded: those made for Slack's requests (Bolt's auth.test,
        # then listeners' calls after the ack) within the ack's 3 s, the outbox's posts by
        # SLACK_TIMEOUT_SECONDS.
        timeout = self.settings.web_api_timeout
        if self.client.session is None or self.client.session.closed:
            self.client.session = web_api_session(min(timeout, ACK_PATH_TIMEOUT_SECONDS))
        if self.poster.session is None or self.poster.session.closed:
            self.poster.session = web_api_session(timeout)
        # Compile the rubrics in a thread (or the worker processes), so no first answer
        # blocks the loop (and acks) on it.
        for grader in (self.grader, getattr(self.grader, "fallback", None)):
            if isinstance(grader, ProcessGrader):
                self._warm_task = asyncio.create_task(grader.warm(), name="warm-rubrics")
            elif isinstance(grader, RubricGrader):
                self._warm_task = asyncio.create_task(
                    asyncio.to_thread(grader.warm), name="warm-rubrics"
                )
        # One grading pass at a time in this process, or one more than there are worker
        # processes: while a batch is graded, the next is claimed and the last recorded.
        passes = 1 + (self.grader.processes if isinstance(self.grader, ProcessGrader) else 0)
        grading_failures = LoopFailures(log, "grading")  # the passes report an outage once
        self._tasks = [
            asyncio.create_task(self.liveness.run(self._stop), name="heartbeat"),
            *(
                asyncio.create_task(self._grading_loop(grading_failures), name="grading")
                for _ in range(passes)
            ),
            asyncio.create_task(self.outbox.run(self._stop), name="outbox"),
            asyncio.create_task(self._spool_loop(), name="spool"),
        ]
        await self.scheduler.start()
        self._tasks.append(asyncio.create_task(self.workspaces.run(self._stop), name="workspaces"))
        if self.settings.answer_retention_days:
            self._tasks.append(asyncio.create_task(self._retention_loop(), name="retention"))
        self._ready = True
        log.info(
            "ready: %d questions, grader %s, database %s",
            len(self.bank.questions),
            self.settings.effective_grader,
            self.settings.async_database_url.split(":", 1)[0],
        )

    async def serve_http(self, host: str | None = None, port: int | None = None) -> int:
        """Listen for Slack on HOST:PORT; returns the bound port (0 picks a free one)."""
        self._runner = web.AppRunner(self.web, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            host if host is not None else self.settings.host,
            port if port is not None else self.settings.port,
        )
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.settings.port
        log.info("listening on http://%s:%s (POST /slack/events)", self.settings.host, self.port)
        return self.port

    async def stop(self) -> None:
        """Graceful: stop taking requests, let workers finish their pass, close everything."""
        self._ready = False
        if self._warm_task is not None:
            # The warm-up only compiles: a stop need not wait for it (a thread finishes on
            # its own; the workers stop with the grader).
            self._warm_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warm_task
            self._warm_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._stop.set()
        self._grade_wake.set()
        self.scheduler.shutdown()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
            self._tasks = []
        await self.liveness.retire()
        close_grader = getattr(self.grader, "aclose", None)
        if close_grader is not None:
            await close_grader()
        for session in (self.client.session, self.poster.session):
            if session is not None and not session.closed:
                await session.close()
        await self.engine.dispose()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()

    async def _grading_loop(self, failures: LoopFailures) -> None:
        while not self._stop.is_set():
            # Cleared before the pass, not after: an answer stored during a pass that found
            # nothing sets it again, so the wait below returns at once.
            self._grade_wake.clear()
            try:
                graded = await self.drills.grade_pending()
                failures.succeeded()
            except Exception as exc:
                failures.failed(exc)
                graded = 0
            if graded:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._grade_wake.wait(), timeout=self.settings.outbox_poll_seconds
                )

    async def _spool_loop(self) -> None:
        """Store the answers spooled while the database was away, as soon as it is back."""
        failures = LoopFailures(log, "storing spooled answers")
        while not self._stop.is_set():
            try:
                stored = 1
                while stored:  # a batch at a time, until the spool is empty
                    stored = await self.drills.drain_spool()
                failures.succeeded()
            except Exception as exc:
                failures.failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.outbox_poll_seconds)

    async def _retention_loop(self) -> None:
        while not self._stop.is_set():
            try:
                removed = await self.drills.purge_older_than(self.settings.answer_retention_days)
                if removed:
                    log.info(
                        "retention: deleted %d answers older than %d days",
                        removed,
                        self.settings.answer_retention_days,
                    )
            except Exception as exc:
                LoopFailures(log, "retention pass").failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=3600)
