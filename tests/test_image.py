"""The Docker image's entry point and paths, without a Docker engine (see tests/image.py).

The README's path: `cp .env.example .env`, fill in the Slack token and signing secret (and a
port), `docker run --env-file .env`. The image's CMD runs in its WORKDIR with its ENV and the
env file, as its user: it must become healthy by the image's own HEALTHCHECK, keep its data
in the volume, and write nothing into the image.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.playground.standin import SlackStandIn
from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET
from tests.image import Dockerfile, ImageRoot, read_env_file
from tests.serving import became_healthy, free_port, posts_a_prompt

IMAGE = Dockerfile.read()
EXAMPLE = (ROOT / ".env.example").read_text()
# What a .env written before blank meant "not set" could hold: relative paths, blanks.
OLD_STYLE = (
    "DATABASE_URL=sqlite:///./deploy_drill.db\nSPOOL_PATH=./deploy_drill_spool.db\n"
    "RUBRICS_DIR=\nHOST=\nLOG_LEVEL=\n"
)


@pytest.fixture
def image_root() -> Iterator[ImageRoot]:
    try:
        root = ImageRoot(IMAGE)
    except LookupError as exc:
        pytest.skip(str(exc))
    yield root
    root.remove()


def _filled_in(**values: str) -> str:
    """`.env.example` as a person fills it in: values on its blank lines, the others appended."""
    lines = EXAMPLE.splitlines()
    for name, value in values.items():
        if f"{name}=" in lines:
            lines[lines.index(f"{name}=")] = f"{name}={value}"
        else:
            lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def _files(top: Path) -> dict[str, float]:
    return {str(p.relative_to(top)): p.stat().st_mtime for p in top.rglob("*")}


def _healthcheck(root: ImageRoot, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        IMAGE.healthcheck, cwd=root.workdir, env=env, capture_output=True, text=True,
        timeout=30, **root.popen_user(),
    )


def test_env_example_sets_nothing_the_image_or_playground_depends_on() -> None:
    """Copied as it is, .env.example sets no variable the image's ENV sets and changes no
    setting (so no HOST or DATABASE_URL reaches the playground either)."""
    given = {name for name, value in read_env_file(EXAMPLE).items() if value}
    assert given <= {"DRILL_DOMAIN"}  # docker compose's, not the bot's
    assert not set(read_env_file(EXAMPLE)) & set(IMAGE.env)
    settings = load_settings(_env_file=ROOT / ".env.example")
    assert settings.model_fields_set == set()


@pytest.mark.parametrize("extra", ["", OLD_STYLE], ids=["env-example", "relative-and-blank"])
async def test_the_documented_docker_run_serves_from_the_volume(
    image_root: ImageRoot, slack: SlackStandIn, tmp_path: Path, extra: str
) -> None:
    """The image's CMD with .env.example filled in (on another PORT) becomes healthy by the
    image's HEALTHCHECK, posts a prompt, stores it in the volume as the image's user, writes
    nothing into /app, and stops on SIGTERM; then the HEALTHCHECK fails."""
    port = free_port()
    env_file = _filled_in(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,  # the stand-in: the suite has no network
        PORT=str(port),
    )
    env = image_root.env(env_file + extra)
    image = _files(image_root.inside("/app"))
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *IMAGE.cmd, cwd=image_root.workdir, env=env, stdout=log, stderr=log,
            **image_root.popen_user(),
        )
    try:
        assert await became_healthy(port), "never healthy:\n" + log_path.read_text()
        health = _healthcheck(image_root, env)
        assert health.returncode == 0, health.stderr
        assert health.stdout.strip() == f"healthy: http://127.0.0.1:{port}/healthz"
        await posts_a_prompt(slack, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0, log_path.read_text()
    database = image_root.inside("/data/deploy_drill.db")
    assert database.stat().st_uid == image_root.uid
    assert _files(image_root.inside("/app")) == image
    assert "Traceback" not in log_path.read_text()
    after = _healthcheck(image_root, env)
    assert after.returncode == 1
    assert after.stderr.startswith(f"unhealthy: http://127.0.0.1:{port}/healthz: ")
