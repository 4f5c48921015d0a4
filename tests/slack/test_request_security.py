"""Only Slack gets in: Bolt's signature check rejects forged, stale, unsigned and tampered requests."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import unicodedata
import urllib.parse

import aiohttp
import pytest

from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
from tests.conftest import RunningBot, make_settings
from tests.slack import payloads as p


def _command_body(text: str = "deploy-ml-models") -> str:
    return urllib.parse.urlencode(
        {
            "team_id": "T0TEAM",
            "channel_id": "C0DRILL",
            "user_id": "U0EVE",
            "command": "/deploy-question",
            "text": text,
            "response_url": "http://127.0.0.1:9/x",
        }
    )


async def _post(url: str, body: str, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url,
            data=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        ) as response,
    ):
        return response.status


async def test_forged_stale_unsigned_and_tampered_requests_get_401(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Each bad request is refused with 401 and nothing is posted or stored."""
    body = _command_body()
    forged = SlackStandIn(signing_secret="not-the-secret").sign(body)
    stale = slack.sign(body, timestamp=int(time.time()) - 6 * 60)
    tampered = slack.sign(body)
    assert await _post(bot.url, body, forged) == 401
    assert await _post(bot.url, body, stale) == 401
    assert await _post(bot.url, body, {}) == 401
    assert await _post(bot.url, _command_body("rollout-strategies"), tampered) == 401
    assert (
        await _post(bot.url, body, slack.sign(body)) == 200
    )  # the control: a good signature works
    await slack.wait_for(lambda: slack.posts("drill_prompt"))
    assert len(slack.posts("drill_prompt")) == 1


async def test_oversized_body_is_refused(bot: RunningBot, slack: SlackStandIn) -> None:
    """A body over the size limit is rejected before Bolt parses it."""
    root = await p.ask(slack, bot)
    event = p.reply(root, "x" * 1_100_000)
    status, _ = await slack.send_event(bot.url, event)
    assert status == 413
    assert slack.posts("drill_feedback") == []


async def test_answers_quoting_mentions_cannot_ping_anyone(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Evidence quoted from an answer never contains a live <!channel>, <!here> or user mention."""
    root = await p.ask(slack, bot)
    sneaky = (
        "<!channel> <!here|here> <@U0BOSS> I monitor latency and drift <!subteam^S123|@ml> with alerts, "
        "and we do a canary on 5% of traffic <https://evil.example|click> before rollout."
    )
    await slack.send_event(bot.url, p.reply(root, sneaky))
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    rendered = json.dumps(slack.posts("drill_feedback")[0]["blocks"])
    for live in ("<!channel", "<!here", "<@U0BOSS", "<!subteam", "<https://evil"):
        assert live not in rendered
    assert "<@U0ALICE>" in rendered  # the bot's own mention of the answerer stays


async def _post_with(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body.encode(), headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_a_replayed_command_is_handled_once_even_on_another_replica(
    database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> None:
    """A signed command captured and sent again within Slack's five-minute window (to the same
    replica or another on the database) posts nothing more and shows nothing private."""
    replicas = [Runtime(make_settings(database_url, slack), bank=bank) for _ in range(2)]
    urls = []
    for runtime in replicas:
        await runtime.start()
        urls.append(
            f"http://127.0.0.1:{await runtime.serve_http(host='127.0.0.1', port=0)}/slack/events"
        )
    try:
        for text in ("deploy-ml-models", "stats"):
            form = {
                "team_id": "T0TEAM",
                "channel_id": "C0DRILL",
                "user_id": "U0ALICE",
                "command": "/deploy-question",
                "text": text,
                "response_url": slack.response_url(),
                "trigger_id": slack.trigger("U0ALICE"),
            }
            body = urllib.parse.urlencode(form)
            headers = {"Content-Type": "application/x-www-form-urlencoded", **slack.sign(body)}
            first = await _post_with(urls[0], body, headers)
            again = await _post_with(urls[0], body, headers)
            elsewhere = await _post_with(urls[1], body, headers)
            assert first[0] == again[0] == elsewhere[0] == 200
            assert "already handled" not in first[1]
            assert "already handled" in again[1] and "already handled" in elsewhere[1]
        await slack.wait_for(lambda: slack.posts("drill_prompt"))
        await asyncio.sleep(0.5)  # time for a second prompt to be posted
    finally:
        for runtime in replicas:
            await runtime.stop()
    assert len(slack.posts("drill_prompt")) == 1


MALFORMED = {
    "not JSON": ("application/json", b"{not json"),
    "a JSON array": ("application/json", b"[1, 2]"),
    "JSON null": ("application/json", b"null"),
    "an event that is not an object": (
        "application/json",
        b'{"type": "event_callback", "team_id": "T0TEAM", "event": "message"}',
    ),
    "a payload that is not JSON": ("application/x-www-form-urlencoded", b"payload=%7Bnot"),
    "a payload that is a list": ("application/x-www-form-urlencoded", b"payload=%5B1%5D"),
    "actions that are not a list": (
        "application/x-www-form-urlencoded",
        b"payload=" + urllib.parse.quote('{"type": "block_actions", "actions": "x"}').encode(),
    ),
    "mistyped event fields": (
        "application/json",
        b'{"type": "event_callback", "event": {"type": "message", "user": 5, "ts": [1]}}',
    ),
}


async def test_a_signed_malformed_body_gets_400_and_one_log_line(
    bot: RunningBot, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack-signed but malformed: 400 and one line in the log, no traceback; unsigned: 401."""
    for name, (content_type, raw) in MALFORMED.items():
        caplog.clear()
        headers = {"Content-Type": content_type, **slack.sign(raw.decode())}
        async with (
            aiohttp.ClientSession() as session,
            session.post(bot.url, data=raw, headers=headers) as response,
        ):
            assert response.status == 400, name
        problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(problems) == 1, (name, [r.getMessage() for r in problems])
        assert problems[0].exc_info is None, name
        assert "malformed" in problems[0].getMessage(), name
        async with (
            aiohttp.ClientSession() as session,
            session.post(bot.url, data=raw, headers={"Content-Type": content_type}) as response,
        ):
            assert response.status == 401, name
    # Slack signs UTF-8 only: other bytes cannot carry its signature.
    caplog.clear()
    raw = b'{"type": "\xff"}'
    headers = {"Content-Type": "application/json", **slack.sign(raw.decode(errors="replace"))}
    async with (
        aiohttp.ClientSession() as session,
        session.post(bot.url, data=raw, headers=headers) as response,
    ):
        assert response.status == 401
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_control_characters_in_a_command_are_not_echoed(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """A null byte (or any control character) typed into a command never comes back in a reply."""
    for text in (
        "deploy\x00-ml-models-nope",
        "foo\x00 bar\x1b[31m",
        "schedule fort\x00nightly",
        "schedule daily 2\x007:00",
        "mock @bo\x00b",
    ):
        status, body = await slack.send_command(bot.url, text)
        assert status == 200, text
        reply = json.loads(body)["text"] if body.startswith("{") else body
        controls = [c for c in reply if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]
        assert controls == [], (text, reply)
    assert slack.posts("drill_prompt") == []
