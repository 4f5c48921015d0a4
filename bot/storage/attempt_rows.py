"""Queries on attempts: answers stored, claimed for grading, graded, read back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.storage.claiming import (
    ATTEMPT,
    add_unless_taken,
    claim_rows,
    claim_statement,
    dialect,
    insert_skipping,
)
from bot.storage.tables import (
    Attempt,
    Prompt,
    utcnow,
)


class NewAttempt(TypedDict):
    """A threaded reply to store (`insert_attempts`)."""

    team: str
    channel: str
    thread_ts: str
    message_ts: str
    user: str
    prompt_id: int
    question_id: str
    answer: str
    event_id: str | None
    reason: NotRequired[str | None]  # set: recorded as not graded, for this reason


class FinishedAttempt(TypedDict):
    """A graded attempt, or why it has no grade (`finish_attempts`)."""

    attempt_id: int
    reason: str | None
    grade_json: str | None
    grader: str | None
    score: int | None
    band: str | None
    tokens_used: int


_STORE_ATTEMPTS = insert_skipping(
    ATTEMPT,
    ["team", "channel", "message_ts"],
    ATTEMPT.c.team,
    ATTEMPT.c.channel,
    ATTEMPT.c.message_ts,
)
_FINISH_ATTEMPT = (
    sa.update(ATTEMPT)
    .where(ATTEMPT.c.id == sa.bindparam("attempt_id"), ATTEMPT.c.status == "pending")
    .values(
        status="graded",
        graded_at=sa.bindparam("now"),
        lease_until=None,
        owner=None,
        reason=sa.bindparam("reason"),
        grade_json=sa.bindparam("grade_json"),
        grader=sa.bindparam("grader"),
        score=sa.bindparam("score"),
        band=sa.bindparam("band"),
        tokens_used=sa.bindparam("tokens_used"),
    )
)
_CLAIM_ATTEMPTS = claim_statement(Attempt, (col(Attempt.status) == "pending",), (col(Attempt.id),))


async def add_attempt(session: AsyncSession, attempt: Attempt) -> Attempt | None:
    """Insert the attempt; None when this message was already stored (a retried delivery)."""
    return attempt if await add_unless_taken(session, attempt) else None


async def insert_attempts(
    session: AsyncSession, rows: Sequence[NewAttempt]
) -> set[tuple[str, str, str]]:
    """Insert attempts, skipping messages already stored, in one statement.

    Returns the (team, channel, message_ts) of the rows actually inserted.
    """
    if not rows:
        return set()
    now = utcnow()
    values = [{"status": "pending", "tokens_used": 0, "received_at": now, **r} for r in rows]
    # One fixed statement run for many rows (SQLAlchemy batches it into multi-row INSERTs),
    # not a statement built with the rows in it, which would be compiled every time.
    result = await session.execute(_STORE_ATTEMPTS[dialect(session)], values)
    return {(r[0], r[1], r[2]) for r in result.all()}


async def claim_attempts(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    owner: str | None = None,
    dead_before: datetime | None = None,
) -> list[Attempt]:
    """Lease up to `limit` pending attempts nobody is working on (see claimable) to
    `owner`; owners whose heartbeat is older than `dead_before` are dead."""
    return await claim_rows(
        session,
        _CLAIM_ATTEMPTS,
        now=now,
        lease=lease,
        limit=limit,
        owner=owner,
        dead_before=dead_before,
    )


async def pending_attempt_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    """Which of these attempts still wait for a grade (not deleted, not finished elsewhere)."""
    if not ids:
        return set()
    result = await session.execute(
        sa.select(ATTEMPT.c.id).where(ATTEMPT.c.id.in_(ids), ATTEMPT.c.status == "pending")
    )
    return {r[0] for r in result.all()}


async def finish_attempts(session: AsyncSession, rows: Sequence[FinishedAttempt]) -> None:
    """Record grades (or why there is none): one executemany UPDATE of still-pending attempts."""
    if not rows:
        return
    now = utcnow()
    await session.execute(_FINISH_ATTEMPT, [{**row, "now": now} for row in rows])


async def mark_attempt_failed(session: AsyncSession, attempt_id: int) -> None:
    await session.execute(
        sa.update(Attempt)
        .where(col(Attempt.id) == attempt_id)
        .values(status="failed", lease_until=None, owner=None)
    )


async def attempts_for_user(session: AsyncSession, *, team: str, user: str) -> Sequence[Attempt]:
    result = await session.execute(
        select(Attempt)
        .where(col(Attempt.team) == team, col(Attempt.user) == user)
        .order_by(col(Attempt.id))
    )
    return list(result.scalars().all())


async def delete_attempts_before(session: AsyncSession, cutoff: datetime) -> int:
    deleted = await session.execute(
        sa.delete(Attempt).where(
            col(Attempt.received_at) < cutoff, col(Attempt.status) != "pending"
        )
    )
    return int(deleted.rowcount)  # type: ignore[attr-defined]


async def topic_scores(session: AsyncSession, *, team: str, channel: str) -> dict[str, float]:
    """Average score per question in a channel (graded answers only)."""
    result = await session.execute(
        select(Attempt.question_id, sa.func.avg(Attempt.score))
        .where(
            col(Attempt.team) == team,
            col(Attempt.channel) == channel,
            col(Attempt.score).is_not(None),
        )
        .group_by(Attempt.question_id)
    )
    return {question_id: float(avg) for question_id, avg in result.all()}


async def get_attempt(session: AsyncSession, *, team: str, attempt_id: int) -> Attempt | None:
    result = await session.execute(
        select(Attempt).where(col(Attempt.id) == attempt_id, col(Attempt.team) == team)
    )
    return result.scalars().first()


async def graded_attempts_in_threads(
    session: AsyncSession, keys: set[tuple[int, str]]
) -> dict[tuple[int, str], list[Attempt]]:
    """Graded attempts per (prompt id, user), oldest first, in one query. A thread is its
    prompt, so this is each user's earlier answers in that thread (an index lookup each)."""
    if not keys:
        return {}
    # Two INs, not one on the pair: SQLite uses the index for these (and not for a row
    # value IN a list); the few extra prompt-user pairs they let through are dropped below.
    result = await session.execute(
        select(Attempt)
        .where(
            col(Attempt.prompt_id).in_({prompt for prompt, _ in keys}),
            col(Attempt.user).in_({user for _, user in keys}),
            col(Attempt.grade_json).is_not(None),
        )
        .order_by(col(Attempt.id))
    )
    found: dict[tuple[int, str], list[Attempt]] = {}
    for a in result.scalars().all():
        if (a.prompt_id, a.user) in keys:
            found.setdefault((a.prompt_id, a.user), []).append(a)
    return found


