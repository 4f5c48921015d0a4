"""The `deploy-drill` command as a user runs it: real processes, real HTTP."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.playground.standin import SlackStandIn
from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET
from tests.serving import (
    became_healthy,
    clean_env,
    free_port,
    posts_a_prompt,
    serve_env,
    start_serve,
)

CLI = [sys.executable, "-m", "bot"]


def test_grade_json_follows_the_contract(tmp_path: Path) -> None:
    """`grade --format json` prints the contract's fields with computed score and band."""
    answer = tmp_path / "answer.txt"
    answer.write_text(
        "I package the model with its preprocessing in a pinned container, serve it behind an API, "
        "validate the schema, roll out with a canary, and monitor drift and latency with alerts."
    )
    out = subprocess.run(
        [*CLI, "grade", "--question", "deploy-ml-models", "--format", "json", str(answer)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(RUBRICS_DIR=str(ROOT / "rubrics")),
        check=True,
    )
    grade = json.loads(out.stdout)
    assert {
        "question_id",
        "rubric_version",
        "grader",
        "score",
        "band",
        "criteria",
        "mistakes",
        "length",
        "model_answer_30s",
    } <= set(grade)
    assert grade["grader"] == "rubric"
    assert [c["id"] for c in grade["criteria"]][:2] == ["context", "packaging"]
    assert all(
        {"id", "name", "level", "max_level", "evidence", "tip"} <= set(c) for c in grade["criteria"]
    )
    assert grade["length"]["words"] > 20


def test_grade_reads_stdin_and_prints_text(tmp_path: Path) -> None:
    """`grade -` reads the answer from stdin and prints a readable report."""
    out = subprocess.run(
        [*CLI, "grade", "--question", "deploy-ml-models", "-"],
        input="We ship it with docker.",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(),
        check=True,
    )
    assert "Score" in out.stdout and "Model 30-second answer" in out.stdout


async def test_run_without_credentials_starts_the_playground(tmp_path: Path) -> None:
    """`make run` with no Slack credentials says so in one line and serves the playground - on
    loopback and in its own file even when .env (copied from .env.example) names a deployment's
    HOST and DATABASE_URL, which it says it ignores."""
    port = free_port()
    example = (ROOT / ".env.example").read_text()
    (tmp_path / ".env").write_text(
        example + "HOST=0.0.0.0\nDATABASE_URL=sqlite:///./deploy_drill.db\n"
    )
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "run",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(PORT=str(port), RUBRICS_DIR=str(ROOT / "rubrics"), LOG_LEVEL="WARNING"),
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        notes = [(await asyncio.wait_for(proc.stderr.readline(), 30)).decode() for _ in range(3)]
        announced = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert notes[0].startswith("SLACK_BOT_TOKEN is not set: starting the local playground")
        assert notes[1].startswith("HOST=0.0.0.0 from the environment or .env is ignored")
        assert notes[2].startswith("DATABASE_URL from the environment or .env is ignored")
        assert f"http://127.0.0.1:{port}/" in announced
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as response,
        ):
            assert response.status == 200
            assert "Deploy Drill playground" in await response.text()
        with pytest.raises(OSError):  # on 0.0.0.0 this other loopback address would answer
            socket.create_connection(("127.0.0.2", port), timeout=2).close()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 15)
    assert code == 0
    assert (tmp_path / "deploy_drill_playground.db").exists()
    assert not (tmp_path / "deploy_drill.db").exists()  # not the deployment's database


def test_malformed_setting_stops_serve_with_one_line(tmp_path: Path) -> None:
    """A bad PORT stops start-up naming the variable."""
    out = subprocess.run(
        [*CLI, "serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(
            PORT="eighty", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET
        ),
    )
    assert out.returncode == 2
    assert "PORT:" in out.stderr and "Traceback" not in out.stderr


def test_broken_rubric_fails_start_with_file_and_field(tmp_path: Path) -> None:
    """A broken rubric directory stops `serve` with file:line: field: reason."""
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "bad.yaml").write_text("id: bad\ntitle: 3\n")
    out = subprocess.run(
        [*CLI, "serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            RUBRICS_DIR=str(rubrics),
            DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
        ),
    )
    assert out.returncode == 2
    assert "bad.yaml:2: title:" in out.stderr


async def test_serve_migrates_answers_and_stops_on_sigterm(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """`serve` on a fresh database becomes healthy, posts a prompt, and exits 0 on SIGTERM."""
    port = free_port()
    proc = await start_serve(serve_env(slack, database_url, port), tmp_path)
    try:
        assert await became_healthy(port), "serve never became healthy"
        await posts_a_prompt(slack, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 15)
    assert code == 0
