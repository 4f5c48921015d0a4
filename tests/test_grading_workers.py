"""`serve` grades in a worker process: killing the worker loses no feedback, and no worker
outlives `serve`, whether it stops cleanly or is killed."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bot.playground.standin import SlackStandIn
from tests.serving import ask_question, free_port, serve_healthy
from tests.slack import payloads as p


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found.update(int(child) for child in task.read_text().split())
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _grading_workers(pid: int) -> set[int]:
    return {c for c in _children(pid) if "spawn_main" in _cmdline(c)}


def _maps_numpy(pid: int) -> bool:
    return "/numpy/" in Path(f"/proc/{pid}/maps").read_text()


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie left for its parent to reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _gone(pids: set[int], within: float = 10.0) -> bool:
    for _ in range(int(within / 0.1)):
        if not any(_alive(pid) for pid in pids):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_killed_grading_worker_loses_no_feedback(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    serve = await serve_healthy(slack, database_url, port, tmp_path)
    try:
        root = await ask_question(slack, url)
        status, _ = await slack.send_event(url, p.reply(root, p.STRONG_ANSWER, user="U0FIRST"))
        assert status == 200
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 1, within=20)
        [worker] = _grading_workers(serve.pid)
        # Only the worker holds the learned model (and numpy): serve's memory stays small.
        assert _maps_numpy(worker) and not _maps_numpy(serve.pid)

        os.kill(worker, signal.SIGKILL)
        users = [f"U0AFTER{i}" for i in range(5)]
        for user in users:
            status, _ = await slack.send_event(url, p.reply(root, p.STRONG_ANSWER, user=user))
            assert status == 200
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 6, within=30)
        feedback = slack.posts("drill_feedback")
        assert sorted(m["metadata"]["event_payload"]["user"] for m in feedback[1:]) == users
        # Graded as before the worker died: the same answer, the same score.
        scores = {m["metadata"]["event_payload"]["score"] for m in feedback}
        assert len(scores) == 1 and scores.pop() >= 80

        # A new worker took over for the answers after those.
        await slack.send_event(url, p.reply(root, p.STRONG_ANSWER, user="U0LATER"))
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 7, within=20)
        [replacement] = _grading_workers(serve.pid)
        assert replacement != worker
    finally:
        serve.send_signal(signal.SIGTERM)
        await serve.wait()


async def test_no_grading_worker_outlives_serve(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    for stop in (signal.SIGTERM, signal.SIGKILL):
        port = free_port()
        serve = await serve_healthy(slack, database_url, port, tmp_path)
        try:
            children = _children(serve.pid)
            assert _grading_workers(serve.pid), "serve grades in a worker process by default"
        finally:
            serve.send_signal(stop)
            await serve.wait()
        assert await _gone(children), f"after {stop.name}: {children} still running"


async def test_without_grading_workers_serve_grades_in_its_own_process(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """GRADING_PROCESSES=0: no child process, and the same feedback."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    serve = await serve_healthy(slack, database_url, port, tmp_path, GRADING_PROCESSES="0")
    try:
        root = await ask_question(slack, url)
        status, _ = await slack.send_event(url, p.reply(root, p.STRONG_ANSWER, user="U0ALONE"))
        assert status == 200
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) == 1, within=20)
        assert _children(serve.pid) == set()
        [feedback] = slack.posts("drill_feedback")
        assert feedback["metadata"]["event_payload"]["score"] >= 80
    finally:
        serve.send_signal(signal.SIGTERM)
        await serve.wait()
