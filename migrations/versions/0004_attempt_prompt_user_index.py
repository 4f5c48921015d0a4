"""attempt index on (prompt_id, user)

A grading batch reads the earlier grades of its answerers in their threads; a thread is
its prompt, so (prompt_id, user) finds them without scanning every attempt. It replaces
the index on prompt_id alone, whose lookups it also serves.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 23:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_attempt_prompt_user", "attempt", ["prompt_id", "user"], unique=False)
    op.drop_index("ix_attempt_prompt_id", table_name="attempt")


def downgrade() -> None:
    op.create_index("ix_attempt_prompt_id", "attempt", ["prompt_id"], unique=False)
    op.drop_index("ix_attempt_prompt_user", table_name="attempt")
