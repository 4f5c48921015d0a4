"""outbox routing columns

A queued message's thread and person (whose conversation it is part of) get columns of their
own, beside its channel, so the sender routes and orders messages without reading their
payload. Messages still waiting get theirs from the payload they were queued with.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:00:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX = sa.table(
    "outbox_message",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("payload", sa.Text),
    sa.column("channel", sa.String),
    sa.column("thread_ts", sa.String),
    sa.column("person", sa.String),
)


def _route(payload: str) -> dict[str, str | None]:
    try:
        data = json.loads(payload)
    except ValueError:
        data = {}
    event = (data.get("metadata") or {}).get("event_payload") or {}
    return {
        "channel": str(data.get("channel") or "")[:32] or None,
        "thread_ts": str(data.get("thread_ts") or "")[:32] or None,
        "person": str(event.get("user") or "")[:32] or None,
    }


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("thread_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(OUTBOX.c.id, OUTBOX.c.payload).where(OUTBOX.c.status == "pending")
    ).all()
    for message_id, payload in waiting:
        connection.execute(
            sa.update(OUTBOX).where(OUTBOX.c.id == message_id).values(**_route(payload))
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("person")
        batch_op.drop_column("thread_ts")
