"""How rows are claimed and written in bulk: one statement per claim, per dialect, so
any number of processes can share one database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from bot.storage.tables import (
    UTCDateTime,
)

# The tables behind the models, for Core statements that write many rows in one round trip.
ATTEMPT = SQLModel.metadata.tables["attempt"]
OUTBOX = SQLModel.metadata.tables["outbox_message"]
PROMPT = SQLModel.metadata.tables["prompt"]
COMMAND_CLAIM = SQLModel.metadata.tables["command_claim"]
LEASE_OWNER = SQLModel.metadata.tables["lease_owner"]


# The hot path's write statements, built once: a statement object reused keeps its cache
# key, which SQLAlchemy otherwise derives afresh by walking the statement on every call.
def insert_skipping(table: sa.Table, unique: list[str], *returned: Any) -> dict[str, Any]:
    """INSERT … ON CONFLICT (unique) DO NOTHING RETURNING …, per dialect: the rows a
    unique key already holds are skipped, and the statement says which rows went in."""
    return {
        name: dialect.insert(table)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(*returned)
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    }


NOW = sa.bindparam("now", type_=UTCDateTime())
CLAIMANT = sa.bindparam("claimant", type_=sa.String())
DEAD_BEFORE = sa.bindparam("dead_before", type_=UTCDateTime())


def claimable(model: Any) -> Any:
    """A row nobody is working on: never leased, or given back; or its lease ran out and
    was this process's own (a pass that failed) or from before lease owners (migration
    0005); or its owner's heartbeat has stopped (see liveness.py). A live owner's lease
    is never taken, however long ago it ran out."""
    lease, owner = col(model.lease_until), col(model.owner)
    alive = sa.exists().where(LEASE_OWNER.c.id == owner, LEASE_OWNER.c.heartbeat_at >= DEAD_BEFORE)
    return sa.or_(
        lease.is_(None),
        sa.and_(lease < NOW, sa.or_(owner.is_(None), owner == CLAIMANT)),
        sa.and_(owner.is_not(None), ~alive),
    )


def claim_statement(
    model: Any, free: tuple[Any, ...], order: tuple[Any, ...], **also: Any
) -> dict[str, Any]:
    """UPDATE … the first `limit` free rows … RETURNING them: one statement, per dialect.

    SQLite: WHERE id IN (the first free rows) AND still free. Its conditions are checked
    again on each row as it is updated; SQLite has one writer at a time, so no claim races.
    PostgreSQL: the first free rows are chosen in a CTE with FOR UPDATE SKIP LOCKED (run
    once), so two claims at once take different rows: each row goes to exactly one, and
    the second claim gets the next rows rather than none.
    """
    free = (*free, claimable(model))
    first = select(model.id).where(*free).order_by(*order).limit(sa.bindparam("limit"))
    locked = first.with_for_update(skip_locked=True).cte("claimable")
    # `also`: more columns to set
    claim = (
        sa.update(model)
        .values(lease_until=sa.bindparam("until"), owner=CLAIMANT, **also)
        .returning(model)
    )
    return {
        "sqlite": claim.where(col(model.id).in_(first.scalar_subquery()), *free),
        "postgresql": claim.where(col(model.id) == locked.c.id, *free),
    }


def claim_params(
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


async def claim_rows(
    session: AsyncSession,
    statements: dict[str, Any],
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    owner: str | None,
    dead_before: datetime | None,
) -> list[Any]:
    """Run a `claim_statement` for this session's dialect; the rows claimed, by id."""
    result = await session.execute(
        statements[dialect(session)],
        claim_params(now=now, lease=lease, limit=limit, owner=owner, dead_before=dead_before),
        execution_options={"synchronize_session": False},
    )
    return sorted(result.scalars().all(), key=lambda row: row.id or 0)


def dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def add_unless_taken(session: AsyncSession, row: Any) -> bool:
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
