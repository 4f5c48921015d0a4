"""SQLModel tables. Every row is scoped by Slack team id; timestamps are UTC-aware."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Prompt(SQLModel, table=True):
    """A question the bot posted (or is about to post) as a thread root."""

    __tablename__ = "prompt"
    __table_args__ = (sa.UniqueConstraint("team", "channel", "ts", name="uq_prompt_message"),)

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    question_id: str = Field(max_length=80)
    source: str = Field(max_length=16)  # scheduled | command | mock
    schedule_id: int | None = Field(default=None)
    requested_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Attempt(SQLModel, table=True):
    """One threaded reply to a prompt: stored on arrival, graded, answered once."""

    __tablename__ = "attempt"
    __table_args__ = (
        sa.UniqueConstraint("team", "channel", "message_ts", name="uq_attempt_message"),
        sa.Index("ix_attempt_status_lease", "status", "lease_until"),
        sa.Index("ix_attempt_team_user", "team", "user"),
        # Earlier grades of a user in a thread (a thread is its prompt); prompt_id lookups too.
        sa.Index("ix_attempt_prompt_user", "prompt_id", "user"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    thread_ts: str = Field(max_length=32)
    message_ts: str = Field(max_length=32)
    user: str = Field(max_length=32)
    prompt_id: int = Field(foreign_key="prompt.id")
    question_id: str = Field(max_length=80)
    answer: str = Field(sa_type=sa.Text)
    status: str = Field(default="pending", max_length=16)  # pending|graded|posted|failed
    reason: str | None = Field(default=None, max_length=32)  # why it was not graded
    grade_json: str | None = Field(default=None, sa_type=sa.Text)
    grader: str | None = Field(default=None, max_length=80)
    score: int | None = None
    band: str | None = Field(default=None, max_length=16)
    tokens_used: int = 0
    event_id: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    owner: str | None = Field(default=None, max_length=36)  # the LeaseOwner holding the lease
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    graded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Schedule(SQLModel, table=True):
    """A channel's recurring drill: days, local time and IANA timezone."""

    __tablename__ = "schedule"
    __table_args__ = (sa.UniqueConstraint("slot", name="uq_schedule_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=32)
    days: str = Field(max_length=16)  # daily | weekdays
    time: str = Field(max_length=5)  # HH:MM
    tz: str = Field(max_length=64)
    paused: bool = False
    skip_dates: str = Field(default="[]", sa_type=sa.Text)  # JSON list of YYYY-MM-DD
    # What the schedule may ask (JSON lists; empty: anything): its rotation keeps to them.
    topics: str = Field(default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"})
    difficulties: str = Field(
        default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"}
    )
    # team:channel:days:time:tz, unique: a channel never gets the same drill twice a day.
    # (NULL only on a row from before the rule that repeats an earlier one.)
    slot: str | None = Field(default=None, max_length=200)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScheduleRun(SQLModel, table=True):
    """The claim that makes one scheduled fire post exactly once."""

    __tablename__ = "schedule_run"
    __table_args__ = (sa.UniqueConstraint("schedule_id", "fire_time", name="uq_schedule_run_fire"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="schedule.id")
    fire_time: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="claimed", max_length=16)
    prompt_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    """A message the bot must post; a row first, sent with retries, marked with its ts."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_try_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=120, unique=True)
    # prompt | feedback | nudge | followup | summary | brief | rating | digest | announce
    kind: str = Field(max_length=16)
    payload: str = Field(sa_type=sa.Text)  # JSON: what the poster sends, opaque to the outbox
    # Where it goes: the channel, the thread (None: it starts one or stands alone), and whose
    # conversation in it (None: the channel's). One conversation's messages keep their order.
    channel: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    person: str | None = Field(default=None, max_length=32)
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed
    attempts: int = 0
    next_try_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    owner: str | None = Field(default=None, max_length=36)  # the LeaseOwner holding the lease
    # A try that may have reached Slack without our hearing back (a crash, a timeout): the
    # next one looks for the message in Slack before posting it again.
    maybe_sent: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    last_error: str | None = Field(default=None, max_length=200)
    prompt_id: int | None = None
    attempt_id: int | None = None
    sent_channel: str | None = Field(default=None, max_length=32)
    sent_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LeaseOwner(SQLModel, table=True):
    """A running process that holds leases, alive while its heartbeat is fresh. Another
    process takes over a lease only when its owner's heartbeat has stopped."""

    __tablename__ = "lease_owner"

    id: str = Field(primary_key=True, max_length=36)
    host: str = Field(max_length=255)
    pid: int
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserProfile(SQLModel, table=True):
    """Per-user settings and running stats, per workspace."""

    __tablename__ = "user_profile"
    __table_args__ = (sa.UniqueConstraint("team", "user", name="uq_user_profile"),)

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    user: str = Field(max_length=32)
    level: str | None = Field(default=None, max_length=16)
    leaderboard: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    stats: str = Field(default="{}", sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MockSession(SQLModel, table=True):
    """A mock interview in one thread: the candidate, an optional human interviewer, follow-ups."""

    __tablename__ = "mock_session"

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    prompt_id: int = Field(foreign_key="prompt.id", unique=True)
    question_id: str = Field(max_length=80)
    candidate: str = Field(max_length=32)
    interviewer: str | None = Field(default=None, max_length=32)
    max_followups: int = 2
    asked: str = Field(default="[]", sa_type=sa.Text)  # JSON list of criterion ids probed so far
    status: str = Field(default="active", max_length=16)  # active | done
    rating: int | None = None  # the human interviewer's 1-5
    rating_notes: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CommandClaim(SQLModel, table=True):
    """A slash command handled, by Slack's trigger id: a replay of its signed request
    (Slack accepts one for five minutes) finds the claim and does nothing."""

    __tablename__ = "command_claim"

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    trigger_id: str = Field(max_length=120, unique=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


# --- the calibration loop: what people think of their grades ----------------------------


class GradeVerdict(SQLModel, table=True):
    """A "Was this fair?" on one feedback message or scorecard, by the answer's author: fair,
    or disputed with the levels they would give. One per answer (the latest stands); it
    records which grader, grader version and rubric version gave the grade it judges."""

    __tablename__ = "grade_verdict"
    __table_args__ = (
        sa.UniqueConstraint("team", "attempt_id", name="uq_grade_verdict_attempt"),
        sa.Index("ix_grade_verdict_team_user", "team", "user"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    # The answer judged: a feedback's attempt, or a scorecard's last answer (with mock_id).
    attempt_id: int
    mock_id: int | None = None
    user: str = Field(max_length=32)  # the answer's author, the only one who may judge it
    question_id: str = Field(max_length=80)
    fair: bool
    grader: str = Field(max_length=80)  # the grade's grader string (rubric, llm:gpt-4o-mini)
    grader_version: str = Field(max_length=80)  # the model card's data hash, or the grader
    rubric_version: str = Field(max_length=40)
    score: int  # the bot's
    band: str = Field(max_length=16)
    levels: str = Field(default="{}", sa_type=sa.Text)  # JSON: the bot's level per criterion
    disputed: str = Field(default="{}", sa_type=sa.Text)  # JSON: the level they would give
    proposed_score: int | None = None
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PairedRating(SQLModel, table=True):
    """A human interviewer's view of a paired mock beside the bot's: the 1-5 rating, the
    optional met/partly/missed per criterion, and the scorecard's levels (when it was
    posted before the rating; otherwise read from the answers when needed)."""

    __tablename__ = "paired_rating"
    __table_args__ = (sa.UniqueConstraint("team", "mock_id", name="uq_paired_rating_mock"),)

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    mock_id: int
    question_id: str = Field(max_length=80)
    candidate: str = Field(max_length=32)
    interviewer: str = Field(max_length=32)
    rating: int  # 1-5
    levels: str = Field(default="{}", sa_type=sa.Text)  # JSON: the human's 0|1|2 per criterion
    bot_levels: str | None = Field(default=None, sa_type=sa.Text)  # JSON, or None: not yet
    bot_score: int | None = None
    bot_band: str | None = Field(default=None, max_length=16)
    grader: str | None = Field(default=None, max_length=80)
    rubric_version: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CalibrationConsent(SQLModel, table=True):
    """A person's opt-in to share their disputed or human-rated answers (and notes) with
    the team's calibration review: quotes in the report, and the export. forget-me, or
    `/deploy-question share off`, deletes it."""

    __tablename__ = "calibration_consent"
    __table_args__ = (sa.UniqueConstraint("team", "user", name="uq_calibration_consent"),)

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    user: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- spaced review ------------------------------------------------------------------------


class ReviewOptIn(SQLModel, table=True):
    """A person who asked for spaced review (`/deploy-question review on`), and how: weekends
    too or not, paused after reviews left unanswered, their Slack timezone (cached) and the DM
    channel reviews go to; `next_at` is when the review pass looks at them again."""

    __tablename__ = "review_optin"
    __table_args__ = (
        sa.UniqueConstraint("team", "user", name="uq_review_optin"),
        sa.Index("ix_review_optin_next", "enabled", "paused", "next_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    user: str = Field(max_length=32)
    enabled: bool = True
    weekends: bool = False
    paused: bool = False  # after IGNORED_BEFORE_PAUSE reviews unanswered; `review on` resumes
    ignored: int = 0  # reviews left unanswered in a row
    tz: str | None = Field(default=None, max_length=64)  # from users.info
    tz_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dm_channel: str | None = Field(default=None, max_length=32)  # from conversations.open
    next_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReviewCard(SQLModel, table=True):
    """A person's memory of one criterion of one question: its FSRS card (JSON, as the fsrs
    package writes it), when it is due, and the levels their answers reached on it."""

    __tablename__ = "review_card"
    __table_args__ = (
        sa.UniqueConstraint("team", "user", "question_id", "criterion", name="uq_review_card"),
        sa.Index("ix_review_card_due", "team", "user", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    user: str = Field(max_length=32)
    question_id: str = Field(max_length=80)
    criterion: str = Field(max_length=80)
    card: str = Field(sa_type=sa.Text)  # fsrs.Card.to_json()
    due: datetime = Field(sa_type=UTCDateTime)
    stability: float = 0.0
    level: int = 0  # the latest level reached
    first_level: int = 0  # the first one: "getting stronger" compares the two
    reviews: int = 0  # graded answers that touched it
    practised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Review(SQLModel, table=True):
    """A micro-drill sent by DM: claimed once per person and local day (the unique key is the
    daily cap, and what keeps replicas from sending two), then answered in its thread, graded
    on its criterion, and answered with brief feedback."""

    __tablename__ = "review"
    __table_args__ = (
        sa.UniqueConstraint("team", "user", "day", name="uq_review_day"),
        sa.Index("ix_review_status_lease", "status", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=32)
    user: str = Field(max_length=32)
    day: str = Field(max_length=10)  # YYYY-MM-DD in the person's timezone
    question_id: str = Field(max_length=80)
    criterion: str = Field(max_length=80)
    prompt: str = Field(sa_type=sa.Text)  # the micro-drill asked
    # claimed | sent | answered | graded | ignored | failed
    status: str = Field(default="claimed", max_length=16)
    channel: str | None = Field(default=None, max_length=32)  # the DM
    ts: str | None = Field(default=None, max_length=32)  # the prompt's, learnt from the answer
    answer: str | None = Field(default=None, sa_type=sa.Text)
    answer_ts: str | None = Field(default=None, max_length=32)
    level: int | None = None
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    owner: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    graded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
