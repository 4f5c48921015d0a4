"""The answer path: store each threaded reply once, grade it, queue the reply to it.

Throughput comes from doing the database work in batches:

- replies arriving together are stored by one INSERT (group commit), before Slack's ack;
- the grading worker claims a batch, grades it (long answers in a thread, LLM calls side
  by side), and records every grade and its queued reply in one transaction.

A batch that fails to record is left pending: its lease expires and it is graded again.
A reply the database cannot take is refused (Slack delivers it again), except on Slack's
last delivery: that one is kept in the local spool (storage/spool.py) until the database
is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.batching import GroupCommit
from bot.errors import AnswerNotStored
from bot.grading.gradable import not_an_answer
from bot.grading.grade import BatchGrader, Grade, Grader
from bot.history import grades_of
from bot.liveness import Liveness
from bot.metrics import Metrics
from bot.mock import FINISHED, combine, interview_answers, next_probe, scorecard
from bot.questions import Question, QuestionBank, Seniority, seniority_of
from bot.storage import repository as repo
from bot.storage.db import unit_of_work
from bot.storage.spool import Spool
from bot.storage.tables import Attempt, MockSession, utcnow

if TYPE_CHECKING:
    from bot.drills import Renderer

log = logging.getLogger(__name__)

PROMPT_CACHE = 10_000  # thread roots remembered on the ack path
BATCH = 20  # attempts claimed by one grading pass
PROCESS_BATCH = 40  # ... when a worker process grades them (see grading/worker.py)
SPOOL_BATCH = 500  # spooled answers stored per transaction once the database is back
ThreadKey = tuple[str, str, str]  # team, channel, thread_ts
UserThread = tuple[int, str]  # prompt id (a thread is its prompt), user


@dataclass(frozen=True)
class Reply:
    """A threaded reply, already stripped of everything Slack-specific."""

    team: str
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str
    event_id: str | None = None


class Recorded(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the same message again (Slack retry, second replica)
    NOT_A_DRILL = "not_a_drill"  # the thread is not one of our prompts
    SPOOLED = "spooled"  # the database could not take it: kept locally until it can


@dataclass
class Assessed:
    """One claimed attempt after grading, before anything is written."""

    attempt: Attempt
    question: Question | None  # None: the question left the bank
    grade: Grade | None  # None: not an answer (see reason) or no question
    reason: str | None
    seconds: float


@dataclass
class _Context:
    thread_grades: dict[UserThread, list[Grade]]  # graded tries so far, oldest first
    mocks: dict[int, MockSession]  # by prompt id


@dataclass
class _Outgoing:
    """What a graded (or nudged) attempt leads to: the message to queue, if any, under its
    dedupe key, and the grade to store (None: the attempt counts for nothing)."""

    payload: dict[str, Any] | None
    kind: str
    key: str
    grade: Grade | None
    reason: str | None = None


class _Failed(Exception):
    """An attempt whose grading raised (already logged)."""


def _user_thread(attempt: Attempt) -> UserThread:
    return (attempt.prompt_id, attempt.user)


def _first_line(error: BaseException) -> str:
    """What went wrong, briefly (a database error's text goes on with the statement and
    its parameters: the answer itself)."""
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


class Answering:
    """The answer path's use cases: `record` on the ack path, `grade_pending` in the worker."""

    def __init__(
        self,
        *,
        bank: QuestionBank,
        sessions: async_sessionmaker[AsyncSession],
        grader: Grader,
        renderer: Renderer,
        metrics: Metrics,
        on_answer: Callable[[], None],
        on_message: Callable[[], None],
        lease: timedelta,
        give_way: Callable[[], Awaitable[None]] | None = None,
        spool: Spool | None = None,
        owner: Liveness | None = None,
    ) -> None:
        self._bank = bank
        self._spool = spool
        self._owner = owner  # this process, as the owner of its leases
        self._sessions = sessions
        self._grader = grader
        self._renderer = renderer
        self._metrics = metrics
        self._on_answer = on_answer
        self._on_message = on_message
        self._lease = lease
        self._give_way = give_way or (lambda: asyncio.sleep(0))
        self._prompts: dict[ThreadKey, tuple[int, str, str]] = {}
        self._recorder: GroupCommit[Reply, Recorded] = GroupCommit(self._record_batch)
        # Done when the last claimed batch is recorded (or given up): the next waits for it.
        self._recorded: asyncio.Future[None] | None = None

    # --- storing (on Slack's 3-second ack path) ------------------------------------------

    async def record(self, reply: Reply, *, last_delivery: bool = False) -> Recorded:
        """Store a threaded reply to one of our prompts, once. Grading happens later.

        Raises AnswerNotStored when the database cannot take it, so that Slack delivers it
        again; on Slack's `last_delivery` it is spooled instead (SPOOLED).
        """
        try:
            recorded = await self._recorder.submit(reply)
        except Exception as exc:
            return await self._spool_or_refuse(reply, exc, last_delivery=last_delivery)
        if recorded is Recorded.STORED:
            self._metrics.answers.inc()
            self._on_answer()
        elif recorded is Recorded.DUPLICATE:
            self._metrics.duplicates.inc()
        return recorded

    async def _spool_or_refuse(
        self, reply: Reply, error: Exception, *, last_delivery: bool
    ) -> Recorded:
        what = f"answer {reply.ts} in {reply.channel}"
        if not last_delivery or self._spool is None:
            self._metrics.answers_refused.inc()
            raise AnswerNotStored(f"{what} not stored: {_first_line(error)}") from error
        try:
            await self._spool.put(f"{reply.team}/{reply.channel}/{reply.ts}", asdict(reply))
        except Exception as spool_error:
            self._metrics.answers_refused.inc()
            raise AnswerNotStored(
                f"{what} neither stored ({_first_line(error)}) nor spooled "
                f"({_first_line(spool_error)})"
            ) from spool_error
        self._metrics.answers_spooled.inc()
        log.warning(
            "%s: the database cannot take it (%s); Slack's last delivery is kept in %s",
            what,
            _first_line(error),
            self._spool.path,
        )
        return Recorded.SPOOLED

    async def drain_spool(self) -> int:
        """Store answers kept in the spool (raises while the database is still away);
        returns how many were taken out of it."""
        if self._spool is None:
            return 0
        kept = await self._spool.peek(SPOOL_BATCH)
        if not kept:
            return 0
        known = {f.name for f in fields(Reply)}  # a row spooled by an older version may differ
        replies = [Reply(**{k: v for k, v in row.items() if k in known}) for _, row in kept]
        outcome = await self._record_batch(replies)
        await self._spool.remove([spool_id for spool_id, _ in kept])
        stored = outcome.count(Recorded.STORED)
        if stored:
            self._metrics.answers.inc(stored)
            self._on_answer()
        log.info(
            "stored %d answer(s) kept in the spool (%d already stored)", stored, len(kept) - stored
        )
        return len(kept)

    async def _record_batch(self, replies: Sequence[Reply]) -> list[Recorded]:
        outcome = [Recorded.NOT_A_DRILL] * len(replies)
        rows: list[dict[str, Any]] = []
        first: dict[tuple[str, str, str], int] = {}  # message -> index of its first copy
        async with unit_of_work(self._sessions) as session:
            prompts = {
                key: await self._prompt_of(session, key)
                for key in dict.fromkeys((r.team, r.channel, r.thread_ts) for r in replies)
            }
            mock_prompts = {p[0] for p in prompts.values() if p is not None and p[2] == "mock"}
            mocks = await repo.mocks_for_prompts(session, mock_prompts)
            for i, reply in enumerate(replies):
                prompt = prompts[(reply.team, reply.channel, reply.thread_ts)]
                if prompt is None:
                    continue
                prompt_id, question_id, _source = prompt
                mock = mocks.get(prompt_id)
                if mock and mock.status == "active" and reply.user != mock.candidate:
                    continue  # the interviewer (or a bystander) talking
                # After the scorecard nothing in the thread is graded (see _reply_for).
                closed = FINISHED if mock and mock.status != "active" else None
                message = (reply.team, reply.channel, reply.ts)
                if message in first:
                    outcome[i] = Recorded.DUPLICATE  # a retry that arrived with the original
                    continue
                first[message] = i
                rows.append(
                    {
                        "team": reply.team,
                        "channel": reply.channel,
                        "thread_ts": reply.thread_ts,
                        "message_ts": reply.ts,
                        "user": reply.user,
                        "prompt_id": prompt_id,
                        "question_id": question_id,
                        "answer": reply.text,
                        "event_id": reply.event_id,
                        "reason": closed,
                    }
                )
            inserted = await repo.insert_attempts(session, rows)
        for message, i in first.items():
            outcome[i] = Recorded.STORED if message in inserted else Recorded.DUPLICATE
        return outcome

    async def _prompt_of(
        self, session: AsyncSession, key: ThreadKey
    ) -> tuple[int, str, str] | None:
        """(prompt id, question id, source) of the thread's prompt; cached once seen, since a
        posted prompt never changes. A miss is not cached: the prompt's ts may land later."""
        known = self._prompts.get(key)
        if known is None:
            team, channel, thread_ts = key
            prompt = await repo.prompt_for_thread(
                session, team=team, channel=channel, thread_ts=thread_ts
            )
            if prompt is None or prompt.id is None:
                return None
            known = (prompt.id, prompt.question_id, prompt.source)
            if len(self._prompts) >= PROMPT_CACHE:
                self._prompts.clear()
            self._prompts[key] = known
        return known

    # --- grading (the background worker) ------------------------------------------------

    async def grade_pending(self, limit: int | None = None) -> int:
        """Grade the attempts waiting for it (this process's share); returns how many."""
        if limit is None:
            # Worker processes take a batch in one round trip: bigger batches, fewer of them.
            limit = PROCESS_BATCH if isinstance(self._grader, BatchGrader) else BATCH
        # Claim after Slack's requests in flight: a fuller batch, so fewer transactions.
        await self._give_way()
        async with unit_of_work(self._sessions) as session:
            claimed = await repo.claim_attempts(
                session,
                now=utcnow(),
                lease=self._lease,
                limit=limit,
                owner=None if self._owner is None else self._owner.id,
                dead_before=None if self._owner is None else self._owner.dead_before(),
            )
            if not claimed:
                return 0
            levels = await repo.levels_of(session, {(a.team, a.user) for a in claimed})
        # Batches may be graded side by side, but they are recorded in the order they were
        # claimed: a second try is then compared with the first, a mock interview's answers
        # advance it in turn, even when they were graded in different batches.
        earlier, mine = self._recorded, asyncio.get_running_loop().create_future()
        self._recorded = mine
        try:
            assessed = await self._assess_claimed(claimed, levels)
            if earlier is not None:
                await earlier
            await self._give_way()  # rendering and recording a batch holds the loop a while
            await self._record_grades(assessed)
        except Exception:
            log.exception("grading a batch of %d failed; it will be graded again", len(claimed))
        finally:
            mine.set_result(None)
        return len(claimed)

    async def _assess_claimed(
        self, claimed: list[Attempt], levels: dict[tuple[str, str], str]
    ) -> list[Assessed]:
        assessed: list[Assessed] = []
        if isinstance(self._grader, BatchGrader):
            assessed = await self._assess_batch(self._grader, claimed, levels)
        elif getattr(self._grader, "cpu_bound", False):
            # One answer at a time, each after Slack's requests in flight (see foreground.py).
            for attempt in claimed:
                await self._give_way()
                with contextlib.suppress(_Failed):
                    assessed.append(await self._assess_logged(attempt, levels))
        else:
            # LLM calls overlap (the grader bounds how many run at once).
            results = await asyncio.gather(
                *(self._assess_logged(a, levels) for a in claimed), return_exceptions=True
            )
            assessed = [r for r in results if isinstance(r, Assessed)]
        return assessed

    async def _assess_logged(
        self, attempt: Attempt, levels: dict[tuple[str, str], str]
    ) -> Assessed:
        try:
            return await self._assess(attempt, levels.get((attempt.team, attempt.user)))
        except Exception as exc:
            # Left pending: the lease expires and it is tried again.
            log.exception("grading attempt %s failed", attempt.id)
            raise _Failed from exc

    async def _assess_batch(
        self, grader: BatchGrader, claimed: list[Attempt], levels: dict[tuple[str, str], str]
    ) -> list[Assessed]:
        """The whole batch in one call (worker processes); nudges need no grader."""
        assessed: list[Assessed] = []
        jobs: list[tuple[Attempt, Question, Seniority | None]] = []
        for attempt in claimed:
            triaged = self._triage(attempt)
            if isinstance(triaged, Assessed):
                assessed.append(triaged)
            else:
                level = levels.get((attempt.team, attempt.user))
                jobs.append((attempt, triaged, seniority_of(level)))
        results = await grader.grade_many([(q, a.answer, s) for a, q, s in jobs])
        for (attempt, question, _), (grade, seconds, error) in zip(jobs, results, strict=True):
            if grade is None:  # left pending: the lease expires and it is tried again
                log.error("grading attempt %s failed: %s", attempt.id, error)
                continue
            assessed.append(Assessed(attempt, question, grade, None, seconds))
        return assessed

    def _triage(self, attempt: Attempt) -> Question | Assessed:
        """The question to grade the attempt against, or, when there is nothing to grade
        (its question left the bank, or it is not an answer), its outcome without a grade."""
        question = self._bank.get(attempt.question_id)
        if question is None:
            log.warning(
                "attempt %s: question %s is no longer in the bank", attempt.id, attempt.question_id
            )
            return Assessed(attempt, None, None, None, 0.0)
        reason = FINISHED if attempt.reason == FINISHED else not_an_answer(attempt.answer)
        if reason is not None:
            return Assessed(attempt, question, None, reason, 0.0)
        return question

    async def _assess(self, attempt: Attempt, level: str | None) -> Assessed:
        triaged = self._triage(attempt)
        if isinstance(triaged, Assessed):
            return triaged
        question = triaged
        started = time.perf_counter()
        grade = await self._grader.grade(
            question, attempt.answer, seniority=seniority_of(level), team=attempt.team
        )
        return Assessed(attempt, question, grade, None, time.perf_counter() - started)

    async def _reply_context(self, session: AsyncSession, claimed: list[Attempt]) -> _Context:
        """What the replies depend on: earlier grades in each thread, mock interviews."""
        earlier = await repo.graded_attempts_in_threads(session, {_user_thread(a) for a in claimed})
        mocks = await repo.mocks_for_prompts(session, {a.prompt_id for a in claimed})
        return _Context({key: grades_of(rows) for key, rows in earlier.items()}, mocks)

    async def _record_grades(self, assessed: list[Assessed]) -> None:
        """Every grade and its queued reply, in one write transaction (rendered before it),
        after reading what the replies depend on (earlier batches are recorded by now)."""
        if not assessed:
            return
        async with unit_of_work(self._sessions, read_only=True) as session:
            context = await self._reply_context(session, [a.attempt for a in assessed])
        await self._render_and_record(assessed, context)

    async def _render_and_record(self, assessed: list[Assessed], context: _Context) -> None:
        thread_grades, mocks = context.thread_grades, context.mocks
        mocks_before = {pid: (m.asked, m.status) for pid, m in mocks.items()}
        finished: list[dict[str, Any]] = []
        messages: dict[str, dict[str, Any]] = {}  # by dedupe key: a mock's closing note once
        failed: list[int] = []
        for item in assessed:
            attempt = item.attempt
            assert attempt.id is not None
            if item.question is None:
                failed.append(attempt.id)
                continue
            try:
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
                reply.payload["channel"] = attempt.channel
                reply.payload["thread_ts"] = attempt.thread_ts
                messages[reply.key] = {
                    "team": attempt.team,
                    "dedupe_key": reply.key,
                    "kind": reply.kind,
                    "payload": reply.payload,
                    "attempt_id": attempt.id,
                }
        async with unit_of_work(self._sessions) as session:
            # Deleted (forget-me) or finished by another worker meanwhile: nothing to say.
            pending = await repo.pending_attempt_ids(
                session, [row["attempt_id"] for row in finished] + failed
            )
            finished = [row for row in finished if row["attempt_id"] in pending]
            queued = [m for m in messages.values() if m["attempt_id"] in pending]
            await repo.finish_attempts(session, finished)
            await repo.enqueue_many(session, queued)
            for prompt_id, mock in mocks.items():
                if (mock.asked, mock.status) != mocks_before[prompt_id]:
                    await repo.save_mock_progress(session, mock)
            for attempt_id in failed:
                if attempt_id in pending:
                    await repo.mark_attempt_failed(session, attempt_id)
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

    def _reply_for(
        self,
        item: Assessed,
        thread_grades: dict[UserThread, list[Grade]],
        mocks: dict[int, MockSession],
    ) -> _Outgoing:
        """A nudge, feedback (with the change since the last try), or - in an active mock
        interview - a follow-up or the scorecard; after the scorecard, one closing note."""
        attempt, question, grade = item.attempt, item.question, item.grade
        assert question is not None and attempt.id is not None
        mock = mocks.get(attempt.prompt_id)
        closed = item.reason == FINISHED or (mock is not None and mock.status != "active")
        if closed:
            # Whoever replies after the scorecard: not graded, and told so once per thread.
            payload = self._renderer.mock_closed(question, user=attempt.user)
            return _Outgoing(payload, "nudge", f"mock_closed:{attempt.prompt_id}", None, FINISHED)
        if grade is None:
            payload = self._renderer.nudge(question, user=attempt.user, reason=item.reason or "")
            return _Outgoing(payload, "nudge", f"nudge:{attempt.id}", None, item.reason)
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
            return _Outgoing(payload, "feedback", f"feedback:{attempt.id}", grade)
        if attempt.user != mock.candidate:
            return _Outgoing(None, "", "", None, "not_the_candidate")  # stored before the mock was
        grades = [*earlier, grade]
        asked = list(json.loads(mock.asked or "[]"))
        probe = next_probe(question, combine(question, grades), asked, mock.max_followups)
        if probe is not None:
            mock.asked = json.dumps([*asked, probe.criterion_id])
            payload = self._renderer.followup(
                question, probe.criterion_id, user=attempt.user, current=probe.current
            )
            return _Outgoing(payload, "followup", f"followup:{attempt.id}", grade)
        card = scorecard(question, interview_answers(grades, len(asked)))
        mock.status = "done"
        payload = self._renderer.summary(
            question,
            card.grade,
            user=attempt.user,
            improved=card.improved,
            details=f"mock:{mock.id}",
        )
        return _Outgoing(payload, "summary", f"summary:{attempt.id}", grade)