async def has_answered(
    session: AsyncSession, *, team: str, channel: str, thread_ts: str, user: str
) -> bool:
    result = await session.execute(
        select(Attempt.id)
        .where(
            col(Attempt.team) == team,
            col(Attempt.channel) == channel,
            col(Attempt.thread_ts) == thread_ts,
            col(Attempt.user) == user,
        )
        .limit(1)
    )
    return result.first() is not None


async def graded_attempts(
    session: AsyncSession,
    *,
    team: str,
    user: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
) -> list[Attempt]:
    query = select(Attempt).where(col(Attempt.team) == team, col(Attempt.grade_json).is_not(None))
    if user is not None:
        query = query.where(col(Attempt.user) == user)
    if channel is not None:
        query = query.where(col(Attempt.channel) == channel)
    if since is not None:
        query = query.where(col(Attempt.received_at) >= since)
    result = await session.execute(query.order_by(col(Attempt.id)))
    return list(result.scalars().all())


async def last_practice_channel(session: AsyncSession, *, team: str, user: str) -> str | None:
    """Where the user last answered a drill, else where they last asked for one."""
    answered = await session.execute(
        select(Attempt.channel)
        .where(col(Attempt.team) == team, col(Attempt.user) == user)
        .order_by(col(Attempt.id).desc())
        .limit(1)
    )
    found = answered.scalar()
    if found is None:
        asked = await session.execute(
            select(Prompt.channel)
            .where(col(Prompt.team) == team, col(Prompt.requested_by) == user)
            .order_by(col(Prompt.id).desc())
            .limit(1)
        )
        found = asked.scalar()
    return str(found) if found is not None else None


async def answer_history(
    session: AsyncSession, *, team: str, user: str, offset: int, limit: int
) -> tuple[list[tuple[Attempt, str]], int]:
    """A page of the user's graded answers, newest first, each with its prompt's source
    (command, scheduled, mock); and how many there are in all."""
    graded = (
        col(Attempt.team) == team,
        col(Attempt.user) == user,
        col(Attempt.grade_json).is_not(None),
    )
    total = await session.execute(select(sa.func.count()).select_from(Attempt).where(*graded))
    rows = await session.execute(
        select(Attempt, Prompt.source)
        .join(Prompt, col(Prompt.id) == col(Attempt.prompt_id))
        .where(*graded)
        .order_by(col(Attempt.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return [(attempt, str(source)) for attempt, source in rows.all()], int(total.scalar() or 0)


async def channels_with_answers(session: AsyncSession, *, team: str, since: datetime) -> list[str]:
    """The team's channels with graded answers since `since`, most answers first."""
    result = await session.execute(
        select(Attempt.channel, sa.func.count())
        .where(
            col(Attempt.team) == team,
            col(Attempt.received_at) >= since,
            col(Attempt.grade_json).is_not(None),
        )
        .group_by(Attempt.channel)
        .order_by(sa.func.count().desc(), Attempt.channel)
    )
    return [str(channel) for channel, _ in result.all()]
