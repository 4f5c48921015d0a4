"""Grading passes, in the background: claim a batch of stored answers (leased to this
process), grade them, and record every grade with its queued reply in one transaction.

Passes may grade side by side, but record in the order they claimed, so a second try is
compared with the first and a mock interview's answers advance it in turn. A batch that
fails to record is left pending: its lease expires and it is graded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.grading.gradable import not_an_answer
from bot.grading.grade import Grade, Grader
from bot.history import grades_of
from bot.interviews import MockInterviews
from bot.liveness import Liveness
from bot.messages import Outgoing, Renderer
from bot.metrics import Metrics
from bot.mock import FINISHED
from bot.questions import Question, QuestionBank, Seniority, seniority_of
from bot.remembering import Practised, practised_in, probed, remember
from bot.storage import attempt_rows, mock_rows, outbox_rows, profile_rows
from bot.storage.attempt_rows import FinishedAttempt
from bot.storage.db import unit_of_work
from bot.storage.outbox_rows import QueuedMessage
from bot.storage.tables import Attempt, MockSession, utcnow

log = logging.getLogger(__name__)

BATCH = 20  # attempts claimed by one grading pass
PROCESS_BATCH = 40  # ... when a worker process grades them (see grading/worker.py)
UserThread = tuple[int, str]  # prompt id (a thread is its prompt), user


@dataclass
class GradedAnswer:
    """One claimed attempt after grading, before anything is written."""

    attempt: Attempt
    question: Question | None  # None: the question left the bank
    grade: Grade | None  # None: not an answer (see reason) or no question
    reason: str | None
    seconds: float
    level: Seniority | None = None  # the level it was graded for


@dataclass
class ThreadHistory:
    """What the replies depend on."""

    thread_grades: dict[UserThread, list[Grade]]  # graded tries so far, oldest first
    mocks: dict[int, MockSession]  # by prompt id


class _Failed(Exception):
    """An attempt whose grading raised (already logged)."""


def _user_thread(attempt: Attempt) -> UserThread:
    return (attempt.prompt_id, attempt.user)


class GradingPasses:
    def __init__(
        self,
        *,
        bank: QuestionBank,
        sessions: async_sessionmaker[AsyncSession],
        grader: Grader,
        renderer: Renderer,
        interviews: MockInterviews,
        metrics: Metrics,
        on_message: Callable[[], None],
        lease: timedelta,
        after_requests: Callable[[], Awaitable[None]] | None = None,
        owner: Liveness | None = None,
    ) -> None:
        self._bank = bank
        self._sessions = sessions
        self._grader = grader
        self._renderer = renderer
        self._interviews = interviews
        self._metrics = metrics
        self._on_message = on_message  # wakes the outbox
        self._lease = lease
        # Background work waits for Slack's requests in flight (in_flight.py).
        self._after_requests = after_requests or (lambda: asyncio.sleep(0))
        self._owner = owner  # this process, as the owner of its leases
        # Done when the last claimed batch is recorded (or given up): the next waits for it.
        self._recorded: asyncio.Future[None] | None = None

    async def grade_pending(self, limit: int | None = None) -> int:
        """Grade the attempts waiting for it (this process's share); returns how many."""
        if limit is None:
            # Worker processes take a batch in one round trip: bigger batches, fewer of them.
            limit = PROCESS_BATCH if self._grader.concurrency == "batch" else BATCH
        # Claim after Slack's requests in flight: a fuller batch, so fewer transactions.
        await self._after_requests()
        async with unit_of_work(self._sessions) as session:
            claimed = await attempt_rows.claim_attempts(
                session,
                now=utcnow(),
                lease=self._lease,
                limit=limit,
                owner=None if self._owner is None else self._owner.id,
                dead_before=None if self._owner is None else self._owner.dead_before(),
            )
            if not claimed:
                return 0
            levels = await profile_rows.levels_of(session, {(a.team, a.user) for a in claimed})
        # Batches may be graded side by side, but they are recorded in the order they were
        # claimed: a second try is then compared with the first, a mock interview's answers
        # advance it in turn, even when they were graded in different batches.
        earlier, mine = self._recorded, asyncio.get_running_loop().create_future()
        self._recorded = mine
        try:
            assessed = await self._assess_claimed(claimed, levels)
            if earlier is not None:
                await earlier
            await self._after_requests()  # rendering and recording a batch holds the loop a while
            await self._record_grades(assessed)
        except Exception:
            log.exception("grading a batch of %d failed; it will be graded again", len(claimed))
        finally:
            mine.set_result(None)
        return len(claimed)

    async def _assess_claimed(
        self, claimed: list[Attempt], levels: dict[tuple[str, str], str]
    ) -> list[GradedAnswer]:
        assessed: list[GradedAnswer] = []
        if self._grader.concurrency == "batch":
            assessed = await self._assess_batch(claimed, levels)
        elif self._grader.concurrency == "inline":
            # One answer at a time, each after Slack's requests in flight (see in_flight.py).
            for attempt in claimed:
                await self._after_requests()
                with contextlib.suppress(_Failed):
                    assessed.append(await self._assess_logged(attempt, levels))
        else:
            # LLM calls overlap (the grader bounds how many run at once).
            results = await asyncio.gather(
                *(self._assess_logged(a, levels) for a in claimed), return_exceptions=True
            )
            assessed = [r for r in results if isinstance(r, GradedAnswer)]
        return assessed

    async def _assess_logged(
        self, attempt: Attempt, levels: dict[tuple[str, str], str]
    ) -> GradedAnswer:
        try:
            return await self._assess(attempt, levels.get((attempt.team, attempt.user)))
        except Exception as exc:
            # Left pending: the lease expires and it is tried again.
            log.exception("grading attempt %s failed", attempt.id)
            raise _Failed from exc

    async def _assess_batch(
        self, claimed: list[Attempt], levels: dict[tuple[str, str], str]
    ) -> list[GradedAnswer]:
        """The whole batch in one call (worker processes); nudges need no grader."""
        assessed: list[GradedAnswer] = []
        jobs: list[tuple[Attempt, Question, Seniority | None]] = []
        for attempt in claimed:
            triaged = self._triage(attempt)
            if isinstance(triaged, GradedAnswer):
                assessed.append(triaged)
            else:
                level = levels.get((attempt.team, attempt.user))
                jobs.append((attempt, triaged, seniority_of(level)))
        results = await self._grader.grade_many([(q, a.answer, s) for a, q, s in jobs])
        for (attempt, question, level), (grade, seconds, error) in zip(jobs, results, strict=True):
            if grade is None:  # left pending: the lease expires and it is tried again
                log.error("grading attempt %s failed: %s", attempt.id, error)
                continue
            assessed.append(GradedAnswer(attempt, question, grade, None, seconds, level))
        return assessed

    def _triage(self, attempt: Attempt) -> Question | GradedAnswer:
        """The question to grade the attempt against, or, when there is nothing to grade
        (its question left the bank, or it is not an answer), its outcome without a grade."""
        question = self._bank.get(attempt.question_id)
        if question is None:
            log.warning(
                "attempt %s: question %s is no longer in the bank", attempt.id, attempt.question_id
            )
            return GradedAnswer(attempt, None, None, None, 0.0)
        reason = FINISHED if attempt.reason == FINISHED else not_an_answer(attempt.answer)
        if reason is not None:
            return GradedAnswer(attempt, question, None, reason, 0.0)
        return question

    async def _assess(self, attempt: Attempt, level: str | None) -> GradedAnswer:
        triaged = self._triage(attempt)
        if isinstance(triaged, GradedAnswer):
            return triaged
        question = triaged
        started = time.perf_counter()
        grade = await self._grader.grade(
            question, attempt.answer, seniority=seniority_of(level), team=attempt.team
        )
        elapsed = time.perf_counter() - started
        return GradedAnswer(attempt, question, grade, None, elapsed, seniority_of(level))

    async def _reply_context(self, session: AsyncSession, claimed: list[Attempt]) -> ThreadHistory:
        """What the replies depend on: earlier grades in each thread, mock interviews."""
        earlier = await attempt_rows.graded_attempts_in_threads(
            session, {_user_thread(a) for a in claimed}
        )
        mocks = await mock_rows.mocks_for_prompts(session, {a.prompt_id for a in claimed})
        return ThreadHistory({key: grades_of(rows) for key, rows in earlier.items()}, mocks)

    async def _record_grades(self, assessed: list[GradedAnswer]) -> None:
        """Every grade and its queued reply, in one write transaction (rendered before it),
        after reading what the replies depend on (earlier batches are recorded by now)."""
        if not assessed:
            return
        async with unit_of_work(self._sessions, read_only=True) as session:
            context = await self._reply_context(session, [a.attempt for a in assessed])
        await self._render_and_record(assessed, context)

    async def _render_and_record(
        self, assessed: list[GradedAnswer], context: ThreadHistory
    ) -> None:
        thread_grades, mocks = context.thread_grades, context.mocks
        mocks_before = {pid: (m.asked, m.status) for pid, m in mocks.items()}
        finished: list[FinishedAttempt] = []
        messages: dict[str, QueuedMessage] = {}  # by dedupe key: a mock's closing note once
        failed: list[int] = []
        practised: dict[int, list[Practised]] = {}  # by attempt: spaced review's memory
        for item in assessed:
            attempt = item.attempt
            assert attempt.id is not None
            if item.question is None:
                failed.append(attempt.id)
                continue
            try:
                # Before the reply: a mock's reply moves it on to its next follow-up.
                practised[attempt.id] = self._practised(item, thread_grades, mocks)
                reply = self._reply_for(item, thread_grades, mocks)
            except Exception:
                log.exception("attempt %s: cannot render the reply; left pending", attempt.id)
                continue
            grade = reply.grade
            if grade is not None:  # a second try in this batch is compared with this one
                thread_grades.setdefault(_user_thread(attempt), []).append(grade)
            finished.append(
                {
                    "attempt_id": attempt.id,
                    "reason": reply.reason if grade is None else None,
                    "grade_json": json.dumps(grade.to_json()) if grade else None,
                    "grader": grade.grader if grade else None,
                    "score": grade.score if grade else None,
                    "band": grade.band if grade else None,
                    "tokens_used": item.grade.tokens_used if item.grade else 0,
                }
            )
            if reply.payload is not None and reply.key not in messages:
                messages[reply.key] = {
                    "team": attempt.team,
                    "dedupe_key": reply.key,
                    "kind": reply.kind,
                    "payload": reply.payload,
                    "channel": attempt.channel,
                    "thread_ts": attempt.thread_ts,
                    "person": attempt.user,
                    "attempt_id": attempt.id,
                }
        async with unit_of_work(self._sessions) as session:
            # Deleted (forget-me) or finished by another worker meanwhile: nothing to say.
            pending = await attempt_rows.pending_attempt_ids(
                session, [row["attempt_id"] for row in finished] + failed
            )
            finished = [row for row in finished if row["attempt_id"] in pending]
            queued = [m for m in messages.values() if m["attempt_id"] in pending]
            await attempt_rows.finish_attempts(session, finished)
            await outbox_rows.enqueue_many(session, queued)
            await remember(
                session, [p for row in finished for p in practised.get(row["attempt_id"], [])]
            )
            for prompt_id, mock in mocks.items():
                if (mock.asked, mock.status) != mocks_before[prompt_id]:
                    await mock_rows.save_mock_progress(session, mock)
            for attempt_id in failed:
                if attempt_id in pending:
                    await attempt_rows.mark_attempt_failed(session, attempt_id)
        done = {row["attempt_id"] for row in finished}
        for item in assessed:
            if item.attempt.id not in done:
                continue
            if item.grade is not None:
                grader = item.grade.grader.split(":")[0]
                self._metrics.graded.labels(grader=grader, band=item.grade.band).inc()
                self._metrics.grading_seconds.observe(item.seconds)
            else:
                self._metrics.nudges.inc()
        if queued:
            self._on_message()

    def _practised(
        self,
        item: GradedAnswer,
        thread_grades: dict[UserThread, list[Grade]],
        mocks: dict[int, MockSession],
    ) -> list[Practised]:
        """The criteria a graded answer practised (spaced review's memory): all of its
        question's, or in a mock interview after the first answer, the one followed up on."""
        attempt, grade = item.attempt, item.grade
        if grade is None or item.reason == FINISHED:
            return []
        only = None
        mock = mocks.get(attempt.prompt_id)
        if mock is not None:
            if mock.status != "active" or attempt.user != mock.candidate:
                return []
            earlier = thread_grades.get(_user_thread(attempt), [])
            only = probed(json.loads(mock.asked or "[]"), len(earlier))
        return practised_in(
            grade, team=attempt.team, user=attempt.user, when=attempt.received_at, only=only
        )

    def _reply_for(
        self,
        item: GradedAnswer,
        thread_grades: dict[UserThread, list[Grade]],
        mocks: dict[int, MockSession],
    ) -> Outgoing:
        """A nudge, feedback (with the change since the last try), or - in an active mock
        interview - a follow-up or the scorecard; after the scorecard, one closing note."""
        attempt, question, grade = item.attempt, item.question, item.grade
        assert question is not None and attempt.id is not None
        mock = mocks.get(attempt.prompt_id)
        closed = item.reason == FINISHED or (mock is not None and mock.status != "active")
        if closed:
            return self._interviews.closed(question, user=attempt.user, prompt_id=attempt.prompt_id)
        if grade is None:
            payload = self._renderer.nudge(question, user=attempt.user, reason=item.reason or "")
            return Outgoing(payload, "nudge", f"nudge:{attempt.id}", None, item.reason)
        earlier = thread_grades.get(_user_thread(attempt), [])
        if mock is None:
            previous = earlier[-1] if earlier else None
            payload = self._renderer.feedback(
                question,
                grade,
                user=attempt.user,
                previous=previous,
                details=f"attempt:{attempt.id}",
            )
            return Outgoing(payload, "feedback", f"feedback:{attempt.id}", grade)
        if attempt.user != mock.candidate:
            return Outgoing(None, "", "", None, "not_the_candidate")  # stored before the mock was
        return self._interviews.advance(
            question,
            mock,
            [*earlier, grade],
            user=attempt.user,
            answer_key=str(attempt.id),
            level=item.level,
        )
