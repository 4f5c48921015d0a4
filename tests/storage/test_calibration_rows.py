"""The calibration loop's rows follow the answers: forget-me, answer retention and a
workspace's purge delete them, and never another person's or workspace's."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.retention import Retention
from bot.storage import attempt_rows, calibration_rows, installation_rows, profile_rows, prompt_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import (
    Attempt,
    CalibrationConsent,
    GradeVerdict,
    PairedRating,
    utcnow,
)


async def _answer(session: AsyncSession, team: str, user: str) -> int:
    prompt = await prompt_rows.add_prompt(
        session, team=team, channel="C1", question_id="deploy-ml-models", source="command"
    )
    await attempt_rows.insert_attempts(
        session,
        [
            {
                "team": team,
                "channel": "C1",
                "thread_ts": f"{prompt.id}.0",
                "message_ts": f"{prompt.id}.{user}",
                "user": user,
                "prompt_id": int(prompt.id or 0),
                "question_id": "deploy-ml-models",
                "answer": "we ship behind a canary",
                "event_id": None,
            }
        ],
    )
    found = await session.execute(
        sa.select(Attempt.id).where(Attempt.team == team, Attempt.user == user)
    )
    attempt_id = int(found.scalars().all()[-1])
    await session.execute(
        sa.update(Attempt).where(Attempt.id == attempt_id).values(status="graded", grade_json="{}")
    )
    return attempt_id


async def _judged(session: AsyncSession, team: str, user: str, *, mock_id: int = 1) -> None:
    """An answer of `user`, their dispute of it, a paired rating they got, their opt-in."""
    attempt_id = await _answer(session, team, user)
    await calibration_rows.save_verdict(
        session,
        {
            "team": team,
            "attempt_id": attempt_id,
            "mock_id": None,
            "user": user,
            "question_id": "deploy-ml-models",
            "fair": False,
            "grader": "rubric",
            "grader_version": "rubric@abc",
            "rubric_version": "1",
            "score": 40,
            "band": "developing",
            "levels": '{"story": 0}',
            "disputed": '{"story": 2}',
            "proposed_score": None,
            "note": None,
        },
    )
    await calibration_rows.save_paired_rating(
        session,
        PairedRating(
            team=team,
            mock_id=mock_id,
            question_id="deploy-ml-models",
            candidate=user,
            interviewer="U0INTERVIEWER",
            rating=3,
        ),
    )
    await calibration_rows.set_consent(session, team=team, user=user, shared=True)


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, set[tuple[str, str]]]:
    async with unit_of_work(sessions, read_only=True) as session:
        return {
            "verdicts": {
                (v.team, v.user) for v in (await session.execute(sa.select(GradeVerdict))).scalars()
            },
            "ratings": {
                (r.team, r.candidate)
                for r in (await session.execute(sa.select(PairedRating))).scalars()
            },
            "consent": {
                (c.team, c.user)
                for c in (await session.execute(sa.select(CalibrationConsent))).scalars()
            },
        }


async def test_a_later_verdict_replaces_the_earlier(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        await _judged(session, "T1", "U1")
        [verdict] = await calibration_rows.verdicts(session, team="T1")
        first = verdict.created_at
        changed = {c.name: getattr(verdict, c.name) for c in GradeVerdict.__table__.columns}
        changed = {k: v for k, v in changed.items() if k not in ("id", "created_at", "updated_at")}
        await calibration_rows.save_verdict(session, {**changed, "fair": True})  # type: ignore[typeddict-item]
    async with unit_of_work(sessions) as session:
        [verdict] = await calibration_rows.verdicts(session, team="T1")
        assert verdict.fair and verdict.created_at == first
        assert not await calibration_rows.save_paired_rating(
            session,
            PairedRating(
                team="T1", mock_id=1, question_id="q", candidate="U1", interviewer="U2", rating=1
            ),
        )  # one human view per mock: the first stands


async def test_forget_me_deletes_only_that_persons_rows_in_that_workspace(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        await _judged(session, "T1", "U1", mock_id=1)
        await _judged(session, "T1", "U2", mock_id=2)
        await _judged(session, "T2", "U1", mock_id=1)
    async with unit_of_work(sessions) as session:
        await profile_rows.delete_user_data(session, team="T1", user="U1")
    rows = await _rows(sessions)
    for kind in ("verdicts", "ratings", "consent"):
        assert rows[kind] == {("T1", "U2"), ("T2", "U1")}, kind
    # The interviewer's own forget-me takes the ratings they gave.
    async with unit_of_work(sessions) as session:
        await profile_rows.delete_user_data(session, team="T2", user="U0INTERVIEWER")
    assert (await _rows(sessions))["ratings"] == {("T1", "U2")}


async def test_retention_takes_verdicts_and_ratings_with_the_answers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        await _judged(session, "T1", "U1", mock_id=1)
        await _judged(session, "T1", "U2", mock_id=2)
        old = utcnow() - timedelta(days=40)
        await session.execute(
            sa.update(Attempt).where(Attempt.user == "U1").values(received_at=old)
        )
        await session.execute(
            sa.update(PairedRating).where(PairedRating.candidate == "U1").values(created_at=old)
        )
    assert await Retention(sessions, days=30).purge() == 1
    rows = await _rows(sessions)
    assert rows["verdicts"] == {("T1", "U2")} and rows["ratings"] == {("T1", "U2")}
    assert rows["consent"] == {("T1", "U1"), ("T1", "U2")}  # a setting, not data


async def test_a_workspace_purge_takes_its_calibration_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        await _judged(session, "T1", "U1")
        await _judged(session, "T2", "U1")
    async with unit_of_work(sessions) as session:
        counts = await installation_rows.purge_team(session, team="T1")
    assert counts["grade_verdict"] == counts["paired_rating"] == counts["calibration_consent"] == 1
    rows = await _rows(sessions)
    assert all(found == {("T2", "U1")} for found in rows.values())
