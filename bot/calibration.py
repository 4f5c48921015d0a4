"""The calibration loop, the use case: "Was this fair?" on a grade (fair, or disputed with the
levels the author would give), the opt-in to share disputed answers, the report per question
and criterion, and the export of disputed and human-rated answers as calibration items.

Only an answer's author judges its grade, and nothing they say changes what was posted.
Paired mocks' human ratings are written by `MockInterviews.rate`; this reads them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calibration_export import Labelled
from bot.calibration_figures import (
    CalibrationReport,
    Disputed,
    GradeRecord,
    PairRecord,
    VerdictRecord,
    report,
    version_of,
)
from bot.grading.grade import MAX_LEVEL, Band, Grade, band_for, with_rubric_weights
from bot.grading.versions import grader_version
from bot.history import followups_asked, mock_scorecard
from bot.labelled_sets import implied_score
from bot.questions import Question, QuestionBank
from bot.storage import attempt_rows, calibration_rows, mock_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import Attempt, GradeVerdict, MockSession, PairedRating

EXCERPT = 160  # characters of an answer quoted in the report
RATING_BANDS: dict[int, Band] = {5: "strong", 4: "solid", 3: "developing", 2: "weak", 1: "weak"}


class Verdict(Enum):
    """What became of a "Was this fair?" click or form."""

    RECORDED = "recorded"
    NOT_THE_AUTHOR = "not_the_author"  # only the answer's author judges its grade
    GONE = "gone"  # the answer was deleted (forget-me, retention), or never was


@dataclass(frozen=True)
class Judged:
    """The grade a fairness control is about, and whose answer it graded."""

    key: str  # attempt:<id> (a feedback) or mock:<id> (a scorecard)
    question: Question
    grade: Grade
    author: str
    attempt_id: int
    mock_id: int | None
    answer: str


@dataclass(frozen=True)
class DisputeForm:
    """What the dispute form shows: the grade's levels, whether the author shares, and what
    they said in an earlier dispute of this grade (to change rather than retype)."""

    judged: Judged
    shared: bool
    levels: dict[str, int] = field(default_factory=dict)
    score: int | None = None
    note: str | None = None


def human_band(question: Question, rating: int, levels: dict[str, int]) -> Band:
    """The interviewer's band: from their met/partly/missed when they marked every criterion
    (by the scoring rule, without mistakes), else from the 1-5 rating (5 strong, 4 solid,
    3 developing, 1-2 weak)."""
    if levels and all(c.id in levels for c in question.criteria):
        return band_for(implied_score(question, levels, ()))
    return RATING_BANDS.get(rating, "weak")


def _levels(grade: Grade) -> dict[str, int]:
    return {c.id: c.level for c in grade.criteria}


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


class Calibration:
    def __init__(self, *, bank: QuestionBank, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._bank = bank
        self._sessions = sessions

    # --- what a control is about ------------------------------------------------------------

    async def _judged(self, session: AsyncSession, *, team: str, key: str) -> Judged | None:
        kind, _, number = key.partition(":")
        if not number.isdigit():
            return None
        if kind == "attempt":
            attempt = await attempt_rows.get_attempt(session, team=team, attempt_id=int(number))
            question = self._bank.get(attempt.question_id) if attempt else None
            if attempt is None or attempt.id is None or question is None or not attempt.grade_json:
                return None
            grade = with_rubric_weights(question, Grade.from_json(json.loads(attempt.grade_json)))
            return Judged(key, question, grade, attempt.user, attempt.id, None, attempt.answer)
        if kind == "mock":
            mock = await mock_rows.get_mock(session, team=team, mock_id=int(number))
            question = self._bank.get(mock.question_id) if mock else None
            if mock is None or mock.id is None or question is None:
                return None
            answers = await self._interview(session, mock)
            card = mock_scorecard(question, mock, answers) if answers else None
            if card is None or answers[-1].id is None:
                return None
            text = "\n\n".join(a.answer.strip() for a in answers)
            return Judged(key, question, card, mock.candidate, answers[-1].id, mock.id, text)
        return None

    async def _own(
        self, session: AsyncSession, *, team: str, user: str, key: str
    ) -> Judged | Verdict:
        """The grade `key` stands for, if `user` wrote its answer; else why not."""
        judged = await self._judged(session, team=team, key=key)
        if judged is None:
            return Verdict.GONE
        return judged if judged.author == user else Verdict.NOT_THE_AUTHOR

    async def _interview(self, session: AsyncSession, mock: MockSession) -> list[Attempt]:
        """The candidate's answers that make up a mock interview (what its scorecard graded)."""
        key = (mock.prompt_id, mock.candidate)
        answers = (await attempt_rows.graded_attempts_in_threads(session, {key})).get(key, [])
        return answers[: 1 + followups_asked(mock)]

    # --- "Was this fair?" ---------------------------------------------------------------------

    async def fair(self, *, team: str, user: str, key: str) -> Verdict:
        """Thumbs up: the author found the grade fair (replacing any dispute of theirs)."""
        return await self._record(team=team, user=user, key=key, fair=True)

    async def open_dispute(self, *, team: str, user: str, key: str) -> DisputeForm | Verdict:
        """Thumbs down: recorded at once (closing the form keeps it); the form then asks
        which criteria were misjudged."""
        async with unit_of_work(self._sessions) as session:
            judged = await self._own(session, team=team, user=user, key=key)
            if isinstance(judged, Verdict):
                return judged
            earlier = await calibration_rows.verdict_on(
                session, team=team, attempt_id=judged.attempt_id
            )
            if earlier is None or earlier.fair:  # a dispute already made keeps its detail
                row = self._verdict(team, judged, fair=False)
                await calibration_rows.save_verdict(session, row)
            shared = user in await calibration_rows.consenting(session, team=team)
        if earlier is None or earlier.fair:
            return DisputeForm(judged, shared)
        levels = _json_levels(earlier.disputed)
        return DisputeForm(judged, shared, levels, earlier.proposed_score, earlier.note)

    async def dispute(
        self,
        *,
        team: str,
        user: str,
        key: str,
        levels: dict[str, int],
        score: int | None = None,
        note: str | None = None,
        share: bool | None = None,
    ) -> Verdict:
        """The dispute form: the level the author would give each criterion they marked (those
        at the bot's level, or unknown, are dropped), the score they'd give, a note; `share`
        sets their opt-in (None leaves it)."""
        return await self._record(
            team=team,
            user=user,
            key=key,
            fair=False,
            levels=levels,
            score=score,
            note=note,
            share=share,
        )

    async def _record(
        self,
        *,
        team: str,
        user: str,
        key: str,
        fair: bool,
        levels: dict[str, int] | None = None,
        score: int | None = None,
        note: str | None = None,
        share: bool | None = None,
    ) -> Verdict:
        async with unit_of_work(self._sessions) as session:
            judged = await self._own(session, team=team, user=user, key=key)
            if isinstance(judged, Verdict):
                return judged
            row = self._verdict(team, judged, fair=fair, levels=levels, score=score, note=note)
            await calibration_rows.save_verdict(session, row)
            if share is not None:
                await calibration_rows.set_consent(session, team=team, user=user, shared=share)
        return Verdict.RECORDED

    def _verdict(
        self,
        team: str,
        judged: Judged,
        *,
        fair: bool,
        levels: dict[str, int] | None = None,
        score: int | None = None,
        note: str | None = None,
    ) -> calibration_rows.NewVerdict:
        bot = _levels(judged.grade)
        disputed = {
            c: lv
            for c, lv in (levels or {}).items()
            if c in bot and 0 <= lv <= MAX_LEVEL and lv != bot[c]
        }
        grade = judged.grade
        return {
            "team": team,
            "attempt_id": judged.attempt_id,
            "mock_id": judged.mock_id,
            "user": judged.author,
            "question_id": judged.question.id,
            "fair": fair,
            "grader": grade.grader,
            "grader_version": grader_version(grade.grader),
            "rubric_version": grade.rubric_version,
            "score": grade.score,
            "band": grade.band,
            "levels": json.dumps(bot),
            "disputed": json.dumps(disputed),
            "proposed_score": score if score is not None and 0 <= score <= 100 else None,
            "note": (note or "").strip()[:1000] or None,
        }

    # --- consent ----------------------------------------------------------------------------

    async def set_sharing(self, *, team: str, user: str, shared: bool) -> None:
        async with unit_of_work(self._sessions) as session:
            await calibration_rows.set_consent(session, team=team, user=user, shared=shared)

    async def sharing(self, *, team: str, user: str) -> bool:
        async with unit_of_work(self._sessions, read_only=True) as session:
            return user in await calibration_rows.consenting(session, team=team)

    # --- the report ---------------------------------------------------------------------------

    async def teams(self) -> list[str]:
        """The workspaces with grades, verdicts or paired ratings."""
        async with unit_of_work(self._sessions, read_only=True) as session:
            return await calibration_rows.teams_with_grades(session)

    async def report(self, *, team: str, since: datetime | None = None) -> CalibrationReport:
        async with unit_of_work(self._sessions, read_only=True) as session:
            attempts = await attempt_rows.graded_attempts(session, team=team, since=since)
            mocks = await mock_rows.mocks_of(session, team=team)
            verdicts = await calibration_rows.verdicts(session, team=team, since=since)
            ratings = await calibration_rows.paired_ratings(session, team=team, since=since)
            shared = await calibration_rows.consenting(session, team=team)
            judged = await calibration_rows.attempts_by_id(
                session, team=team, ids={v.attempt_id for v in verdicts if v.user in shared}
            )
            pairs = [p for r in ratings if (p := await self._pair(session, r, mocks)) is not None]
        return report(
            self._bank,
            team=team,
            since=since,
            grades=self._grades(attempts, mocks),
            verdicts=[
                self._verdict_record(v, judged.get(v.attempt_id), v.user in shared)
                for v in verdicts
            ],
            pairs=pairs,
        )

    async def top_disputed(
        self, *, team: str, limit: int = 3, since: datetime | None = None
    ) -> list[Disputed]:
        """The most disputed criteria of the workspace (the admins' App Home)."""
        return list((await self.report(team=team, since=since)).most_disputed[:limit])

    def _grades(
        self, attempts: Sequence[Attempt], mocks: dict[int, MockSession]
    ) -> list[GradeRecord]:
        """One grade per feedback and per mock scorecard (the grades people saw)."""
        out: list[GradeRecord] = []
        interviews: dict[int, list[Attempt]] = {}
        for attempt in attempts:
            mock = mocks.get(attempt.prompt_id)
            if mock is None:
                grade = json.loads(attempt.grade_json or "{}")
                version = version_of(str(grade.get("rubric_version", "")), attempt.grader or "")
                out.append(GradeRecord(attempt.question_id, version, attempt.received_at))
            elif attempt.user == mock.candidate:
                interviews.setdefault(attempt.prompt_id, []).append(attempt)
        for prompt_id, answers in interviews.items():
            mock = mocks[prompt_id]
            question = self._bank.get(mock.question_id)
            card = mock_scorecard(question, mock, answers) if question else None
            if card is not None:
                version = version_of(card.rubric_version, card.grader)
                out.append(GradeRecord(mock.question_id, version, answers[-1].received_at))
        return out

    def _verdict_record(
        self, row: GradeVerdict, attempt: Attempt | None, shared: bool
    ) -> VerdictRecord:
        levels, disputed = _json_levels(row.levels), _json_levels(row.disputed)
        excerpts: dict[str, str] = {}
        if shared and attempt is not None:
            evidence = {
                c["id"]: c.get("evidence")
                for c in json.loads(attempt.grade_json or "{}").get("criteria", [])
            }
            excerpts = {c: _excerpt(evidence.get(c) or attempt.answer) for c in disputed}
        return VerdictRecord(
            question_id=row.question_id,
            version=version_of(row.rubric_version, row.grader),
            fair=row.fair,
            levels=levels,
            disputed=disputed,
            at=row.updated_at,
            grader_version=row.grader_version,
            proposed_score=row.proposed_score,
            note=_excerpt(row.note) if shared and row.note else None,
            excerpts=excerpts,
        )

    async def _pair(
        self, session: AsyncSession, row: PairedRating, mocks: dict[int, MockSession]
    ) -> PairRecord | None:
        """A paired rating beside the bot's scorecard: as stored with the rating, or, when the
        rating came first, the scorecard made since (None while there is none)."""
        question = self._bank.get(row.question_id)
        if question is None:
            return None
        human = _json_levels(row.levels)
        if row.bot_levels is not None and row.bot_score is not None and row.bot_band:
            bot_levels = _json_levels(row.bot_levels)
            score, band = row.bot_score, row.bot_band
            version = version_of(row.rubric_version or "", row.grader or "")
        else:
            mock = next((m for m in mocks.values() if m.id == row.mock_id), None)
            answers = await self._interview(session, mock) if mock else []
            card = mock_scorecard(question, mock, answers) if mock and answers else None
            if card is None:
                return None
            bot_levels, score, band = _levels(card), card.score, card.band
            version = version_of(card.rubric_version, card.grader)
        return PairRecord(
            question_id=row.question_id,
            version=version,
            rating=row.rating,
            human_levels=human,
            human_band=human_band(question, row.rating, human),
            bot_levels=bot_levels,
            bot_score=score,
            bot_band=band,  # type: ignore[arg-type]
        )

    # --- the export ---------------------------------------------------------------------------

    async def export(self, *, team: str) -> dict[str, list[Labelled]]:
        """Disputed answers (with at least one criterion marked) and human-rated paired mocks
        (with at least one criterion marked), by question id, only from authors who opted in
        to share; answers since deleted are gone from here too."""
        found: list[Labelled] = []
        async with unit_of_work(self._sessions, read_only=True) as session:
            shared = await calibration_rows.consenting(session, team=team)
            for row in await calibration_rows.verdicts(session, team=team):
                disputed = _json_levels(row.disputed)
                if row.fair or not disputed or row.user not in shared:
                    continue
                key = f"mock:{row.mock_id}" if row.mock_id else f"attempt:{row.attempt_id}"
                judged = await self._judged(session, team=team, key=key)
                said = (
                    f"; their score {row.proposed_score}" if row.proposed_score is not None else ""
                )
                note = f"; their note: {row.note}" if row.note else ""
                found += _labelled(
                    judged,
                    f"{team.lower()}-dispute-{row.id}",
                    disputed,
                    f"Disputed by its author: {row.grader} ({row.grader_version}, rubric "
                    f"{row.rubric_version}) gave {row.score}/100{said}{note}",
                )
            for rating in await calibration_rows.paired_ratings(session, team=team):
                human = _json_levels(rating.levels)
                if not human or rating.candidate not in shared:
                    continue
                judged = await self._judged(session, team=team, key=f"mock:{rating.mock_id}")
                found += _labelled(
                    judged,
                    f"{team.lower()}-mock-{rating.mock_id}",
                    human,
                    f"A paired mock rated {rating.rating}/5 by its interviewer, who marked "
                    f"{len(human)} criteria; the bot's scorecard gave "
                    f"{judged.grade.score if judged else '?'}/100",
                )
        out: dict[str, list[Labelled]] = {}
        for item in found:
            out.setdefault(item.question.id, []).append(item)
        return out


def _json_levels(text: str | None) -> dict[str, int]:
    return {str(k): int(v) for k, v in json.loads(text or "{}").items()}


def _labelled(judged: Judged | None, id: str, levels: dict[str, int], note: str) -> list[Labelled]:
    """The answer judged, labelled with the people's levels (none when it is gone)."""
    if judged is None:
        return []
    return [
        Labelled(
            id=id,
            question=judged.question,
            answer=judged.answer,
            levels=levels,
            bot_levels=_levels(judged.grade),
            mistakes=tuple(m.id for m in judged.grade.mistakes),
            note=note,
        )
    ]
