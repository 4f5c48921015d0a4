"""A process killed with SIGKILL mid-work: a restart takes its work over within seconds.

Each process is a lease owner with a heartbeat; its leases are taken over as soon as the
heartbeat stops, not when the lease (LEASE_SECONDS, 60 here) runs out.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from bot.config import Settings
from bot.playground.standin import SlackStandIn
from tests.grading.fake_openai import FakeOpenAI, Hang
from tests.serving import ask_question, free_port, serve_healthy, settled
from tests.slack import payloads as p

WITHIN = 10.0  # seconds from the restart to the feedback


async def _restart_and_time_feedback(
    slack: SlackStandIn, database_url: str, port: int, cwd: Path
) -> float:
    """Start `serve` again; seconds until the feedback is posted (and nothing posted twice)."""
    restarted = time.monotonic()
    second = await serve_healthy(slack, database_url, port, cwd)
    try:
        await slack.wait_for(lambda: slack.posts("drill_feedback"), within=WITHIN + 5)
        took = time.monotonic() - restarted
        await asyncio.sleep(1.0)  # time for a duplicate to show up
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    assert len(slack.posts("drill_feedback")) == 1
    return took


async def test_a_restart_posts_the_feedback_a_killed_process_was_posting_within_10s(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """kill -9 while the feedback's post hangs (the process holds its 60 s lease): the
    restarted process posts it within 10 s."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    first = await serve_healthy(slack, database_url, port, tmp_path, LEASE_SECONDS="60")
    try:
        root = await ask_question(slack, url)
        slack.stall("chat.postMessage", channel="C0DRILL")  # never carried out
        await slack.send_event(url, p.reply(root, p.STRONG_ANSWER))
        await slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 2)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    assert await _restart_and_time_feedback(slack, database_url, port, tmp_path) < WITHIN


async def test_a_restart_grades_the_answer_a_killed_process_was_grading_within_10s(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """kill -9 while the answer is being graded (an LLM call that hangs, its lease 60 s):
    the restarted process grades and answers it within 10 s."""
    openai = await FakeOpenAI(script=lambda _: Hang(600)).start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    first = await serve_healthy(
        slack,
        database_url,
        port,
        tmp_path,
        LEASE_SECONDS="60",
        GRADER="llm",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=openai.base_url,
        OPENAI_TIMEOUT_SECONDS="300",
    )
    try:
        root = await ask_question(slack, url)
        await slack.send_event(url, p.reply(root, p.STRONG_ANSWER))
        for _ in range(100):  # until the answer is claimed and its grading under way
            if openai.requests:
                break
            await asyncio.sleep(0.05)
        assert openai.requests
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
        await openai.close()
    # Restarted with the offline grader (the LLM endpoint is gone).
    assert await _restart_and_time_feedback(slack, database_url, port, tmp_path) < WITHIN


async def test_a_restart_after_kill_reposts_nothing_slack_already_has(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """50 answers acked, then kill -9 while feedback is going out: Slack has taken the posts
    in flight but their answers never reach the bot, so it has not recorded them. The
    restarted process looks in the thread for messages carrying their keys (one paced
    conversations.replies call) and posts only the rest: every answer gets one feedback."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/slack/events"
    users = [f"U0USER{i:02d}" for i in range(50)]
    first = await serve_healthy(slack, database_url, port, tmp_path)
    try:
        root = await ask_question(slack, url)
        # Every post is carried out at once and answered a second later.
        slack.stall("chat.postMessage", seconds=1.0, accepted=True, times=10_000)
        for user in users:
            status, _ = await slack.send_event(url, p.reply(root, p.STRONG_ANSWER, user=user))
            assert status == 200
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= 10, within=20)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    posted_before_restart = len(slack.posts("drill_feedback"))
    slack.recover()
    second = await serve_healthy(slack, database_url, port, tmp_path)
    try:
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= len(users), within=30)
        # Every message recorded as sent: nothing can be posted after this.
        db = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
        assert await settled(db, within=20) == (0, 0)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    answered = sorted(m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback"))
    assert answered == users
    assert posted_before_restart < len(users)
    assert 1 <= len(slack.calls_to("conversations.replies")) <= 2
