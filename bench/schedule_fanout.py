"""Scheduled fan-out: 1,000 channels scheduled for the same minute, against Slack's limits.

    .venv/bin/python -m bench.schedule_fanout [--quick] [--channels 1000] [--rate 50] [--burst 50]

Creates a fresh SQLite database (migrated with bot.storage.db.upgrade), inserts one
daily `Schedule` per channel for the minute that just passed (created a day ago),
then starts the real `Runtime` in this process, so `DrillScheduler.catch_up()` fires
every schedule at once. The Slack stand-in (same process, loopback) enforces a
workspace-wide posting rate: a token bucket of `--rate` posts/s holding `--burst`,
429 Retry-After: 1 beyond it (`--channel-rate` adds Slack's per-channel limit).

Reported: time from Runtime.start() to the last prompt posted, how long the catch-up
pass itself took, duplicates and misses (both must be 0), 429s, and the posting rate
achieved against the allowed rate (target: at least 90%).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import (
    BOT_TOKEN,
    ROOT,
    SIGNING_SECRET,
    TEAM,
    RateLimitedStandIn,
    machine_line,
    table,
    verdict,
)
from bot.config import Settings
from bot.runtime import Runtime
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work, upgrade
from bot.storage.tables import Schedule

RATE_SHARE_TARGET = 0.90


class _Count(logging.Handler):
    """Counts log records by level instead of printing thousands of retry warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.levels: Counter[str] = Counter()
        self.samples: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.levels[record.levelname] += 1
        self.samples.setdefault(record.levelname, record.getMessage()[:160])


@dataclass
class FanoutResult:
    channels: int
    rate: float
    burst: float
    catch_up_s: float  # Runtime.start() (which runs the catch-up) returned after this long
    first_post_s: float
    all_posted_s: float  # from Runtime.start() to the last prompt posted
    posted: int  # distinct channels with a prompt
    duplicates: int
    misses: int
    limited: int
    post_calls: int
    achieved_rate: float  # prompts per second, first attempt to last success
    share: float  # posts / (burst + rate × window)
    warnings: int
    errors: int


async def insert_schedules(database_url: str, channels: int, now: datetime) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    fire = now - timedelta(minutes=1)
    async with unit_of_work(sessions) as session:
        for i in range(channels):
            session.add(
                Schedule(
                    team=TEAM,
                    channel=f"C{i:05d}",
                    days="daily",
                    time=f"{fire.hour:02d}:{fire.minute:02d}",
                    tz="UTC",
                    created_by="U0ADMIN",
                    created_at=now - timedelta(days=1),
                )
            )
    await engine.dispose()


async def run(
    channels: int, rate: float, burst: float, channel_rate: float | None, workdir: Path
) -> FanoutResult:
    database_url = f"sqlite+inline:///{workdir / 'drill.db'}"
    await asyncio.to_thread(upgrade, database_url)
    await insert_schedules(database_url, channels, datetime.now(UTC))
    slack = await RateLimitedStandIn(
        signing_secret=SIGNING_SECRET,
        team_id=TEAM,
        workspace_rate=rate,
        workspace_burst=burst,
        channel_rate=channel_rate,
    ).start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{workdir / 'drill.db'}",
        rubrics_dir=ROOT / "rubrics",
        grader="rubric",
    )
    counter = _Count()
    root = logging.getLogger()
    root.addHandler(counter)
    root.setLevel(logging.WARNING)
    runtime = Runtime(settings)
    mark = len(slack.calls)
    started = time.monotonic()
    try:
        await runtime.start(migrate=False)
        catch_up = time.monotonic() - started

        def posted_channels() -> set[str]:
            return {str(p["channel"]) for p in slack.posts("drill_prompt")}

        within = 60 + 4 * channels / rate
        with contextlib.suppress(TimeoutError):
            await slack.wait_for(lambda: len(posted_channels()) >= channels, within=within)
        await asyncio.sleep(2.0)  # any duplicate would show up now
    finally:
        await runtime.stop()
        await slack.close()
        root.removeHandler(counter)
    prompts = [
        c
        for c in slack.calls[mark:]
        if c.method == "chat.postMessage"
        and (c.body.get("metadata") or {}).get("event_type") == "drill_prompt"
    ]
    ok = [c for c in prompts if c.body.get("_ok")]
    per_channel = Counter(str(c.body["channel"]) for c in ok)
    first_attempt = min((c.at for c in prompts), default=math.nan)
    last_ok = max((c.at for c in ok), default=math.nan)
    window = last_ok - first_attempt
    return FanoutResult(
        channels=channels,
        rate=rate,
        burst=burst,
        catch_up_s=catch_up,
        first_post_s=min((c.at for c in ok), default=math.nan) - started,
        all_posted_s=last_ok - started,
        posted=len(per_channel),
        duplicates=sum(n - 1 for n in per_channel.values()),
        misses=channels - len(per_channel),
        limited=slack.limited,
        post_calls=len(prompts),
        achieved_rate=len(ok) / window if window > 0 else math.nan,
        share=len(ok) / (burst + rate * window) if window > 0 else math.nan,
        warnings=counter.levels["WARNING"],
        errors=counter.levels["ERROR"] + counter.levels["CRITICAL"],
    )


def render(r: FanoutResult) -> str:
    ideal = max(0.0, (r.channels - r.burst) / r.rate)
    rows = [
        ("channels scheduled for the same minute", r.channels, ""),
        ("allowed rate (workspace)", f"{r.rate:g} posts/s, burst {r.burst:g}", ""),
        ("Runtime.start() incl. catch-up of every schedule", f"{r.catch_up_s:.1f} s", ""),
        ("first prompt posted after start", f"{r.first_post_s:.2f} s", ""),
        ("last prompt posted after start", f"{r.all_posted_s:.1f} s", f"ideal ≈ {ideal:.1f} s"),
        ("channels that got their prompt", r.posted, ""),
        ("duplicates", r.duplicates, verdict(r.duplicates == 0)),
        ("misses", r.misses, verdict(r.misses == 0)),
        ("chat.postMessage calls (429s)", f"{r.post_calls} ({r.limited})", ""),
        (
            "achieved posting rate",
            f"{r.achieved_rate:.1f} posts/s = {r.share:.0%} of allowed",
            f"target ≥ {RATE_SHARE_TARGET:.0%}: {verdict(r.share >= RATE_SHARE_TARGET)}",
        ),
        ("warnings / errors logged", f"{r.warnings} / {r.errors}", ""),
    ]
    return table(("figure", "value", "check"), rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.schedule_fanout", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="200 channels")
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="workspace posts/s (default 50)")
    parser.add_argument("--burst", type=float, default=50.0, help="bucket size (default 50)")
    parser.add_argument(
        "--channel-rate", type=float, default=None, help="also limit each channel (posts/s)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.channels = min(args.channels, 200)
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        result = asyncio.run(
            run(args.channels, args.rate, args.burst, args.channel_rate, Path(tmp))
        )
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
