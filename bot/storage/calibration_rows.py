"""Queries of the calibration loop: verdicts on grades ("Was this fair?"), human interviewers'
per-criterion views of paired mocks, and the opt-in to share disputed answers. Each row is a
workspace's, and a person's: forget-me and answer retention delete them with the answers."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.storage.claiming import add_unless_taken
from bot.storage.tables import (
    Attempt,
    CalibrationConsent,
    GradeVerdict,
    MockSession,
    PairedRating,
    utcnow,
)


class NewVerdict(TypedDict):
    """A verdict to record (`save_verdict`): the grade it judges and what the author said."""

    team: str
    attempt_id: int
    mock_id: int | None
    user: str
    question_id: str
    fair: bool
    grader: str
    grader_version: str
    rubric_version: str
    score: int
    band: str
    levels: str  # JSON
    disputed: str  # JSON
    proposed_score: int | None
    note: str | None


async def verdict_on(session: AsyncSession, *, team: str, attempt_id: int) -> GradeVerdict | None:
    found = await session.execute(
        select(GradeVerdict).where(
            col(GradeVerdict.team) == team, col(GradeVerdict.attempt_id) == attempt_id
        )
    )
    return found.scalars().first()


async def save_verdict(session: AsyncSession, verdict: NewVerdict) -> GradeVerdict:
    """Record a verdict on an answer; a later one (changed their mind, added detail)
    replaces the earlier, keeping when it was first given."""
    row = await verdict_on(session, team=verdict["team"], attempt_id=verdict["attempt_id"])
    if row is None:
        row = GradeVerdict(**verdict)
        if await add_unless_taken(session, row):
            return row
        return await save_verdict(session, verdict)  # recorded meanwhile: replace that one
    for name, value in verdict.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    await session.flush()
    return row


async def verdicts(
    session: AsyncSession, *, team: str, since: datetime | None = None
) -> list[GradeVerdict]:
    query = select(GradeVerdict).where(col(GradeVerdict.team) == team)
    if since is not None:
        query = query.where(col(GradeVerdict.updated_at) >= since)
    result = await session.execute(query.order_by(col(GradeVerdict.id)))
    return list(result.scalars().all())


async def save_paired_rating(session: AsyncSession, rating: PairedRating) -> bool:
    """Store a paired mock's human view once (the first rating stands, as on the mock)."""
    return await add_unless_taken(session, rating)


async def paired_ratings(
    session: AsyncSession, *, team: str, since: datetime | None = None
) -> list[PairedRating]:
    query = select(PairedRating).where(col(PairedRating.team) == team)
    if since is not None:
        query = query.where(col(PairedRating.created_at) >= since)
    result = await session.execute(query.order_by(col(PairedRating.id)))
    return list(result.scalars().all())


async def mocks_by_id(session: AsyncSession, *, team: str, ids: set[int]) -> dict[int, MockSession]:
    if not ids:
        return {}
    result = await session.execute(
        select(MockSession).where(col(MockSession.team) == team, col(MockSession.id).in_(ids))
    )
    return {int(m.id or 0): m for m in result.scalars().all()}


async def attempts_by_id(session: AsyncSession, *, team: str, ids: set[int]) -> dict[int, Attempt]:
    if not ids:
        return {}
    result = await session.execute(
        select(Attempt).where(col(Attempt.team) == team, col(Attempt.id).in_(ids))
    )
    return {int(a.id or 0): a for a in result.scalars().all()}


async def teams_with_grades(session: AsyncSession) -> list[str]:
    """The workspaces with grades, verdicts or paired ratings (what the CLI reports on)."""
    result = await session.execute(
        sa.union(
            select(Attempt.team).where(col(Attempt.grade_json).is_not(None)),
            select(GradeVerdict.team),
            select(PairedRating.team),
        )
    )
    return sorted(str(team) for (team,) in result.all())


# --- consent -----------------------------------------------------------------------------


async def set_consent(session: AsyncSession, *, team: str, user: str, shared: bool) -> None:
    if shared:
        await add_unless_taken(session, CalibrationConsent(team=team, user=user))
        return
    await session.execute(
        sa.delete(CalibrationConsent).where(
            col(CalibrationConsent.team) == team, col(CalibrationConsent.user) == user
        )
    )


async def consenting(session: AsyncSession, *, team: str) -> set[str]:
    result = await session.execute(
        select(CalibrationConsent.user).where(col(CalibrationConsent.team) == team)
    )
    return {str(user) for (user,) in result.all()}


# --- forget-me and retention ---------------------------------------------------------------


async def delete_user(session: AsyncSession, *, team: str, user: str) -> int:
    """forget-me: the person's verdicts, the paired ratings they gave or were given, and
    their consent, in one workspace. Returns the rows deleted."""
    deleted = 0
    for statement in (
        sa.delete(GradeVerdict).where(
            col(GradeVerdict.team) == team, col(GradeVerdict.user) == user
        ),
        sa.delete(PairedRating).where(
            col(PairedRating.team) == team,
            sa.or_(col(PairedRating.candidate) == user, col(PairedRating.interviewer) == user),
        ),
        sa.delete(CalibrationConsent).where(
            col(CalibrationConsent.team) == team, col(CalibrationConsent.user) == user
        ),
    ):
        result = await session.execute(statement)
        deleted += int(result.rowcount)  # type: ignore[attr-defined]
    return deleted


async def delete_expired(session: AsyncSession, cutoff: datetime) -> int:
    """Answer retention: verdicts on answers that are gone, and verdicts and paired ratings
    older than the answers kept (`cutoff`). Consent is a setting, not data: it stays."""
    gone = ~sa.exists().where(col(Attempt.id) == col(GradeVerdict.attempt_id))
    verdicts = await session.execute(
        sa.delete(GradeVerdict).where(sa.or_(gone, col(GradeVerdict.created_at) < cutoff))
    )
    ratings = await session.execute(
        sa.delete(PairedRating).where(col(PairedRating.created_at) < cutoff)
    )
    return int(verdicts.rowcount) + int(ratings.rowcount)  # type: ignore[attr-defined]
