"""`python -m bot serve` as a subprocess, for the tests that need a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import aiohttp
import sqlalchemy as sa

from bot.playground.standin import SlackStandIn
from bot.storage import prompt_rows
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work, upgrade_async
from bot.storage.tables import Attempt, OutboxMessage, Schedule
from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the bot's own settings (a developer's .env stays out too)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OPENAI_", "DATABASE_URL", "ANSWER_"))
    }
    return {**keep, **extra}


def serve_env(slack: SlackStandIn, database_url: str, port: int, **extra: str) -> dict[str, str]:
    """What `serve` needs to talk to the stand-in on loopback, plus `extra`."""
    return clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port),
        RUBRICS_DIR=str(ROOT / "rubrics"),
        OUTBOX_POLL_SECONDS="0.2",
        **extra,
    )


async def start_serve(
    env: dict[str, str], cwd: Path, output: IO[bytes] | int = asyncio.subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=cwd, env=env, stdout=output, stderr=output
    )


async def serve_healthy(
    slack: SlackStandIn, database_url: str, port: int, cwd: Path, **extra: str
) -> asyncio.subprocess.Process:
    """`serve` started and answering /healthz (killed, and the test failed, if it never does)."""
    proc = await start_serve(serve_env(slack, database_url, port, **extra), cwd)
    if await became_healthy(port):
        return proc
    proc.kill()
    raise AssertionError("serve did not become healthy")


class Replica:
    """One `python -m bot serve` process on its own port (with `env` added), its log in a file."""

    def __init__(
        self, slack: SlackStandIn, database_url: str, cwd: Path, name: str, **env: str
    ) -> None:
        self.slack, self.database_url, self.cwd, self.name = slack, database_url, cwd, name
        self.env = env
        self.port = free_port()
        self.log = cwd / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.ready = False  # answering /healthz: a load balancer would route to it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> Replica:
        env = serve_env(self.slack, self.database_url, self.port, **self.env)
        with self.log.open("ab") as log:
            self.proc = await start_serve(env, self.cwd, log)
        if await became_healthy(self.port):
            self.ready = True
            return self
        await self.stop(signal.SIGKILL)
        raise AssertionError(f"{self.name} did not become healthy:\n{self.log.read_text()[-3000:]}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        self.ready = False
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(sig)
            await self.proc.wait()


async def became_healthy(port: int, within: float = 20.0) -> bool:
    """Whether /healthz on `port` answered 200 within `within` seconds."""
    async with aiohttp.ClientSession() as session:
        for _ in range(int(within / 0.1)):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return True
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    return False


async def posts_a_prompt(slack: SlackStandIn, port: int) -> None:
    """`/deploy-question deploy-ml-models` sent to the bot on `port` is acked, and the prompt
    reaches Slack (the stand-in)."""
    status, _ = await slack.send_command(
        f"http://127.0.0.1:{port}/slack/events", "deploy-ml-models"
    )
    assert status == 200
    await slack.wait_for(lambda: slack.posts("drill_prompt"))


async def seed_missed_fires(url: str, *, team: str, channels: Iterable[str]) -> None:
    """A daily schedule per channel whose time today passed five minutes ago (a fire that
    `serve` catches up on when it starts)."""
    await upgrade_async(url)
    engine = make_engine(url)
    fire_local = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(minutes=5)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        for channel in channels:
            session.add(
                Schedule(
                    team=team,
                    channel=channel,
                    days="daily",
                    time=f"{fire_local:%H:%M}",
                    tz="Europe/Berlin",
                    created_by="U0ADMIN",
                    created_at=datetime.now(UTC) - timedelta(days=2),
                )
            )
    await engine.dispose()


async def ask_question(slack: SlackStandIn, url: str) -> str:
    """`/deploy-question deploy-ml-models` to `serve`; the ts of the prompt it posts."""
    await slack.send_command(url, "deploy-ml-models")
    await slack.wait_for(lambda: slack.posts("drill_prompt"))
    await asyncio.sleep(0.5)  # let the bot record the prompt's ts
    return str(slack.posts("drill_prompt")[0]["_ts"])


async def recorded_roots(
    url: str, posts: list[dict[str, Any]], *, team: str
) -> list[tuple[str, str]]:
    """(channel, ts) of posted prompts, once the bot has recorded each one's ts."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        for _ in range(200):
            async with unit_of_work(sessions) as session:
                found = [
                    await prompt_rows.prompt_for_thread(
                        session, team=team, channel=m["channel"], thread_ts=str(m["_ts"])
                    )
                    for m in posts
                ]
            if all(found):
                return [(m["channel"], str(m["_ts"])) for m in posts]
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError("prompts were posted but never recorded")


async def unfinished(url: str) -> tuple[int, int]:
    """Answers not yet answered, and messages not yet sent."""
    engine = make_engine(url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            attempts = await session.execute(
                sa.select(sa.func.count()).select_from(Attempt).where(Attempt.status != "posted")
            )
            outbox = await session.execute(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != "sent")
            )
            return int(attempts.scalar_one()), int(outbox.scalar_one())
    finally:
        await engine.dispose()


async def settled(url: str, within: float) -> tuple[int, int]:
    """`unfinished(url)` once it is (0, 0), or as it is after `within` seconds. (Slack may
    show every message before the last is recorded: a process that died after posting it
    leaves it to the one that takes its work over and finds it.)"""
    for _ in range(int(within / 0.2)):
        left = await unfinished(url)
        if left == (0, 0):
            break
        await asyncio.sleep(0.2)
    return left


async def burst(deliver: Callable[[int], Awaitable[None]], numbers: range) -> None:
    """Deliveries 30 ms apart, overlapping like a busy channel's."""
    tasks = []
    for i in numbers:
        tasks.append(asyncio.create_task(deliver(i)))
        await asyncio.sleep(0.03)
    await asyncio.gather(*tasks)


async def deliver_event(
    slack: SlackStandIn,
    event: dict[str, Any],
    event_id: str,
    replicas: Sequence[Replica],
    *,
    also_retry: bool = False,
) -> None:
    """Slack delivering an event: to the first replica; when that fails (it was killed before
    or while answering), or `also_retry`, Slack retries on the next live one until one
    answers 200 (a replica may die under a retry too)."""
    try:
        status, _ = await slack.send_event(replicas[0].url, event, event_id=event_id)
        if status == 200 and not also_retry:
            return
    except aiohttp.ClientError:
        pass  # the replica died before answering: Slack retries below
    for retry, fallback in enumerate(replicas[1:], start=1):
        if not fallback.alive:
            continue
        try:
            status, _ = await slack.send_event(
                fallback.url, event, event_id=event_id, retry_num=retry
            )
        except aiohttp.ClientError:
            continue
        assert status == 200
        return
    raise AssertionError(f"no replica took Slack's retry of {event_id}")
