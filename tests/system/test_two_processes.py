"""Two `serve` processes on one database: each fire posts once, each answer gets one feedback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import Settings
from bot.playground.standin import SlackStandIn
from tests.serving import free_port, seed_missed_fires, serve_healthy
from tests.slack import payloads as p


async def test_two_replicas_share_fires_and_answers(
    tmp_path: Path, slack: SlackStandIn, database_url: str
) -> None:
    """A missed fire caught up by both replicas at once posts one prompt; a reply delivered to both
    (a Slack retry landing on the other replica) gets one feedback."""
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    await seed_missed_fires(url, team="T0TEAM", channels=("C0DRILL",))

    ports = [free_port(), free_port()]
    replicas = await asyncio.gather(
        *(serve_healthy(slack, database_url, port, tmp_path, LEASE_SECONDS="2") for port in ports)
    )
    try:
        await slack.wait_for(lambda: slack.posts("drill_prompt"), within=20)
        await asyncio.sleep(1.0)
        [prompt] = slack.posts("drill_prompt")
        assert prompt["metadata"]["event_payload"]["source"] == "scheduled"
        root = str(prompt["_ts"])
        await asyncio.sleep(0.5)  # the prompt's ts is recorded
        event = p.reply(root, p.STRONG_ANSWER)
        results = await asyncio.gather(
            slack.send_event(
                f"http://127.0.0.1:{ports[0]}/slack/events", event, event_id="Ev0SAME"
            ),
            slack.send_event(
                f"http://127.0.0.1:{ports[1]}/slack/events", event, event_id="Ev0SAME", retry_num=1
            ),
        )
        assert [status for status, _ in results] == [200, 200]
        await slack.wait_for(lambda: slack.posts("drill_feedback"), within=20)
        await asyncio.sleep(1.5)
    finally:
        for replica in replicas:
            replica.terminate()
        await asyncio.gather(*(replica.wait() for replica in replicas))
    assert len(slack.posts("drill_prompt")) == 1
    assert len(slack.posts("drill_feedback")) == 1
