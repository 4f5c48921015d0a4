"""Schedules: parsing, trigger times across DST, skip dates, claims and catch-up, with a controlled clock."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.metrics import Metrics
from bot.questions import QuestionBank
from bot.schedule import (
    ScheduleProblem,
    ScheduleSpec,
    claim_key,
    last_fire,
    next_fire,
    parse_spec,
)
from bot.scheduler import DrillScheduler
from bot.slack.blocks import SlackMessages
from bot.storage.db import unit_of_work
from bot.storage.tables import OutboxMessage, Schedule, ScheduleRun
from bot.use_cases import UseCases, build_use_cases

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def _schedule(
    days: str = "daily", time: str = "09:00", tz: str = BERLIN, skips: list[str] | None = None
) -> Schedule:
    return Schedule(
        id=1,
        team="T1",
        channel="C1",
        days=days,
        time=time,
        tz=tz,
        created_by="U1",
        skip_dates=json.dumps(skips or []),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _local(moment: datetime | None, tz: str) -> str:
    assert moment is not None
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M")


def test_parse_spec_accepts_the_documented_forms() -> None:
    """`daily|weekdays HH:MM [tz]` parses; single-digit hours are padded."""
    assert parse_spec(("daily", "9:05")) == ScheduleSpec("daily", "09:05", None)
    assert parse_spec(("Weekdays", "17:30", NEW_YORK)) == ScheduleSpec(
        "weekdays", "17:30", NEW_YORK
    )


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("hourly", "09:00"), "hourly"),
        (("daily", "25:00"), "25:00"),
        (("daily", "9am"), "9am"),
        (("daily", "09:00", "Mars/Olympus"), "Mars/Olympus"),
        (("daily", "09:00", "CET2"), "CET2"),
        (("daily",), "days and a time"),
    ],
)
def test_parse_spec_names_the_bad_part_with_an_example(args: tuple[str, ...], names: str) -> None:
    """Every bad part is named in the error, with an example or the valid choices."""
    with pytest.raises(ScheduleProblem) as caught:
        parse_spec(args)
    assert names in str(caught.value)


@pytest.mark.parametrize(
    ("tz", "before", "after"),
    [
        (BERLIN, datetime(2026, 3, 27, 12, tzinfo=UTC), "Sun 2026-03-29 09:00"),  # spring forward
        (BERLIN, datetime(2026, 10, 23, 12, tzinfo=UTC), "Sun 2026-10-25 09:00"),  # fall back
        (NEW_YORK, datetime(2026, 3, 6, 18, tzinfo=UTC), "Sun 2026-03-08 09:00"),
        (NEW_YORK, datetime(2026, 10, 30, 18, tzinfo=UTC), "Sun 2026-11-01 09:00"),
    ],
)
def test_daily_nine_oclock_stays_at_nine_local_across_dst(
    tz: str, before: datetime, after: str
) -> None:
    """A 09:00 drill posts at 09:00 local time the day before a DST change and on the day itself."""
    schedule = _schedule(tz=tz)
    saturday = next_fire(schedule, before)
    assert _local(saturday, tz).startswith("Sat") and _local(saturday, tz).endswith("09:00")
    sunday = next_fire(schedule, saturday + timedelta(minutes=1))  # type: ignore[operator]
    assert _local(sunday, tz) == after
    # The wall clock stays at 09:00, so the real gap is 23 h (spring) or 25 h (autumn).
    assert (sunday - saturday) in (timedelta(hours=23), timedelta(hours=25))  # type: ignore[operator]


def test_weekdays_skip_the_weekend() -> None:
    """`weekdays` goes from Friday to Monday (names, not APScheduler's 0 = Monday numbers)."""
    schedule = _schedule(days="weekdays")
    friday_evening = datetime(2026, 12, 4, 18, tzinfo=UTC)
    assert _local(next_fire(schedule, friday_evening), BERLIN) == "Mon 2026-12-07 09:00"


def test_skip_dates_are_skipped() -> None:
    """A skipped date moves the next fire to the following day."""
    schedule = _schedule(skips=["2026-12-24"])
    assert (
        _local(next_fire(schedule, datetime(2026, 12, 23, 12, tzinfo=UTC)), BERLIN)
        == "Fri 2026-12-25 09:00"
    )


def test_repeated_fall_back_hour_has_one_claim() -> None:
    """01:30 happens twice on the New York fall-back day; both copies share one claim key."""
    schedule = _schedule(time="01:30", tz=NEW_YORK)
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert claim_key(schedule, first) == claim_key(schedule, second)
    assert last_fire(schedule, second + timedelta(minutes=5)) == second


# --- the scheduler against a real database ------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _use(sessions: object, bank: QuestionBank) -> UseCases:
    return build_use_cases(
        bank=bank,
        sessions=sessions,  # type: ignore[arg-type]
        renderer=SlackMessages(),
        metrics=Metrics(),
    )


async def _add(sessions: object, **kw: object) -> Schedule:
    schedule = _schedule(**kw)  # type: ignore[arg-type]
    schedule.id = None
    schedule.created_at = datetime(2026, 11, 1, tzinfo=UTC)
    async with unit_of_work(sessions) as session:  # type: ignore[arg-type]
        session.add(schedule)
    return schedule


async def _prompts(sessions: object) -> list[OutboxMessage]:
    async with unit_of_work(sessions) as session:  # type: ignore[arg-type]
        return list(
            (
                await session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == "prompt")
                    .order_by(OutboxMessage.id)  # type: ignore[arg-type]
                )
            ).scalars()
        )


