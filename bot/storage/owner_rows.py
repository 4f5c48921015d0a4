"""Queries on lease owners: the processes whose heartbeat keeps their leases."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.claiming import (
    LEASE_OWNER,
)
from bot.storage.tables import (
    LeaseOwner,
)


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
