"""`python -m bot serve` as a subprocess, for the tests that need a real process."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import aiohttp

from bot.slack.standin import SlackStandIn
from bot.storage.db import make_engine, make_sessionmaker, unit_of_work, upgrade_async
from bot.storage.tables import Schedule
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
