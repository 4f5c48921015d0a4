"""Queries on prompts (a drill thread each) and handled slash commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.storage.claiming import (
    COMMAND_CLAIM,
    dialect,
    insert_skipping,
)
from bot.storage.tables import (
    CommandClaim,
    Prompt,
)

_CLAIM_COMMAND = insert_skipping(COMMAND_CLAIM, ["trigger_id"], COMMAND_CLAIM.c.id)


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


async def claim_command(
    session: AsyncSession, *, team: str, trigger_id: str, now: datetime, keep: timedelta
) -> bool:
    """Claim a slash command by its trigger id; False when it was claimed before. Claims
    older than `keep` are deleted first (a replay that old fails Slack's signature check)."""
    await session.execute(sa.delete(CommandClaim).where(col(CommandClaim.received_at) < now - keep))
    claimed = await session.execute(
        _CLAIM_COMMAND[dialect(session)],
        {"team": team, "trigger_id": trigger_id, "received_at": now},
    )
    return claimed.first() is not None
