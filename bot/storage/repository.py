"""Every query the app makes. Each takes the session of the caller's unit of work.

Claims (attempt grading, outbox sending, schedule fires) are single conditional
UPDATEs or unique INSERTs, so any number of processes can share one database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from bot.storage.tables import (
    Attempt,
    CommandClaim,
    LeaseOwner,
    MockSession,
    OutboxMessage,
    Prompt,
    Schedule,
    ScheduleRun,
    UserProfile,
    UTCDateTime,
    utcnow,
)

# The tables behind the models, for Core statements that write many rows in one round trip.
ATTEMPT = SQLModel.metadata.tables["attempt"]
OUTBOX = SQLModel.metadata.tables["outbox_message"]
PROMPT = SQLModel.metadata.tables["prompt"]
COMMAND_CLAIM = SQLModel.metadata.tables["command_claim"]
LEASE_OWNER = SQLModel.metadata.tables["lease_owner"]


# The hot path's write statements, built once: a statement object reused keeps its cache
# key, which SQLAlchemy otherwise derives afresh by walking the statement on every call.
def _insert_skipping(table: sa.Table, unique: list[str], *returned: Any) -> dict[str, Any]:
    """INSERT … ON CONFLICT (unique) DO NOTHING RETURNING …, per dialect: the rows a
    unique key already holds are skipped, and the statement says which rows went in."""
    return {
        name: dialect.insert(table)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(*returned)
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    }


_STORE_ATTEMPTS = _insert_skipping(
    ATTEMPT,
    ["team", "channel", "message_ts"],
    ATTEMPT.c.team,
    ATTEMPT.c.channel,
    ATTEMPT.c.message_ts,
)
_QUEUE_MESSAGES = _insert_skipping(OUTBOX, ["dedupe_key"], OUTBOX.c.dedupe_key)
_CLAIM_COMMAND = _insert_skipping(COMMAND_CLAIM, ["trigger_id"], COMMAND_CLAIM.c.id)
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
_MARK_MESSAGE_SENT = (
    sa.update(OUTBOX)
    .where(OUTBOX.c.id == sa.bindparam("message_id"))
    # The rendered payload is not needed once Slack has it; dropping it keeps the table small.
    .values(
        status="sent",
        sent_channel=sa.bindparam("posted_channel"),
        sent_ts=sa.bindparam("ts"),
        sent_at=sa.bindparam("when"),
        lease_until=None,
        owner=None,
        payload="{}",
    )
)
_MARK_PROMPT_POSTED = (
    sa.update(PROMPT)
    .where(PROMPT.c.id == sa.bindparam("prompt"))
    .values(ts=sa.bindparam("ts"), posted_at=sa.bindparam("when"))
)
_MARK_ATTEMPT_POSTED = (
    sa.update(ATTEMPT)
    .where(ATTEMPT.c.id == sa.bindparam("attempt"))
    .values(status="posted", posted_at=sa.bindparam("when"), lease_until=None, owner=None)
)


_NOW = sa.bindparam("now", type_=UTCDateTime())
_CLAIMANT = sa.bindparam("claimant", type_=sa.String())
_DEAD_BEFORE = sa.bindparam("dead_before", type_=UTCDateTime())


def _claimable(model: Any) -> Any:
    """A row nobody is working on: never leased, or given back; or its lease ran out and
    was this process's own (a pass that failed) or from before lease owners (migration
    0005); or its owner's heartbeat has stopped (see liveness.py). A live owner's lease
    is never taken, however long ago it ran out."""
    lease, owner = col(model.lease_until), col(model.owner)
    alive = sa.exists().where(LEASE_OWNER.c.id == owner, LEASE_OWNER.c.heartbeat_at >= _DEAD_BEFORE)
    return sa.or_(
        lease.is_(None),
        sa.and_(lease < _NOW, sa.or_(owner.is_(None), owner == _CLAIMANT)),
        sa.and_(owner.is_not(None), ~alive),
    )


def _claim(
    model: Any, free: tuple[Any, ...], order: tuple[Any, ...], **also: Any
) -> dict[str, Any]:
    """UPDATE … the first `limit` free rows … RETURNING them: one statement, per dialect.

    SQLite: WHERE id IN (the first free rows) AND still free. Its conditions are checked
    again on each row as it is updated; SQLite has one writer at a time, so no claim races.
    PostgreSQL: the first free rows are chosen in a CTE with FOR UPDATE SKIP LOCKED (run
    once), so two claims at once take different rows: each row goes to exactly one, and
    the second claim gets the next rows rather than none.
    """
    free = (*free, _claimable(model))
    first = select(model.id).where(*free).order_by(*order).limit(sa.bindparam("limit"))
    locked = first.with_for_update(skip_locked=True).cte("claimable")
    # `also`: more columns to set
    claim = (
        sa.update(model)
        .values(lease_until=sa.bindparam("until"), owner=_CLAIMANT, **also)
        .returning(model)
    )
    return {
        "sqlite": claim.where(col(model.id).in_(first.scalar_subquery()), *free),
        "postgresql": claim.where(col(model.id) == locked.c.id, *free),
    }


_CLAIM_ATTEMPTS = _claim(Attempt, (col(Attempt.status) == "pending",), (col(Attempt.id),))
# Channels a sender of this process is still posting to: their messages wait for it.
_NOT_BUSY = sa.or_(
    col(OutboxMessage.channel).is_(None),
    col(OutboxMessage.channel).not_in(sa.bindparam("busy", expanding=True)),
)
_CLAIM_MESSAGES = _claim(
    OutboxMessage,
    (
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.next_try_at) <= _NOW,
        _NOT_BUSY,
    ),
    (col(OutboxMessage.next_try_at), col(OutboxMessage.id)),
    attempts=OutboxMessage.attempts + 1,
    # A lease still set was not ended by a record of the try (sent, failed, rescheduled,
    # given back): its process died, or a pass of this one failed, maybe after posting.
    maybe_sent=sa.or_(col(OutboxMessage.maybe_sent), col(OutboxMessage.lease_until).is_not(None)),
)


def _claim_params(
    *, now: datetime, lease: timedelta, limit: int, owner: str | None, dead_before: datetime | None
) -> dict[str, Any]:
    return {
        "now": now,
        "until": now + lease,
        "limit": limit,
        "claimant": owner,
        # Without it (tests), an owner that has not beaten since `now` counts as dead.
        "dead_before": now if dead_before is None else dead_before,
    }


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


# --- prompts -------------------------------------------------------------------


async def add_prompt(
    session: AsyncSession,
    *,
    team: str,
    channel: str,
    question_id: str,
    source: str,
    requested_by: str | None = None,
    schedule_id: int | None = None,
) -> Prompt:
    prompt = Prompt(
        team=team,
        channel=channel,
        question_id=question_id,
        source=source,
        requested_by=requested_by,
        schedule_id=schedule_id,
    )
    session.add(prompt)
    await session.flush()
    return prompt


async def prompt_for_thread(
    session: AsyncSession, *, team: str, channel: str, thread_ts: str
) -> Prompt | None:
    result = await session.execute(
        select(Prompt).where(
            col(Prompt.team) == team, col(Prompt.channel) == channel, col(Prompt.ts) == thread_ts
        )
    )
    return result.scalars().first()


async def recent_question_ids(
    session: AsyncSession,
    *,
    team: str,
    channel: str,
    limit: int,
    among: Sequence[str] | None = None,
) -> list[str]:
    """The questions of a channel's last `limit` prompts (of those `among`), newest first."""
    query = select(Prompt.question_id).where(
        col(Prompt.team) == team, col(Prompt.channel) == channel
    )
    if among is not None:
        query = query.where(col(Prompt.question_id).in_(among))
    result = await session.execute(query.order_by(col(Prompt.id).desc()).limit(limit))
    return [r[0] for r in result.all()]


