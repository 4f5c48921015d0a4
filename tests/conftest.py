"""Shared fixtures: a clean environment, real databases, the Slack stand-in and the real app."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank, load_bank
from bot.runtime import Runtime
from bot.storage.db import make_engine, make_sessionmaker, upgrade, upgrade_async

# The `private_postgres` fixture: a PostgreSQL server of a test's own, to stop and start.
pytest_plugins = ("tests.pgserver",)

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-0000-secret-token"

_ENV_PREFIXES = (
    "SLACK_",
    "OPENAI_",
    "DATABASE_URL",
    "GRADER",
    "RUBRICS_DIR",
    "DRILL_",
    "LOG_",
    "ANSWER_",
    "TOKEN_ENCRYPTION_KEY",
)
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No stray token, proxy or OAuth setting from the developer's shell reaches a test."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _PROXIES:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def bank() -> QuestionBank:
    return load_bank(ROOT / "rubrics")


def _postgres_base() -> str | None:
    return os.environ.get("TEST_POSTGRES_URL")


def _async_url(database_url: str) -> str:
    return Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest migration, made once: each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "drill.db"
    upgrade(_async_url(f"sqlite:///{path}"))
    return path


async def _admin(base: str, *statements: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(base)
    try:
        for statement in statements:
            await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str | None]:
    """A PostgreSQL database at the newest migration, made once per run: each test's database
    is a copy (CREATE DATABASE … TEMPLATE), which takes a fraction of running the migrations."""
    base = _postgres_base()
    if not base:
        yield None
        return
    name = f"drill_template_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        upgrade(_async_url(base.rsplit("/", 1)[0] + "/" + name))
        yield name
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path, template: Path | str | None
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "drill.db"
        if isinstance(template, Path):
            shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    base = _postgres_base()
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set")
    name = f"drill_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if isinstance(template, str) else ""
    await _admin(base, f'CREATE DATABASE "{name}"{copy}')
    yield base.rsplit("/", 1)[0] + "/" + name
    await _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    migrated_sqlite: Path,
    migrated_postgres: str | None,
) -> AsyncIterator[str]:
    """A fresh database at the newest migration: a SQLite file, or a new PostgreSQL database
    per test."""
    template = migrated_sqlite if request.param == "sqlite" else migrated_postgres
    async for url in _fresh_database(request, tmp_path, template):
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database (no tables), for tests of the migrations themselves."""
    async for url in _fresh_database(request, tmp_path, None):
        yield url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on `database_url`, migrated to the newest schema."""
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await upgrade_async(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    standin = await SlackStandIn(signing_secret=SIGNING_SECRET).start()
    yield standin
    await standin.close()


def make_settings(database_url: str, slack: SlackStandIn, **extra: object) -> Settings:
    """Settings for an in-process Runtime. It grades in its own process unless a test asks
    for workers (`grading_processes=`): spawning one per test costs a second of CPU, and the
    worker path is tested through `serve` (test_grading_workers, the replica tests)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
        rubrics_dir=ROOT / "rubrics",
        outbox_poll_seconds=0.2,
        **{"grading_processes": 0, **extra},
    )


@dataclass
class RunningBot:
    runtime: Runtime
    url: str  # the Request URL Slack would call

    @property
    def base(self) -> str:
        return self.url.rsplit("/slack/events", 1)[0]


@pytest.fixture
async def bot(
    database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> AsyncIterator[RunningBot]:
    """The real app on a loopback port, wired to the Slack stand-in."""
    runtime = Runtime(make_settings(database_url, slack), bank=bank)
    await runtime.start()
    port = await runtime.serve_http(host="127.0.0.1", port=0)
    yield RunningBot(runtime, f"http://127.0.0.1:{port}/slack/events")
    await runtime.stop()


@pytest.fixture
def artifacts() -> Iterator[Path]:
    path = ROOT / "tests" / "artifacts"
    path.mkdir(exist_ok=True)
    yield path
