"""schedule limits and slots

A schedule may keep to some topics or difficulties (`topics`, `difficulties`: JSON
lists, empty for anything), and its days, time and timezone in its channel are its
`slot`, unique, so the same drill cannot be scheduled twice in one channel. Rows made
before this rule get their slot, except those repeating an earlier row's (left NULL:
they keep working, and the earlier row is the one a new duplicate is pointed at).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topics", sa.Text(), server_default="[]", nullable=False))
        batch_op.add_column(
            sa.Column("difficulties", sa.Text(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    # The first schedule of each channel, days, time and timezone takes the slot.
    op.execute(
        "UPDATE schedule SET slot = team || ':' || channel || ':' || days || ':' || time "
        "|| ':' || tz WHERE id IN (SELECT MIN(id) FROM schedule "
        "GROUP BY team, channel, days, time, tz)"
    )
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_schedule_slot"), ["slot"])


def downgrade() -> None:
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_schedule_slot"), type_="unique")
        batch_op.drop_column("slot")
        batch_op.drop_column("difficulties")
        batch_op.drop_column("topics")
