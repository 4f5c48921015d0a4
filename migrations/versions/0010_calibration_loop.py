"""calibration loop

"Was this fair?" verdicts on grades (with the levels a person would give), human
interviewers' per-criterion views of paired mocks beside the bot's, and the opt-in to share
disputed answers with the team's calibration review. Each row belongs to a workspace.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, length: int, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "calibration_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("team", 32),
        _text("user", 32),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team", "user", name="uq_calibration_consent"),
    )
    op.create_table(
        "grade_verdict",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("team", 32),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("mock_id", sa.Integer(), nullable=True),
        _text("user", 32),
        _text("question_id", 80),
        sa.Column("fair", sa.Boolean(), nullable=False),
        _text("grader", 80),
        _text("grader_version", 80),
        _text("rubric_version", 40),
        sa.Column("score", sa.Integer(), nullable=False),
        _text("band", 16),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("disputed", sa.Text(), nullable=False),
        sa.Column("proposed_score", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team", "attempt_id", name="uq_grade_verdict_attempt"),
    )
    with op.batch_alter_table("grade_verdict", schema=None) as batch_op:
        batch_op.create_index("ix_grade_verdict_team_user", ["team", "user"], unique=False)
    op.create_table(
        "paired_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("team", 32),
        sa.Column("mock_id", sa.Integer(), nullable=False),
        _text("question_id", 80),
        _text("candidate", 32),
        _text("interviewer", 32),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("bot_levels", sa.Text(), nullable=True),
        sa.Column("bot_score", sa.Integer(), nullable=True),
        _text("bot_band", 16, nullable=True),
        _text("grader", 80, nullable=True),
        _text("rubric_version", 40, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team", "mock_id", name="uq_paired_rating_mock"),
    )


def downgrade() -> None:
    op.drop_table("paired_rating")
    with op.batch_alter_table("grade_verdict", schema=None) as batch_op:
        batch_op.drop_index("ix_grade_verdict_team_user")
    op.drop_table("grade_verdict")
    op.drop_table("calibration_consent")