async def test_two_schedulers_firing_the_same_minute_post_once(
    sessions: object, bank: QuestionBank
) -> None:
    """Two processes' schedulers fire the same (schedule, time): exactly one prompt is queued."""
    schedule = await _add(sessions)
    clock = Clock(datetime(2026, 12, 7, 8, 0, 2, tzinfo=UTC))  # 09:00:02 in Berlin
    one = DrillScheduler(
        sessions=sessions, use=_use(sessions, bank), grace=timedelta(hours=1), clock=clock
    )  # type: ignore[arg-type]
    two = DrillScheduler(
        sessions=sessions, use=_use(sessions, bank), grace=timedelta(hours=1), clock=clock
    )  # type: ignore[arg-type]
    results = [
        await one.fire(int(schedule.id or 0)),
        await two.fire(int(schedule.id or 0)),
        await one.fire(int(schedule.id or 0)),
    ]
    assert results == [True, False, False]
    [prompt] = await _prompts(sessions)
    assert json.loads(prompt.payload)["metadata"]["event_payload"]["source"] == "scheduled"


async def test_catch_up_posts_a_recent_miss_once_and_skips_old_ones(
    sessions: object, bank: QuestionBank
) -> None:
    """On start, a fire missed by 30 minutes is posted once; one missed by 3 hours is skipped."""
    recent = await _add(sessions, time="09:00")
    await _add(sessions, time="06:00")
    clock = Clock(
        datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    )  # 09:30 Berlin: 09:00 is 30 min ago, 06:00 is 3.5 h ago
    scheduler = DrillScheduler(
        sessions=sessions, use=_use(sessions, bank), grace=timedelta(hours=1), clock=clock
    )  # type: ignore[arg-type]
    assert await scheduler.catch_up() == 1
    assert await scheduler.catch_up() == 0  # a second restart posts nothing more
    [prompt] = await _prompts(sessions)
    async with unit_of_work(sessions) as session:  # type: ignore[arg-type]
        runs = (await session.execute(select(ScheduleRun))).scalars().all()
    assert [(r.schedule_id, r.status) for r in runs] == [(recent.id, "queued")]
    assert runs[0].prompt_id == prompt.prompt_id


async def test_skip_date_records_the_fire_without_posting(
    sessions: object, bank: QuestionBank
) -> None:
    """A fire on a skipped date posts nothing."""
    schedule = await _add(sessions, skips=["2026-12-07"])
    clock = Clock(datetime(2026, 12, 7, 8, 0, 1, tzinfo=UTC))
    scheduler = DrillScheduler(
        sessions=sessions, use=_use(sessions, bank), grace=timedelta(hours=1), clock=clock
    )  # type: ignore[arg-type]
    assert await scheduler.fire(int(schedule.id or 0)) is False
    assert await _prompts(sessions) == []


async def test_rotation_never_repeats_until_the_bank_is_exhausted(
    sessions: object, bank: QuestionBank
) -> None:
    """A channel's scheduled prompts go through the whole bank before any question repeats."""
    use = _use(sessions, bank)
    asked = []
    for i in range(len(bank.questions) + 1):
        assert await use.asking.ask_scheduled(
            team="T1",
            channel="C1",
            schedule_id=await _schedule_id(sessions),
            fire_time=datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=i),
        )
    for message in await _prompts(sessions):
        asked.append(json.loads(message.payload)["metadata"]["event_payload"]["question_id"])
    n = len(bank.questions)
    assert sorted(asked[:n]) == sorted(bank.ids())
    assert asked[n] == asked[0]


async def _schedule_id(sessions: object) -> int:
    async with unit_of_work(sessions) as session:  # type: ignore[arg-type]
        existing = (await session.execute(select(Schedule.id))).scalars().first()
    if existing:
        return int(existing)
    return int((await _add(sessions)).id or 0)


def test_skip_parse_of_date() -> None:
    """Dates are ISO (YYYY-MM-DD)."""
    from bot.schedule import parse_day

    assert parse_day("2026-12-24") == date(2026, 12, 24)
    with pytest.raises(ScheduleProblem):
        parse_day("24/12/2026")


async def test_a_limited_schedule_rotates_within_its_limit(
    sessions: object, bank: QuestionBank
) -> None:
    """Daily fires of a schedule kept to advanced questions ask each of them once, then
    repeat the one asked longest ago; a question asked by command in between is no turn."""
    schedule = await _add(sessions, time="09:00")
    async with unit_of_work(sessions) as session:  # type: ignore[arg-type]
        row = await session.get(Schedule, schedule.id)
        assert row is not None
        row.difficulties = json.dumps(["advanced"])
    use = _use(sessions, bank)
    await use.asking.ask(team="T1", channel="C1", wanted="deploy-ml-models")
    advanced = [q.id for q in bank.questions if q.difficulty == "advanced"]
    clock = Clock(datetime(2026, 12, 7, 8, 0, 1, tzinfo=UTC))  # 09:00:01 in Berlin
    scheduler = DrillScheduler(
        sessions=sessions, use=use, grace=timedelta(hours=1), clock=clock
    )  # type: ignore[arg-type]
    for _ in range(len(advanced) + 1):
        assert await scheduler.fire(int(schedule.id or 0))
        clock.now += timedelta(days=1)
    asked = [
        json.loads(m.payload)["metadata"]["event_payload"]["question_id"]
        for m in await _prompts(sessions)
    ][1:]
    assert sorted(asked[:-1]) == sorted(advanced)
    assert asked[-1] == asked[0]
