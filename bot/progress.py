"""Progress from graded answers: personal stats, the leaderboard, and the weekly digest.

Pure: works on `Scored` records (one per graded answer) and the question bank.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.questions import QuestionBank

PRIOR_SCORE = 50.0  # the leaderboard's prior: a newcomer starts near the middle …
PRIOR_WEIGHT = 3.0  # … and needs a few answers to move away from it
IMPROVED_BY = 5.0  # points: the least rise the digest calls "most improved"
RECENT = 10  # scores listed in stats


@dataclass(frozen=True)
class Scored:
    user: str
    question_id: str
    score: int
    when: datetime
    levels: dict[str, int]  # criterion id -> level
    mistakes: tuple[str, ...]
    mock: bool = False  # a mock interview, counted once: its scorecard


@dataclass(frozen=True)
class Coverage:
    criterion_id: str
    name: str
    rate: float  # share of answers that earned at least level 1
    answers: int
    question_id: str = ""  # criteria are the question's own: ids repeat across questions
    question_title: str = ""


@dataclass(frozen=True)
class QuestionProgress:
    question_id: str
    title: str
    answers: int  # drill answers on it
    mocks: int  # mock interviews on it
    best: int
    last_practised: datetime
    coverage: tuple[Coverage, ...]  # its criteria, in the rubric's order


@dataclass(frozen=True)
class Stats:
    attempts: int  # drill answers plus mock interviews (each counted once)
    mocks: int
    average: float
    best: int
    recent_average: float | None  # last 30 days
    previous_average: float | None  # the 30 days before
    recent_scores: tuple[int, ...]  # the last ten, oldest first
    coverage: tuple[Coverage, ...]  # per question and criterion, weakest first
    by_question: tuple[QuestionProgress, ...]  # most recently practised first
    weakest: Coverage | None
    top_mistake: tuple[str, int] | None  # (name, times)
    streak_days: int


def _avg(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def coverage(records: list[Scored], bank: QuestionBank) -> tuple[Coverage, ...]:
    """How often each criterion was earned, per question (a criterion belongs to its
    question: two questions' `detection` are different skills), weakest first."""
    hits: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in records:
        for cid, level in r.levels.items():
            hits[(r.question_id, cid)].append(1 if level > 0 else 0)
    out: list[tuple[float, Coverage]] = []
    for (qid, cid), seen in hits.items():
        question = bank.get(qid)
        # A question or criterion removed from the bank since keeps its id as its name.
        criterion = next((c for c in question.criteria if c.id == cid), None) if question else None
        title = question.title if question else qid
        name, weight = (criterion.name, criterion.weight) if criterion else (cid, 1.0)
        rate = sum(seen) / len(seen)
        out.append((weight, Coverage(cid, name, rate, len(seen), qid, title)))
    out.sort(key=lambda pair: (pair[1].rate, -pair[0], pair[1].question_id, pair[1].criterion_id))
    return tuple(c for _, c in out)


def by_question(
    records: list[Scored], bank: QuestionBank, cov: tuple[Coverage, ...]
) -> tuple[QuestionProgress, ...]:
    """Each question practised, with its own criteria's coverage; the latest first."""
    grouped: dict[str, list[Scored]] = defaultdict(list)
    for r in records:
        grouped[r.question_id].append(r)
    out = []
    for qid, rows in grouped.items():
        question = bank.get(qid)
        order = {c.id: i for i, c in enumerate(question.criteria)} if question else {}
        mine = sorted(
            (c for c in cov if c.question_id == qid),
            key=lambda c: (order.get(c.criterion_id, len(order)), c.criterion_id),
        )
        out.append(
            QuestionProgress(
                question_id=qid,
                title=question.title if question else qid,
                answers=sum(1 for r in rows if not r.mock),
                mocks=sum(1 for r in rows if r.mock),
                best=max(r.score for r in rows),
                last_practised=max(r.when for r in rows),
                coverage=tuple(mine),
            )
        )
    return tuple(sorted(out, key=lambda q: q.last_practised, reverse=True))


def streak(days: set[date], today: date) -> int:
    """Consecutive drill days ending today (or yesterday, if today has none yet)."""
    current = today if today in days else today - timedelta(days=1)
    count = 0
    while current in days:
        count += 1
        current -= timedelta(days=1)
    return count


def _top_mistake(records: list[Scored], bank: QuestionBank) -> tuple[str, int] | None:
    counts = Counter(m for r in records for m in r.mistakes)
    if not counts:
        return None
    mistake_id, times = counts.most_common(1)[0]
    for question in bank.questions:
        for mistake in question.mistakes:
            if mistake.id == mistake_id:
                return mistake.name, times
    return mistake_id, times


def personal_stats(records: list[Scored], bank: QuestionBank, now: datetime) -> Stats:
    scores = [r.score for r in records]
    recent = [r.score for r in records if r.when >= now - timedelta(days=30)]
    previous = [
        r.score for r in records if now - timedelta(days=60) <= r.when < now - timedelta(days=30)
    ]
    cov = coverage(records, bank)
    return Stats(
        attempts=len(records),
        mocks=sum(1 for r in records if r.mock),
        average=_avg(scores) or 0.0,
        best=max(scores, default=0),
        recent_average=_avg(recent),
        previous_average=_avg(previous),
        recent_scores=tuple(scores[-RECENT:]),
        coverage=cov,
        by_question=by_question(records, bank, cov),
        weakest=cov[0] if cov else None,
        top_mistake=_top_mistake(records, bank),
        streak_days=streak({r.when.date() for r in records}, now.date()),
    )


def suggest_question(records: list[Scored], bank: QuestionBank) -> str:
    """A question that trains the user's weakest criterion, preferring ones not answered yet."""
    cov = coverage(records, bank)
    answered = {r.question_id for r in records}
    if cov:
        weakest = cov[0].criterion_id
        candidates = [q for q in bank.questions if any(c.id == weakest for c in q.criteria)]
        fresh = [q for q in candidates if q.id not in answered] or candidates
        if fresh:
            return max(fresh, key=lambda q: q.criterion(weakest).weight).id
    fresh_any = [q for q in bank.questions if q.id not in answered]
    return (fresh_any or list(bank.questions))[0].id


@dataclass(frozen=True)
class Ranked:
    user: str
    rating: float
    answers: int
    average: float


def leaderboard(records: list[Scored], opted_in: set[str], limit: int = 10) -> list[Ranked]:
    """Opted-in users by a participation-weighted (Bayesian) average: one lucky answer can't win."""
    per_user: dict[str, list[int]] = defaultdict(list)
    for r in records:
        if r.user in opted_in:
            per_user[r.user].append(r.score)
    ranked = [
        Ranked(
            user,
            (sum(s) + PRIOR_SCORE * PRIOR_WEIGHT) / (len(s) + PRIOR_WEIGHT),
            len(s),
            sum(s) / len(s),
        )
        for user, s in per_user.items()
    ]
    return sorted(ranked, key=lambda r: (-r.rating, -r.answers, r.user))[:limit]


@dataclass(frozen=True)
class Digest:
    week_start: date
    answers: int
    people: int
    average: float | None
    most_missed: Coverage | None
    top_mistake: tuple[str, int] | None
    most_improved: tuple[str, float] | None  # (user, points), opted-in users only
    weekly_averages: tuple[tuple[date, float | None], ...]  # last 8 weeks, oldest first
    coverage: tuple[Coverage, ...]


def most_improved(
    week: list[Scored], before: list[Scored], opted_in: set[str]
) -> tuple[str, float] | None:
    """The leaderboard member whose scores rose the most, if by IMPROVED_BY points or more:
    this week's average against their average before it (within the digest's eight weeks)
    or, for someone who started this week, against their first answer this week."""
    best: tuple[str, float] | None = None
    for user in sorted(opted_in):
        this_week = [r.score for r in week if r.user == user]
        earlier = [r.score for r in before if r.user == user]
        if earlier and this_week:
            rise = sum(this_week) / len(this_week) - sum(earlier) / len(earlier)
        elif len(this_week) >= 2:
            rise = sum(this_week[1:]) / len(this_week[1:]) - this_week[0]
        else:
            continue
        if rise >= IMPROVED_BY and (best is None or rise > best[1]):
            best = (user, rise)
    return best


def digest(records: list[Scored], bank: QuestionBank, opted_in: set[str], now: datetime) -> Digest:
    """A channel's week: `records` are all its graded answers (for the eight-week chart)."""
    week_ago = now - timedelta(days=7)
    week = [r for r in records if r.when >= week_ago]
    before = [r for r in records if r.when < week_ago]
    weeks = []
    for i in range(7, -1, -1):
        start = now - timedelta(days=7 * (i + 1))
        end = now - timedelta(days=7 * i)
        scores = [r.score for r in records if start <= r.when < end]
        weeks.append((start.date(), _avg(scores)))
    cov = coverage(week, bank)
    return Digest(
        week_start=week_ago.date(),
        answers=len(week),
        people=len({r.user for r in week}),
        average=_avg([r.score for r in week]),
        most_missed=cov[0] if cov else None,
        top_mistake=_top_mistake(week, bank),
        most_improved=most_improved(week, before, opted_in),
        weekly_averages=tuple(weeks),
        coverage=cov,
    )
