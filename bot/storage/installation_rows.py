"""Slack's installation tables (multi-workspace mode) and removing a workspace's data.

The three `slack_*` tables are the ones slack-sdk's `AsyncSQLAlchemyInstallationStore`
and `AsyncSQLAlchemyOAuthStateStore` read and write (same names, columns and index),
declared here on `SQLModel.metadata` so that our Alembic migrations create them
(0003) and `alembic check` watches them, instead of the stores' `create_tables()`
at run time. They differ from slack-sdk's builders in one way on purpose: the
token and webhook columns are wider, because they hold Fernet ciphertext (a token
encrypted at rest is about 2.5 times as long as the token). A test compares these
tables with the builders', column by column.

`WorkspaceRemoval` is the schedule for deleting an uninstalled workspace's data:
one row per team, written when Slack says the app was uninstalled (or its bot
token revoked), deleted when the workspace installs the app again, and carried
out by `purge_team` once `purge_after` has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col, select

from bot.storage import review_rows
from bot.storage.tables import OutboxMessage, Schedule, UTCDateTime, utcnow

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"
SECRET_LENGTH = 1000  # Fernet ciphertext of a token (or a rotated xoxe token) fits easily

_metadata = SQLModel.metadata

installations_table = sa.Table(
    INSTALLATIONS,
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(32), nullable=False),
    sa.Column("app_id", sa.String(32), nullable=False),
    sa.Column("enterprise_id", sa.String(32)),
    sa.Column("enterprise_name", sa.String(200)),
    sa.Column("enterprise_url", sa.String(200)),
    sa.Column("team_id", sa.String(32)),
    sa.Column("team_name", sa.String(200)),
    sa.Column("bot_token", sa.String(SECRET_LENGTH)),
    sa.Column("bot_id", sa.String(32)),
    sa.Column("bot_user_id", sa.String(32)),
    sa.Column("bot_scopes", sa.String(1000)),
    sa.Column("bot_refresh_token", sa.String(SECRET_LENGTH)),
    sa.Column("bot_token_expires_at", sa.DateTime),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("user_token", sa.String(SECRET_LENGTH)),
    sa.Column("user_scopes", sa.String(1000)),
    sa.Column("user_refresh_token", sa.String(SECRET_LENGTH)),
    sa.Column("user_token_expires_at", sa.DateTime),
    sa.Column("incoming_webhook_url", sa.String(SECRET_LENGTH)),
    sa.Column("incoming_webhook_channel", sa.String(200)),
    sa.Column("incoming_webhook_channel_id", sa.String(200)),
    sa.Column("incoming_webhook_configuration_url", sa.String(200)),
    sa.Column("is_enterprise_install", sa.Boolean, default=False, nullable=False),
    sa.Column("token_type", sa.String(32)),
    sa.Column("installed_at", sa.DateTime, nullable=False, default=sa.func.now()),
    sa.Index(
        f"{INSTALLATIONS}_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"
    ),
)

bots_table = sa.Table(
    BOTS,
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(32), nullable=False),
    sa.Column("app_id", sa.String(32), nullable=False),
    sa.Column("enterprise_id", sa.String(32)),
    sa.Column("enterprise_name", sa.String(200)),
    sa.Column("team_id", sa.String(32)),
    sa.Column("team_name", sa.String(200)),
    sa.Column("bot_token", sa.String(SECRET_LENGTH)),
    sa.Column("bot_id", sa.String(32)),
    sa.Column("bot_user_id", sa.String(32)),
    sa.Column("bot_scopes", sa.String(1000)),
    sa.Column("bot_refresh_token", sa.String(SECRET_LENGTH)),
    sa.Column("bot_token_expires_at", sa.DateTime),
    sa.Column("is_enterprise_install", sa.Boolean, default=False, nullable=False),
    sa.Column("installed_at", sa.DateTime, nullable=False, default=sa.func.now()),
    sa.Index(f"{BOTS}_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

oauth_states_table = sa.Table(
    OAUTH_STATES,
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("state", sa.String(200), nullable=False),
    sa.Column("expire_at", sa.DateTime, nullable=False),
)

SLACK_TABLES = frozenset({INSTALLATIONS, BOTS, OAUTH_STATES})


class WorkspaceRemoval(SQLModel, table=True):
    """An uninstalled workspace whose data is deleted once `purge_after` passes."""

    __tablename__ = "workspace_removal"

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32, unique=True)
    reason: str = Field(max_length=32)  # app_uninstalled | tokens_revoked
    removed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    purge_after: datetime = Field(sa_type=UTCDateTime, index=True)


# --- tokens ----------------------------------------------------------------------


async def latest_bot_token(session: AsyncSession, *, client_id: str, team: str) -> str | None:
    """The stored (encrypted) bot token of a workspace's latest installation, if any.

    By team alone: a workspace of an Enterprise Grid org is stored with its
    enterprise id, which the outbox does not keep.
    """
    c = bots_table.c
    result = await session.execute(
        sa.select(c.bot_token)
        .where(c.client_id == client_id, c.team_id == team, c.bot_token.is_not(None))
        .order_by(c.installed_at.desc(), c.id.desc())
        .limit(1)
    )
    value = result.scalar_one_or_none()
    return str(value) if value is not None else None


async def count_installations(session: AsyncSession, *, team: str) -> int:
    """Rows a workspace has in both installation tables (0 once it is uninstalled)."""
    total = 0
    for table in (installations_table, bots_table):
        result = await session.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.team_id == team)
        )
        total += int(result.scalar_one())
    return total


# --- OAuth states --------------------------------------------------------------


async def purge_expired_oauth_states(session: AsyncSession, *, now: datetime) -> int:
    """Delete the install flow's states that expired unused (slack-sdk deletes a state only
    when it is used, and anyone can have one issued by opening the install page)."""
    naive_utc = now.astimezone(UTC).replace(tzinfo=None)  # how slack-sdk stores expire_at
    deleted = await session.execute(
        sa.delete(oauth_states_table).where(oauth_states_table.c.expire_at < naive_utc)
    )
    return int(deleted.rowcount)  # type: ignore[attr-defined]


# --- removal ---------------------------------------------------------------------


async def record_removal(
    session: AsyncSession, *, team: str, reason: str, removed_at: datetime, purge_after: datetime
) -> WorkspaceRemoval:
    """Schedule the purge; a removal already on record (Slack sends two events) stays as it is."""
    existing = await get_removal(session, team=team)
    if existing is not None:
        return existing
    removal = WorkspaceRemoval(
        team=team, reason=reason, removed_at=removed_at, purge_after=purge_after
    )
    try:
        async with session.begin_nested():
            session.add(removal)
            await session.flush()
    except IntegrityError:  # another replica recorded it at the same moment
        found = await get_removal(session, team=team)
        assert found is not None
        return found
    return removal


async def get_removal(session: AsyncSession, *, team: str) -> WorkspaceRemoval | None:
    result = await session.execute(select(WorkspaceRemoval).where(WorkspaceRemoval.team == team))
    return result.scalars().first()


async def cancel_removal(session: AsyncSession, *, team: str) -> bool:
    deleted = await session.execute(
        sa.delete(WorkspaceRemoval).where(col(WorkspaceRemoval.team) == team)
    )
    return bool(deleted.rowcount)  # type: ignore[attr-defined]


async def due_removals(session: AsyncSession, *, now: datetime) -> list[str]:
    result = await session.execute(
        select(WorkspaceRemoval.team)
        .where(col(WorkspaceRemoval.purge_after) <= now)
        .order_by(col(WorkspaceRemoval.purge_after))
    )
    return [str(team) for team in result.scalars().all()]


async def next_removal_due(session: AsyncSession) -> datetime | None:
    result = await session.execute(select(sa.func.min(WorkspaceRemoval.purge_after)))
    value = result.scalar_one_or_none()
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def quiesce_team(session: AsyncSession, *, team: str) -> None:
    """Stop acting for a removed workspace: pause its schedules, drop its unsent messages."""
    await session.execute(sa.update(Schedule).where(col(Schedule.team) == team).values(paused=True))
    await review_rows.pause_team(session, team=team)  # no spaced-review DMs either
    await session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.team) == team, col(OutboxMessage.status) == "pending")
        .values(status="failed", lease_until=None, last_error="workspace uninstalled")
    )


def _team_scoped_tables() -> list[tuple[sa.Table, sa.ForeignKey | None]]:
    """Every app table that holds workspace data, children before parents.

    Found from the metadata, so a table added later with a `team` column (or a
    foreign key to a table with one) is purged without anyone listing it here.
    Each comes with None (it has a `team` column) or the foreign key to follow.
    """
    skip = SLACK_TABLES | {WorkspaceRemoval.__tablename__}
    order: list[tuple[sa.Table, sa.ForeignKey | None]] = []
    for table in reversed(_metadata.sorted_tables):
        if table.name in skip:
            continue
        if "team" in table.c:
            order.append((table, None))
            continue
        for fk in table.foreign_keys:
            if "team" in fk.column.table.c and fk.column.table.name not in skip:
                order.append((table, fk))
                break
    return order


async def purge_team(session: AsyncSession, *, team: str) -> dict[str, int]:
    """Delete everything a workspace left: answers, prompts, schedules, profiles, outbox …"""
    counts: dict[str, int] = {}
    for table, fk in _team_scoped_tables():
        if fk is None:
            where: sa.ColumnElement[bool] = table.c.team == team
        else:
            parent = fk.column.table
            where = fk.parent.in_(sa.select(fk.column).where(parent.c.team == team))
        deleted = await session.execute(sa.delete(table).where(where))
        counts[table.name] = int(deleted.rowcount)  # type: ignore[attr-defined]
    await session.execute(sa.delete(WorkspaceRemoval).where(col(WorkspaceRemoval.team) == team))
    return counts
