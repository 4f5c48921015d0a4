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
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config import Settings
from bot.dashboard import Dashboards
from bot.grading.grade import Grader
from bot.grading.rubric import RubricGrader
from bot.grading.worker import ProcessGrader
from bot.grading_passes import GradingPasses
from bot.in_flight import RequestsInFlight, longest_wait
from bot.liveness import Liveness
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.polling import PollingLoop
from bot.questions import QuestionBank, load_bank
from bot.retention import Retention
from bot.review_rules import WorkingHours
from bot.reviews import PASS_SECONDS, Reviews
from bot.schedule import Schedules
from bot.scheduler import DrillScheduler
from bot.slack.app import ACK_PATH_TIMEOUT_SECONDS, build_app, build_client, web_api_session
from bot.slack.blocks import SlackMessages
from bot.slack.directory import SlackDirectory
from bot.slack.installs import build_installs
from bot.slack.poster import SlackPoster
from bot.slack.schedule_blocks import ScheduleMessages
from bot.storage.db import make_engine, make_sessionmaker, migrate_to_head, ping
from bot.storage.ledger import SqlTokenLedger
from bot.storage.spool import Spool
from bot.teamlead import TeamLead
from bot.uninstalls import Uninstalls
from bot.use_cases import build_use_cases
from bot.web import build_web

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
        self.uninstalls = Uninstalls(
            sessions=self.sessions, retention_days=settings.answer_retention_days
        )
        self.installs = build_installs(settings, engine=self.engine, uninstalls=self.uninstalls)
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
        self.grader = build_grader(
            settings,
            self.bank,
            metrics=self.metrics,
            ledger=SqlTokenLedger(self.sessions),
            processes=settings.grading_processes,
        )
        self.in_flight = RequestsInFlight(
            max_wait=longest_wait(
                holds_loop=self.engine.dialect.name == "sqlite"
                or self.grader.concurrency != "batch"
            )
        )
        renderer = SlackMessages(fairness=settings.feedback_buttons)
        self.reviews = Reviews(
            bank=self.bank,
            sessions=self.sessions,
            grader=self.grader,
            renderer=renderer,
            directory=SlackDirectory(self.client, self.installs.token_for),
            hours=WorkingHours.parse(settings.review_hours),
            on_message=self.outbox.wake,
            on_answer=lambda: self.review_grading_loop.wake(),
            after_requests=self.in_flight.wait_until_idle,
            lease=timedelta(seconds=settings.lease_seconds),
            owner=self.liveness,
        )
        self.use = build_use_cases(
            bank=self.bank,
            sessions=self.sessions,
            renderer=renderer,
            metrics=self.metrics,
            on_message=self.outbox.wake,
            on_answer=lambda: self.grading_loop.wake(),
            spool=Spool(settings.spool_path),
            mock_followups=settings.mock_followups,
            reviews=self.reviews,
        )
        self.grading = GradingPasses(
            bank=self.bank,
            sessions=self.sessions,
            grader=self.grader,
            renderer=renderer,
            interviews=self.use.interviews,
            metrics=self.metrics,
            on_message=self.outbox.wake,
            lease=timedelta(seconds=settings.lease_seconds),
            after_requests=self.in_flight.wait_until_idle,
            owner=self.liveness,
        )
        self.grading_loop = PollingLoop(
            "grading",
            self.grading.grade_pending,
            interval=settings.outbox_poll_seconds,
            copies=self.grader.passes,
        )
        self.loops = [
            self.grading_loop,
            PollingLoop(
                "storing spooled answers",
                self.use.answers.drain_spool,
                interval=settings.outbox_poll_seconds,
            ),
        ]
        # Spaced review: answers in a review's DM thread graded as they come, and a pass
        # that sends the reviews due (claimed per person and day, so replicas share it).
        self.review_grading_loop = PollingLoop(
            "grading review answers",
            self.reviews.grade_answered,
            interval=settings.outbox_poll_seconds,
        )
        self.loops += [
            self.review_grading_loop,
            PollingLoop("spaced review pass", self.reviews.send_due, interval=PASS_SECONDS),
        ]
        if settings.answer_retention_days:
            self.loops.append(Retention(self.sessions, days=settings.answer_retention_days).loop())
        self.scheduler = DrillScheduler(
            sessions=self.sessions,
            use=self.use,
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
            self.use,
            self.schedules,
            self.client,
            installs=self.installs,
            teamlead=TeamLead(use=self.use, sessions=self.sessions),
            dashboards=Dashboards(use=self.use, sessions=self.sessions),
        )
        self.web = build_web(
            bolt=self.bolt,
            health=self.health,
            metrics=self.metrics,
            max_body_bytes=settings.max_body_bytes,
            in_flight=self.in_flight,
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
        # Compile the rubrics off the loop, so no first answer blocks acks on it.
        self._warm_task = asyncio.create_task(self.grader.warm(), name="warm-rubrics")
        self._tasks = [
            asyncio.create_task(self.liveness.run(self._stop), name="heartbeat"),
            asyncio.create_task(self.outbox.run(self._stop), name="outbox"),
            asyncio.create_task(self.uninstalls.run(self._stop), name="uninstalls"),
        ]
        for loop in self.loops:
            loop.start()
        await self.scheduler.start()
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
        self.scheduler.shutdown()
        await asyncio.gather(*(loop.stop() for loop in self.loops))
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
            self._tasks = []
        await self.liveness.retire()
        await self.grader.aclose()
        for session in (self.client.session, self.poster.session):
            if session is not None and not session.closed:
                await session.close()
        await self.engine.dispose()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()
