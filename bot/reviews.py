"""Spaced review, the use case: opting in and out, the DMs that drill a person's weak
criteria when FSRS says they are due, and grading the answers to them.

- `turn_on` / `turn_off` / `status` back `/deploy-question review on|off|status`.
- `send_due` is the review pass (a PollingLoop in the runtime): for each person with a
  criterion due, within their working hours and working days (their Slack timezone), it claims
  their one review of the day with a unique row - so replicas never send two - opens the DM
  and queues the micro-drill. Three reviews left unanswered in a row pause their reviews,
  with a one-line note saying how to resume.
- `record_answer` stores the reply in a review's DM thread on Slack's ack path;
  `grade_answered` grades it on that criterion alone and queues the brief feedback.

Memory cards themselves are written by `remembering.py`; the rules of when and what, by
`review_rules.py`. The Slack layer implements `Directory` (the person's timezone, the DM).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import AnswerNotStored, RetryLater, Undeliverable
from bot.grading.gradable import not_an_answer
from bot.grading.grade import Grader
from bot.liveness import Liveness
from bot.memory import retrievability
from bot.messages import Renderer, Reply
from bot.questions import Criterion, Question, QuestionBank
from bot.remembering import Practised, rebuild, remember
from bot.review_rules import (
    DEFAULT_HOURS,
    IGNORED_BEFORE_PAUSE,
    Candidate,
    WorkingHours,
    choose,
    in_window,
    local_day,
    next_window,
    pick_prompt,
)
from bot.storage import outbox_rows, review_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import Review, ReviewCard, ReviewOptIn, utcnow

log = logging.getLogger(__name__)

PEOPLE_PER_PASS = 50
GRADE_BATCH = 10
PASS_SECONDS = 60.0  # how often the review pass looks for people due
TZ_FRESH = timedelta(days=7)  # a person's Slack timezone is asked again after this
RETRY_AFTER = timedelta(minutes=5)  # Slack could not be asked: try the person again then
STRONGER_SHOWN = 3


class Directory(Protocol):
    """What spaced review needs from Slack: a person's timezone and a DM with them. Both
    raise RetryLater (try again later) or Undeliverable (it will not work)."""

    async def timezone(self, team: str, user: str) -> str | None: ...

    async def open_dm(self, team: str, user: str) -> str: ...


class NoDirectory:
    """A Directory that cannot reach Slack (tests of other parts, the terminal)."""

    async def timezone(self, team: str, user: str) -> str | None:
        raise RetryLater("no Slack directory", 0.0)

    async def open_dm(self, team: str, user: str) -> str:
        raise RetryLater("no Slack directory", 0.0)


@dataclass(frozen=True)
class Remembered:
    """A criterion as a person remembers it: the latest level and when it is due again."""

    question: Question
    criterion: Criterion
    due: datetime
    level: int
    first_level: int


@dataclass(frozen=True)
class ReviewStatus:
    """Where a person's spaced review stands (the command's reply, the App Home)."""

    on: bool
    paused: bool
    weekends: bool
    tz: str | None
    hours: WorkingHours
    due: tuple[Remembered, ...]  # due now, weakest first
    next_due: datetime | None  # the earliest criterion due later
    streak: int  # reviews answered in a row, the latest first
    stronger: tuple[Remembered, ...]  # criteria whose level rose since first practised
    remembered: int  # criteria with a memory


def streak_of(reviews: list[Review]) -> int:
    """Reviews answered in a row, newest first: one left unanswered ends the streak (today's,
    still open, does not)."""
    count = 0
    for i, review in enumerate(reviews):
        if review.status in ("graded", "answered"):
            count += 1
        elif (review.status == "sent" and i == 0) or review.status in ("claimed", "failed"):
            continue
        else:
            break
    return count


class Reviews:
    def __init__(
        self,
        *,
        bank: QuestionBank,
        sessions: async_sessionmaker[AsyncSession],
        grader: Grader,
        renderer: Renderer,
        directory: Directory | None = None,
        hours: WorkingHours = DEFAULT_HOURS,
        on_message: Callable[[], None] = lambda: None,
        on_answer: Callable[[], None] = lambda: None,
        after_requests: Callable[[], Awaitable[None]] | None = None,
        lease: timedelta = timedelta(seconds=60),
        owner: Liveness | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._bank = bank
        self._sessions = sessions
        self._grader = grader
        self._renderer = renderer
        self.directory: Directory = directory or NoDirectory()
        self.hours = hours
        self._on_message = on_message  # wakes the outbox
        self.on_answer = on_answer  # wakes the review grading (the runtime sets it)
        self._after_requests = after_requests or (lambda: asyncio.sleep(0))
        self._lease = lease
        self.owner = owner  # this process, as the owner of its leases (the runtime sets it)
        self._clock = clock

    # --- opting in and out ------------------------------------------------------------------

    async def turn_on(self, *, team: str, user: str, weekends: bool | None = None) -> ReviewStatus:
        """Reviews on (or resumed after a pause); `weekends` None keeps the earlier choice.
        Turning on from off builds the person's memory from what they practised so far."""
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            before = await review_rows.get_optin(session, team=team, user=user)
            was_on = before is not None and before.enabled
            fields: dict[str, object] = {"enabled": True, "paused": False, "ignored": 0}
            fields["next_at"] = now
            if weekends is not None:
                fields["weekends"] = weekends
            await review_rows.save_optin(session, team=team, user=user, **fields)
            if not was_on:
                await rebuild(session, self._bank, team=team, user=user)
        return await self.status(team=team, user=user)

    async def turn_off(self, *, team: str, user: str) -> ReviewStatus:
        """No more reviews; the memory kept for them is deleted (turning on rebuilds it)."""
        async with unit_of_work(self._sessions) as session:
            await review_rows.save_optin(session, team=team, user=user, enabled=False)
            await review_rows.delete_cards(session, team=team, user=user)
        return await self.status(team=team, user=user)

    async def status(self, *, team: str, user: str) -> ReviewStatus:
        now = self._clock()
        async with unit_of_work(self._sessions, read_only=True) as session:
            optin = await review_rows.get_optin(session, team=team, user=user)
            cards = await review_rows.cards_of(session, team=team, user=user)
            reviews = await review_rows.reviews_of(session, team=team, user=user)
        remembered = [r for r in (self._remembered(c) for c in cards) if r is not None]
        due = sorted((r for r in remembered if r.due <= now), key=lambda r: (r.level, r.due))
        later = [r.due for r in remembered if r.due > now]
        stronger = sorted(
            (r for r in remembered if r.level > r.first_level),
            key=lambda r: (-(r.level - r.first_level), r.question.order, r.criterion.name),
        )
        on = optin is not None and optin.enabled
        return ReviewStatus(
            on=on,
            paused=on and optin is not None and optin.paused,
            weekends=optin is not None and optin.weekends,
            tz=optin.tz if optin else None,
            hours=self.hours,
            due=tuple(due),
            next_due=min(later) if later else None,
            streak=streak_of(reviews),
            stronger=tuple(stronger[:STRONGER_SHOWN]),
            remembered=len(remembered),
        )

    def _remembered(self, card: ReviewCard) -> Remembered | None:
        found = self._criterion(card.question_id, card.criterion)
        if found is None:
            return None
        question, criterion = found
        return Remembered(question, criterion, card.due, card.level, card.first_level)

    def _criterion(self, question_id: str, criterion_id: str) -> tuple[Question, Criterion] | None:
        question = self._bank.get(question_id)
        if question is None:
            return None
        try:
            return question, question.criterion(criterion_id)
        except KeyError:
            return None

    # --- the review pass ------------------------------------------------------------------------

    async def send_due(self) -> int:
        """Send the reviews due now (this process's share); returns how many were sent."""
        now = self._clock()
        async with unit_of_work(self._sessions, read_only=True) as session:
            people = await review_rows.people_due(session, now=now, limit=PEOPLE_PER_PASS)
        sent = 0
        for person in people:
            try:
                sent += await self._review(person, now)
            except Exception:
                log.exception("spaced review for %s in %s failed", person.user, person.team)
                await self._postpone(person, now + RETRY_AFTER)
        return sent

    async def _postpone(self, person: ReviewOptIn, until: datetime) -> None:
        assert person.id is not None
        async with unit_of_work(self._sessions) as session:
            await review_rows.postpone(session, person.id, until)

    async def _timezone(self, person: ReviewOptIn, now: datetime) -> str | None:
        """The person's Slack timezone, asked at most once a TZ_FRESH (RetryLater when Slack
        cannot say and none is known yet)."""
        checked = person.tz_checked_at
        if checked is not None and now - checked < TZ_FRESH:
            return person.tz
        try:
            tz = await self.directory.timezone(person.team, person.user)
        except RetryLater:
            if checked is None:
                raise
            return person.tz
        except Undeliverable as exc:
            log.info("users.info for %s: %s; keeping %s", person.user, exc, person.tz or "UTC")
            tz = person.tz
        async with unit_of_work(self._sessions) as session:
            await review_rows.save_optin(
                session, team=person.team, user=person.user, tz=tz, tz_checked_at=now
            )
        return tz

    async def _review(self, person: ReviewOptIn, now: datetime) -> int:
        """One person's review today, if one is due and may go now (1), else nothing (0)."""
        try:
            tz = await self._timezone(person, now)
        except RetryLater as exc:
            log.info("no timezone for %s yet (%s); trying again later", person.user, exc)
            await self._postpone(person, now + RETRY_AFTER)
            return 0
        hours, weekends = self.hours, person.weekends
        if not in_window(now, tz, hours, weekends=weekends):
            await self._postpone(
                person, next_window(now, tz, hours, weekends=weekends, after_today=False)
            )
            return 0
        tomorrow = next_window(now, tz, hours, weekends=weekends, after_today=True)
        today = local_day(now, tz).isoformat()
        review = await self._claim(person, now, tz, today, tomorrow)
        if review is None or review.id is None:
            return 0
        try:
            channel = person.dm_channel or await self.directory.open_dm(person.team, person.user)
        except RetryLater as exc:
            log.info("cannot open a DM with %s yet (%s)", person.user, exc)
            async with unit_of_work(self._sessions) as session:
                await review_rows.drop_claim(session, review.id)
                await review_rows.postpone(session, int(person.id or 0), now + RETRY_AFTER)
            return 0
        except Undeliverable as exc:
            log.warning("no DM with %s: %s; no review today", person.user, exc)
            async with unit_of_work(self._sessions) as session:
                await review_rows.set_review_status(session, review.id, "failed")
            return 0
        found = self._criterion(review.question_id, review.criterion)
        assert found is not None  # chosen from the bank a moment ago
        payload = self._renderer.review_prompt(
            found[0], review.criterion, review.prompt, user=person.user
        )
        async with unit_of_work(self._sessions) as session:
            await review_rows.set_review_status(
                session, review.id, "sent", channel=channel, sent_at=now
            )
            if channel != person.dm_channel:
                await review_rows.save_optin(
                    session, team=person.team, user=person.user, dm_channel=channel
                )
            await outbox_rows.enqueue(
                session,
                team=person.team,
                dedupe_key=f"review:{review.id}",
                kind="review",
                payload=payload,
                channel=channel,
                person=person.user,
            )
        self._on_message()
        return 1

    async def _claim(
        self, person: ReviewOptIn, now: datetime, tz: str | None, today: str, tomorrow: datetime
    ) -> Review | None:
        """Count the reviews left unanswered (pausing after too many), choose the criterion,
        and claim the person's one review of the day; None when nothing goes today."""
        assert person.id is not None
        team, user = person.team, person.user
        async with unit_of_work(self._sessions) as session:
            ignored = await review_rows.mark_ignored(
                session, team=team, user=user, before_day=today
            )
            if ignored:
                await review_rows.add_ignored(session, person.id, ignored)
            if await review_rows.pause_when_ignored(
                session, person.id, threshold=IGNORED_BEFORE_PAUSE
            ):
                await self._paused_note(session, person, today)
                return None
            candidates = [
                Candidate(
                    c.question_id,
                    c.criterion,
                    c.due,
                    c.level,
                    c.practised_at,
                    retrievability(c.card, now),
                )
                for c in await review_rows.cards_of(session, team=team, user=user)
                if self._criterion(c.question_id, c.criterion) is not None
            ]
            pick, practised_today = choose(candidates, now, tz)
            if pick is None:
                later = [c.due for c in candidates if c.due > now]
                until = tomorrow if practised_today or not later else max(min(later), now)
                await review_rows.postpone(session, person.id, until)
                return None
            found = self._criterion(pick.question_id, pick.criterion)
            assert found is not None
            reviews_before = sum(
                1
                for r in await review_rows.reviews_of(session, team=team, user=user)
                if (r.question_id, r.criterion) == (pick.question_id, pick.criterion)
            )
            review = Review(
                team=team,
                user=user,
                day=today,
                question_id=pick.question_id,
                criterion=pick.criterion,
                prompt=pick_prompt(found[1].review_questions(), reviews_before),
            )
            claimed = await review_rows.claim_day(session, review)
            await review_rows.postpone(session, person.id, tomorrow)
        return review if claimed else None

    async def _paused_note(self, session: AsyncSession, person: ReviewOptIn, today: str) -> None:
        """The one-line note that reviews paused, in the DM the reviews went to."""
        log.info("spaced review paused for %s: %d unanswered", person.user, IGNORED_BEFORE_PAUSE)
        if person.dm_channel is None:
            return
        await outbox_rows.enqueue(
            session,
            team=person.team,
            dedupe_key=f"review_paused:{person.id}:{today}",
            kind="review_paused",
            payload=self._renderer.review_paused(user=person.user),
            channel=person.dm_channel,
            person=person.user,
        )
        self._on_message()

    # --- answers ---------------------------------------------------------------------------------

    async def record_answer(self, reply: Reply) -> bool:
        """Store a reply in one of the person's review threads (on the ack path); False when
        the thread is not an open review of theirs, or it has its answer already. Raises
        AnswerNotStored when the database cannot take it, so that Slack delivers it again."""
        try:
            async with unit_of_work(self._sessions) as session:
                reviews = await review_rows.open_reviews(
                    session, team=reply.team, user=reply.user, channel=reply.channel
                )
                posted = await review_rows.posted_ts(session, [f"review:{r.id}" for r in reviews])
                for review in reviews:
                    if posted.get(f"review:{review.id}", ("", ""))[1] != reply.thread_ts:
                        continue
                    assert review.id is not None
                    taken = await review_rows.take_answer(
                        session,
                        review.id,
                        ts=reply.thread_ts,
                        answer=reply.text,
                        answer_ts=reply.ts,
                        now=self._clock(),
                    )
                    break
                else:
                    return False
        except Exception as exc:
            raise AnswerNotStored(f"review answer {reply.ts} not stored: {exc!r:.200}") from exc
        if taken:
            self.on_answer()
        return taken

    async def grade_answered(self) -> int:
        """Grade the review answers waiting (this process's share); returns how many."""
        await self._after_requests()
        owner = self.owner
        async with unit_of_work(self._sessions) as session:
            claimed = await review_rows.claim_answered(
                session,
                now=utcnow(),
                lease=self._lease,
                limit=GRADE_BATCH,
                owner=None if owner is None else owner.id,
                dead_before=None if owner is None else owner.dead_before(),
            )
        for review in claimed:
            try:
                await self._grade(review)
            except Exception:  # left answered: graded again once its lease runs out
                log.exception("grading review %s failed", review.id)
        return len(claimed)

    async def _grade(self, review: Review) -> None:
        assert review.id is not None
        found = self._criterion(review.question_id, review.criterion)
        answer = review.answer or ""
        if found is None:
            async with unit_of_work(self._sessions) as session:
                await review_rows.set_review_status(
                    session, review.id, "failed", lease_until=None, owner=None
                )
            return
        question, criterion = found
        reason = not_an_answer(answer)
        if reason is not None:
            await self._nudge(review, question, reason)
            return
        await self._after_requests()
        grade = await self._grader.grade(question, answer, team=review.team)
        # Graded against the whole rubric; only this criterion's level counts (a grader that
        # left it out found nothing for it).
        result = next((c for c in grade.criteria if c.id == criterion.id), None)
        level = result.level if result is not None else 0
        evidence = result.evidence if result is not None else None
        payload = self._renderer.review_feedback(
            question, criterion.id, user=review.user, level=level, evidence=evidence
        )
        now = utcnow()
        async with unit_of_work(self._sessions) as session:
            if not await review_rows.finish_review(session, review.id, level=level, now=now):
                return  # forgotten (forget-me) or graded elsewhere meanwhile
            practised = Practised(review.team, review.user, question.id, criterion.id, level, now)
            await remember(session, [practised])
            await review_rows.reset_ignored(session, team=review.team, user=review.user)
            await _reply_in_thread(session, review, "review_feedback", payload)
        self._on_message()

    async def _nudge(self, review: Review, question: Question, reason: str) -> None:
        """Not an answer (empty, emoji, a word or two): say so, and keep the thread open."""
        assert review.id is not None
        payload = self._renderer.nudge(question, user=review.user, reason=reason)
        async with unit_of_work(self._sessions) as session:
            if not await review_rows.reopen_review(session, review.id):
                return
            await _reply_in_thread(session, review, "review_nudge", payload)
        self._on_message()


async def _reply_in_thread(
    session: AsyncSession, review: Review, kind: str, payload: dict[str, Any]
) -> None:
    """Queue a message in the review's DM thread, once per review (a nudge once per reply)."""
    key = f"{kind}:{review.id}" + (f":{review.answer_ts}" if kind == "review_nudge" else "")
    await outbox_rows.enqueue(
        session,
        team=review.team,
        dedupe_key=key,
        kind=kind,
        payload=payload,
        channel=review.channel or "",
        thread_ts=review.ts,
        person=review.user,
    )
