"""Queries on the outbox: messages queued, claimed for sending, marked sent or failed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.storage.claiming import (
    ATTEMPT,
    NOW,
    OUTBOX,
    PROMPT,
    claim_params,
    claim_statement,
    dialect,
    insert_skipping,
)
from bot.storage.tables import (
    OutboxMessage,
    utcnow,
)


class QueuedMessage(TypedDict):
    """A message to queue (`enqueue_many`): its route, and the payload the poster sends."""

    team: str
    dedupe_key: str
    kind: str
    payload: dict[str, Any]
    channel: str
    thread_ts: NotRequired[str | None]
    person: NotRequired[str | None]
    prompt_id: NotRequired[int | None]
    attempt_id: NotRequired[int | None]


class SentMark(TypedDict):
    """A posted message (`mark_sent`), with the prompt or attempt it carried."""

    message_id: int
    channel: str
    ts: str
    when: datetime
    prompt_id: int | None
    attempt_id: int | None


_QUEUE_MESSAGES = insert_skipping(OUTBOX, ["dedupe_key"], OUTBOX.c.dedupe_key)
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


# Channels a sender of this process is still posting to: their messages wait for it.
_NOT_BUSY = sa.or_(
    col(OutboxMessage.channel).is_(None),
    col(OutboxMessage.channel).not_in(sa.bindparam("busy", expanding=True)),
)
_CLAIM_MESSAGES = claim_statement(
    OutboxMessage,
    (
        col(OutboxMessage.status) == "pending",
        col(OutboxMessage.next_try_at) <= NOW,
        _NOT_BUSY,
    ),
    (col(OutboxMessage.next_try_at), col(OutboxMessage.id)),
    attempts=OutboxMessage.attempts + 1,
    # A lease still set was not ended by a record of the try (sent, failed, rescheduled,
    # given back): its process died, or a pass of this one failed, maybe after posting.
    maybe_sent=sa.or_(col(OutboxMessage.maybe_sent), col(OutboxMessage.lease_until).is_not(None)),
)


async def enqueue(
    session: AsyncSession,
    *,
    team: str,
    dedupe_key: str,
    kind: str,
    payload: dict[str, Any],
    channel: str,
    thread_ts: str | None = None,
    person: str | None = None,
    prompt_id: int | None = None,
    attempt_id: int | None = None,
) -> bool:
    """Queue a message for `channel` (in `thread_ts`, in `person`'s conversation); False if a
    message with this dedupe key already exists."""
    message: QueuedMessage = {
        "team": team,
        "dedupe_key": dedupe_key,
        "kind": kind,
        "payload": payload,
        "channel": channel,
        "thread_ts": thread_ts,
        "person": person,
        "prompt_id": prompt_id,
        "attempt_id": attempt_id,
    }
    return dedupe_key in await enqueue_many(session, [message])


async def enqueue_many(session: AsyncSession, messages: Sequence[QueuedMessage]) -> set[str]:
    """Queue messages in one statement, skipping any whose dedupe key is already queued;
    returns the dedupe keys queued now."""
    if not messages:
        return set()
    now = utcnow()
    values = [
        {
            "team": m["team"],
            "dedupe_key": m["dedupe_key"],
            "kind": m["kind"],
            "payload": json.dumps(m["payload"]),
            "channel": m["channel"],
            "thread_ts": m.get("thread_ts"),
            "person": m.get("person"),
            "prompt_id": m.get("prompt_id"),
            "attempt_id": m.get("attempt_id"),
            "status": "pending",
            "attempts": 0,
            "next_try_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    result = await session.execute(_QUEUE_MESSAGES[dialect(session)], values)
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
    """Lease up to `limit` due messages nobody is working on (see claimable) to `owner`,
    oldest first, in one statement, leaving out those to the `busy` channels."""
    params = claim_params(now=now, lease=lease, limit=limit, owner=owner, dead_before=dead_before)
    result = await session.execute(
        _CLAIM_MESSAGES[dialect(session)],
        {**params, "busy": list(busy)},
        execution_options={"synchronize_session": False},
    )
    return sorted(result.scalars().all(), key=lambda m: (m.next_try_at, m.id or 0))


async def mark_sent(session: AsyncSession, sent: Sequence[SentMark]) -> None:
    """Record posted messages, in a few executemany UPDATEs."""
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
