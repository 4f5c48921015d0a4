"""Recording answers, on Slack's 3-second ack path: store each threaded reply to one of our
prompts once, in one INSERT per burst (group commit, `batching.py`). A reply the database
cannot take is refused, so Slack delivers it again, except on Slack's last delivery: that one
is kept in the local spool (`storage/spool.py`) until the database is back. Grading happens
later (`grading_passes.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.batching import GroupCommit
from bot.errors import AnswerNotStored
from bot.messages import Recorded, Reply
from bot.metrics import Metrics
from bot.mock import FINISHED
from bot.storage import attempt_rows, mock_rows, prompt_rows
from bot.storage.attempt_rows import NewAttempt
from bot.storage.db import unit_of_work
from bot.storage.spool import Spool

log = logging.getLogger(__name__)

PROMPT_CACHE = 10_000  # thread roots remembered on the ack path
SPOOL_BATCH = 500  # spooled answers stored per transaction once the database is back
ThreadKey = tuple[str, str, str]  # team, channel, thread_ts


def first_line(error: BaseException) -> str:
    """What went wrong, briefly (a database error's text goes on with the statement and
    its parameters: the answer itself)."""
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


class AnswerRecorder:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        on_answer: Callable[[], None] = lambda: None,
        spool: Spool | None = None,
    ) -> None:
        self._sessions = sessions
        self._metrics = metrics
        self._on_answer = on_answer  # wakes the grading passes
        self._spool = spool
        self._prompts: dict[ThreadKey, tuple[int, str, str]] = {}
        self._recorder: GroupCommit[Reply, Recorded] = GroupCommit(self._record_batch)

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
            raise AnswerNotStored(f"{what} not stored: {first_line(error)}") from error
        try:
            await self._spool.put(f"{reply.team}/{reply.channel}/{reply.ts}", asdict(reply))
        except Exception as spool_error:
            self._metrics.answers_refused.inc()
            raise AnswerNotStored(
                f"{what} neither stored ({first_line(error)}) nor spooled "
                f"({first_line(spool_error)})"
            ) from spool_error
        self._metrics.answers_spooled.inc()
        log.warning(
            "%s: the database cannot take it (%s); Slack's last delivery is kept in %s",
            what,
            first_line(error),
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
        rows: list[NewAttempt] = []
        first: dict[tuple[str, str, str], int] = {}  # message -> index of its first copy
        async with unit_of_work(self._sessions) as session:
            prompts = {
                key: await self._prompt_of(session, key)
                for key in dict.fromkeys((r.team, r.channel, r.thread_ts) for r in replies)
            }
            mock_prompts = {p[0] for p in prompts.values() if p is not None and p[2] == "mock"}
            mocks = await mock_rows.mocks_for_prompts(session, mock_prompts)
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
            inserted = await attempt_rows.insert_attempts(session, rows)
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
            prompt = await prompt_rows.prompt_for_thread(
                session, team=team, channel=channel, thread_ts=thread_ts
            )
            if prompt is None or prompt.id is None:
                return None
            known = (prompt.id, prompt.question_id, prompt.source)
            if len(self._prompts) >= PROMPT_CACHE:
                self._prompts.clear()
            self._prompts[key] = known
        return known