# --- commands ------------------------------------------------------------------


async def claim_command(
    session: AsyncSession, *, team: str, trigger_id: str, now: datetime, keep: timedelta
) -> bool:
    """Claim a slash command by its trigger id; False when it was claimed before. Claims
    older than `keep` are deleted first (a replay that old fails Slack's signature check)."""
    await session.execute(sa.delete(CommandClaim).where(col(CommandClaim.received_at) < now - keep))
    claimed = await session.execute(
        _CLAIM_COMMAND[_dialect(session)],
        {"team": team, "trigger_id": trigger_id, "received_at": now},
    )
    return claimed.first() is not None


# --- attempts ------------------------------------------------------------------


async def _add_unless_taken(session: AsyncSession, row: Any) -> bool:
    """Insert a row guarded by a unique key; False (and nothing written) when the key is taken.

    A savepoint keeps the caller's transaction usable after the refused insert.
    """
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def add_attempt(session: AsyncSession, attempt: Attempt) -> Attempt | None:
    """Insert the attempt; None when this message was already stored (a retried delivery)."""
    return attempt if await _add_unless_taken(session, attempt) else None


async def insert_attempts(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
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
    result = await session.execute(_STORE_ATTEMPTS[_dialect(session)], values)
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
    """Lease up to `limit` pending attempts nobody is working on (see _claimable) to
    `owner`; owners whose heartbeat is older than `dead_before` are dead."""
    result = await session.execute(
        _CLAIM_ATTEMPTS[_dialect(session)],
        _claim_params(now=now, lease=lease, limit=limit, owner=owner, dead_before=dead_before),
        execution_options={"synchronize_session": False},
    )
    return sorted(result.scalars().all(), key=lambda a: a.id or 0)


async def pending_attempt_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    """Which of these attempts still wait for a grade (not deleted, not finished elsewhere)."""
    if not ids:
        return set()
    result = await session.execute(
        sa.select(ATTEMPT.c.id).where(ATTEMPT.c.id.in_(ids), ATTEMPT.c.status == "pending")
    )
    return {r[0] for r in result.all()}


async def finish_attempts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record grades (or why there is none): one executemany UPDATE of still-pending attempts.

    Each row has `attempt_id`, `reason`, `grade_json`, `grader`, `score`, `band`, `tokens_used`.
    """
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


async def delete_user_data(session: AsyncSession, *, team: str, user: str) -> int:
    """Delete a user's answers and profile in one workspace; returns answers deleted."""
    attempt_ids = select(Attempt.id).where(col(Attempt.team) == team, col(Attempt.user) == user)
    await session.execute(
        sa.delete(OutboxMessage).where(
            col(OutboxMessage.attempt_id).in_(attempt_ids), col(OutboxMessage.status) != "sent"
        )
    )
    deleted = await session.execute(
        sa.delete(Attempt).where(col(Attempt.team) == team, col(Attempt.user) == user)
    )
    await session.execute(
        sa.delete(UserProfile).where(col(UserProfile.team) == team, col(UserProfile.user) == user)
    )
    return int(deleted.rowcount)  # type: ignore[attr-defined]


async def delete_attempts_before(session: AsyncSession, cutoff: datetime) -> int:
    deleted = await session.execute(
        sa.delete(Attempt).where(
            col(Attempt.received_at) < cutoff, col(Attempt.status) != "pending"
        )
    )
    return int(deleted.rowcount)  # type: ignore[attr-defined]


# --- outbox --------------------------------------------------------------------


async def enqueue(
    session: AsyncSession,
    *,
    team: str,
    dedupe_key: str,
    kind: str,
    payload: dict[str, Any],
    prompt_id: int | None = None,
    attempt_id: int | None = None,
) -> bool:
    """Queue a message; False if a message with this dedupe key already exists."""
    message = {
        "team": team,
        "dedupe_key": dedupe_key,
        "kind": kind,
        "payload": payload,
        "prompt_id": prompt_id,
        "attempt_id": attempt_id,
    }
    return dedupe_key in await enqueue_many(session, [message])


async def enqueue_many(session: AsyncSession, messages: Sequence[dict[str, Any]]) -> set[str]:
    """Queue messages in one statement, skipping any whose dedupe key is already queued;
    returns the dedupe keys queued now.

    Each message has `team`, `dedupe_key`, `kind`, `payload` (a dict) and optionally
    `prompt_id` / `attempt_id`.
    """
    if not messages:
        return set()
    now = utcnow()
    values = [
        {
            "team": m["team"],
            "dedupe_key": m["dedupe_key"],
            "kind": m["kind"],
            "payload": json.dumps(m["payload"]),
            "channel": str(m["payload"].get("channel") or "")[:32] or None,
            "prompt_id": m.get("prompt_id"),
            "attempt_id": m.get("attempt_id"),
            "status": "pending",
            "attempts": 0,
            "next_try_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    result = await session.execute(_QUEUE_MESSAGES[_dialect(session)], values)
    return {r[0] for r in result.all()}


async def claim_outbox(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    busy: Sequence[str] = (),
    owner: str | None = None,
    dead_before: datetime | None = None,
) -> list[OutboxMessage]:
    """Lease up to `limit` due messages nobody is working on (see _claimable) to `owner`,
    oldest first, in one statement, leaving out those to the `busy` channels."""
    params = _claim_params(now=now, lease=lease, limit=limit, owner=owner, dead_before=dead_before)
    result = await session.execute(
        _CLAIM_MESSAGES[_dialect(session)],
        {**params, "busy": list(busy)},
        execution_options={"synchronize_session": False},
    )
    return sorted(result.scalars().all(), key=lambda m: (m.next_try_at, m.id or 0))


async def mark_sent(session: AsyncSession, sent: Sequence[dict[str, Any]]) -> None:
    """Record posted messages: each has `message_id`, `channel`, `ts`, `when`, and the
    `prompt_id` / `attempt_id` it carried (None when it has none). A few executemany UPDATEs."""
    if not sent:
        return
    await session.execute(
        _MARK_MESSAGE_SENT,
        [
            {
                "message_id": s["message_id"],
                "posted_channel": s["channel"],
                "ts": s["ts"],
                "when": s["when"],
            }
            for s in sent
        ],
    )
    prompts = [
        {"prompt": s["prompt_id"], "ts": s["ts"], "when": s["when"]}
        for s in sent
        if s.get("prompt_id") is not None
    ]
    if prompts:
        await session.execute(_MARK_PROMPT_POSTED, prompts)
    attempts = [
        {"attempt": s["attempt_id"], "when": s["when"]}
        for s in sent
        if s.get("attempt_id") is not None
    ]
    if attempts:
        await session.execute(_MARK_ATTEMPT_POSTED, attempts)


async def reschedule(
    session: AsyncSession, message_id: int, *, at: datetime, error: str, maybe_sent: bool = False
) -> None:
    """Try again at `at`; `maybe_sent`: this try may have reached Slack (a timeout)."""
    values: dict[str, Any] = {"next_try_at": at, "lease_until": None, "owner": None}
    if maybe_sent:
        values["maybe_sent"] = True
    await session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(**values, last_error=error[:200])
    )


async def release(session: AsyncSession, message_id: int, *, at: datetime) -> None:
    """Hand a leased message back untried: its attempt does not count."""
    await session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(next_try_at=at, lease_until=None, owner=None, attempts=OutboxMessage.attempts - 1)
    )


async def mark_failed(session: AsyncSession, message_id: int, *, error: str) -> None:
    await session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(status="failed", lease_until=None, owner=None, last_error=error[:200])
    )


async def next_outbox_due(
    session: AsyncSession, *, now: datetime, busy: Sequence[str] = ()
) -> datetime | None:
    """When the next pending message nobody holds is due, leaving out those to the `busy`
    channels. (A message a dead process holds is found by the next poll.)"""
    lease = col(OutboxMessage.lease_until)
    result = await session.execute(
        select(sa.func.min(OutboxMessage.next_try_at)).where(
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.channel).is_(None) | col(OutboxMessage.channel).not_in(busy),
            lease.is_(None) | (lease < now),
        )
    )
    value: datetime | None = result.scalar_one_or_none()
    return value


# --- lease owners ------------------------------------------------------------------


async def add_owner(
    session: AsyncSession, *, owner: str, host: str, pid: int, now: datetime
) -> None:
    session.add(LeaseOwner(id=owner, host=host[:255], pid=pid, started_at=now, heartbeat_at=now))
    await session.flush()


async def beat(session: AsyncSession, *, owner: str, now: datetime) -> bool:
    """An owner's heartbeat; False if the owner is not registered (any more)."""
    result = await session.execute(
        sa.update(LEASE_OWNER).where(LEASE_OWNER.c.id == owner).values(heartbeat_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def remove_owner(session: AsyncSession, *, owner: str) -> None:
    await session.execute(sa.delete(LEASE_OWNER).where(LEASE_OWNER.c.id == owner))


async def forget_owners(session: AsyncSession, *, before: datetime) -> None:
    """Remove owners whose last heartbeat is older than `before` (their leases stay free)."""
    await session.execute(sa.delete(LEASE_OWNER).where(LEASE_OWNER.c.heartbeat_at < before))


# --- profiles ------------------------------------------------------------------


async def get_profile(session: AsyncSession, *, team: str, user: str) -> UserProfile | None:
    result = await session.execute(
        select(UserProfile).where(col(UserProfile.team) == team, col(UserProfile.user) == user)
    )
    return result.scalars().first()


async def levels_of(session: AsyncSession, who: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The stored level of each (team, user) that has one, in one query."""
    if not who:
        return {}
    result = await session.execute(
        select(UserProfile.team, UserProfile.user, UserProfile.level).where(
            sa.tuple_(UserProfile.team, UserProfile.user).in_(list(who)),
            col(UserProfile.level).is_not(None),
        )
    )
    return {(team, user): str(level) for team, user, level in result.all()}


async def update_profile(session: AsyncSession, *, team: str, user: str, **fields: Any) -> None:
    """Set profile fields (level, leaderboard …), creating the profile on first use."""
    profile = await get_profile(session, team=team, user=user)
    if profile is None:
        session.add(UserProfile(team=team, user=user, **fields))
    else:
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.updated_at = utcnow()
    await session.flush()


# --- schedules -------------------------------------------------------------------


async def add_schedule_once(session: AsyncSession, schedule: Schedule) -> bool:
    """Insert a schedule unless its slot is taken (then False, and nothing written)."""
    return await _add_unless_taken(session, schedule)


async def schedule_like(session: AsyncSession, schedule: Schedule) -> Schedule | None:
    """The channel's first other schedule on the same days, time and timezone."""
    query = select(Schedule).where(
        col(Schedule.team) == schedule.team,
        col(Schedule.channel) == schedule.channel,
        col(Schedule.days) == schedule.days,
        col(Schedule.time) == schedule.time,
        col(Schedule.tz) == schedule.tz,
    )
    if schedule.id is not None:
        query = query.where(col(Schedule.id) != schedule.id)
    result = await session.execute(query.order_by(col(Schedule.id)).limit(1))
    return result.scalars().first()


async def schedules_for_team(session: AsyncSession, *, team: str) -> Sequence[Schedule]:
    result = await session.execute(
        select(Schedule).where(col(Schedule.team) == team).order_by(col(Schedule.id))
    )
    return list(result.scalars().all())


async def get_team_schedule(
    session: AsyncSession, *, team: str, schedule_id: int
) -> Schedule | None:
    result = await session.execute(
        select(Schedule).where(col(Schedule.id) == schedule_id, col(Schedule.team) == team)
    )
    return result.scalars().first()


async def schedules_for_channel(
    session: AsyncSession, *, team: str, channel: str
) -> Sequence[Schedule]:
    result = await session.execute(
        select(Schedule)
        .where(col(Schedule.team) == team, col(Schedule.channel) == channel)
        .order_by(col(Schedule.id))
    )
    return list(result.scalars().all())


async def get_schedule(
    session: AsyncSession, *, team: str, channel: str, schedule_id: int
) -> Schedule | None:
    result = await session.execute(
        select(Schedule).where(
            col(Schedule.id) == schedule_id,
            col(Schedule.team) == team,
            col(Schedule.channel) == channel,
        )
    )
    return result.scalars().first()


async def get_schedule_by_id(session: AsyncSession, schedule_id: int) -> Schedule | None:
    return await session.get(Schedule, schedule_id)


async def active_schedules(session: AsyncSession) -> Sequence[Schedule]:
    result = await session.execute(
        select(Schedule).where(col(Schedule.paused).is_(False)).order_by(col(Schedule.id))
    )
    return list(result.scalars().all())


async def delete_schedule(
    session: AsyncSession, *, team: str, channel: str, schedule_id: int
) -> bool:
    schedule = await get_schedule(session, team=team, channel=channel, schedule_id=schedule_id)
    if schedule is None:
        return False
    await session.execute(sa.delete(ScheduleRun).where(col(ScheduleRun.schedule_id) == schedule_id))
    await session.delete(schedule)
    return True


async def claim_run(
    session: AsyncSession, *, schedule_id: int, fire_time: datetime
) -> ScheduleRun | None:
    """The unique claim on one fire; None when another process (or an earlier run) has it."""
    run = ScheduleRun(schedule_id=schedule_id, fire_time=fire_time)
    return run if await _add_unless_taken(session, run) else None


async def has_run(session: AsyncSession, *, schedule_id: int, fire_time: datetime) -> bool:
    result = await session.execute(
        select(ScheduleRun.id).where(
            col(ScheduleRun.schedule_id) == schedule_id, col(ScheduleRun.fire_time) == fire_time
        )
    )
    return result.first() is not None


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


# --- mock interviews, progress, leaderboard ----------------------------------------


async def add_mock(session: AsyncSession, mock: MockSession) -> MockSession:
    session.add(mock)
    await session.flush()
    return mock


async def mocks_for_prompts(session: AsyncSession, prompt_ids: set[int]) -> dict[int, MockSession]:
    if not prompt_ids:
        return {}
    result = await session.execute(
        select(MockSession).where(col(MockSession.prompt_id).in_(prompt_ids))
    )
    return {m.prompt_id: m for m in result.scalars().all()}


async def save_mock_progress(session: AsyncSession, mock: MockSession) -> None:
    """Write back a mock interview's follow-ups asked and status (it was read earlier)."""
    await session.execute(
        sa.update(MockSession)
        .where(col(MockSession.id) == mock.id)
        .values(asked=mock.asked, status=mock.status)
    )


async def rate_mock_once(session: AsyncSession, mock_id: int, *, rating: int, notes: str) -> bool:
    """Record the interviewer's rating unless the mock interview has one; False if it had."""
    rated = await session.execute(
        sa.update(MockSession)
        .where(col(MockSession.id) == mock_id, col(MockSession.rating).is_(None))
        .values(rating=rating, rating_notes=notes)
    )
    return bool(rated.rowcount)  # type: ignore[attr-defined]


async def get_mock(session: AsyncSession, *, team: str, mock_id: int) -> MockSession | None:
    result = await session.execute(
        select(MockSession).where(col(MockSession.id) == mock_id, col(MockSession.team) == team)
    )
    return result.scalars().first()


async def mocks_of(
    session: AsyncSession, *, team: str, channel: str | None = None
) -> dict[int, MockSession]:
    """A workspace's (or one channel's) mock interviews, by prompt id."""
    query = select(MockSession).where(col(MockSession.team) == team)
    if channel is not None:
        query = query.where(col(MockSession.channel) == channel)
    result = await session.execute(query)
    return {m.prompt_id: m for m in result.scalars().all()}


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


async def leaderboard_users(session: AsyncSession, *, team: str) -> set[str]:
    result = await session.execute(
        select(UserProfile.user).where(
            col(UserProfile.team) == team, col(UserProfile.leaderboard).is_(True)
        )
    )
    return {r[0] for r in result.all()}


async def scheduled_channels(session: AsyncSession) -> list[tuple[str, str, str]]:
    """(team, channel, timezone of its first active schedule) for every channel with one."""
    seen: dict[tuple[str, str], str] = {}
    for schedule in await active_schedules(session):
        seen.setdefault((schedule.team, schedule.channel), schedule.tz)
    return [(team, channel, tz) for (team, channel), tz in seen.items()]


# --- the App Home and the team view ------------------------------------------------


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
