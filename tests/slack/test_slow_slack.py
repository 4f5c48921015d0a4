"""A Slack that hangs: every Web API call is bounded, a slow channel holds up no other,
and Slack's requests are acked in time whatever the Web API does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.playground.standin import SlackStandIn
from bot.questions import QuestionBank
from bot.runtime import Runtime
from tests.conftest import RunningBot, make_settings
from tests.slack import payloads as p

TIMEOUT = 3.0  # SLACK_TIMEOUT_SECONDS in these tests


@pytest.fixture
async def bot(
    database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> AsyncIterator[RunningBot]:
    runtime = Runtime(
        make_settings(database_url, slack, slack_timeout_seconds=TIMEOUT, drill_admins="U0ADMIN"),
        bank=bank,
    )
    await runtime.start()
    port = await runtime.serve_http(host="127.0.0.1", port=0)
    yield RunningBot(runtime, f"http://127.0.0.1:{port}/slack/events")
    await runtime.stop()


def feedback_for(slack: SlackStandIn, user: str) -> list[dict[str, object]]:
    return [
        m for m in slack.posts("drill_feedback") if m["metadata"]["event_payload"]["user"] == user
    ]


@pytest.mark.parametrize("accepted", [False, True], ids=["lost", "posted"])
async def test_a_hung_post_holds_up_no_other_channel(
    bot: RunningBot, slack: SlackStandIn, accepted: bool
) -> None:
    """A chat.postMessage that never returns holds up only its own channel: another
    channel's feedback goes out at once. The hung one is given up after
    SLACK_TIMEOUT_SECONDS; the next try posts it, or, when Slack had posted it after all,
    finds it in the thread: either way it is there once."""
    slow_root = await p.ask(slack, bot, channel="C0SLOW")
    quick_root = await p.ask(slack, bot, channel="C0QUICK")
    slack.stall("chat.postMessage", channel="C0SLOW", accepted=accepted)
    await slack.send_event(
        bot.url, p.reply(slow_root, p.STRONG_ANSWER, channel="C0SLOW", user="U0SLOW")
    )
    await slack.wait_for(
        lambda: any(
            c.body.get("thread_ts") and c.body.get("channel") == "C0SLOW"
            for c in slack.calls_to("chat.postMessage")
        )
    )
    started = time.monotonic()
    await slack.send_event(
        bot.url, p.reply(quick_root, p.STRONG_ANSWER, channel="C0QUICK", user="U0QUICK")
    )
    await slack.wait_for(lambda: feedback_for(slack, "U0QUICK"), within=10)
    assert time.monotonic() - started < TIMEOUT - 1  # it did not wait for the hung post
    await slack.wait_for(lambda: feedback_for(slack, "U0SLOW"), within=TIMEOUT + 10)
    if accepted:  # recorded once the next try has found it in the thread
        await slack.wait_for(lambda: slack.calls_to("conversations.replies"), within=TIMEOUT + 10)
    await asyncio.sleep(0.5)
    assert (len(feedback_for(slack, "U0SLOW")), len(feedback_for(slack, "U0QUICK"))) == (1, 1)


async def test_a_slash_command_is_acked_within_3s_when_the_web_api_hangs(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    """Slack waits 3 s for an ack. With auth.test (which Bolt calls before the first
    listener) hanging, the command is still answered in time, with an apology; with
    users.info hanging, it is acked at once and answered through its response_url."""
    slack.stall("auth.test")
    slack.stall("users.info", times=2)

    async def command(text: str) -> tuple[float, int, str]:
        started = time.monotonic()
        status, body = await asyncio.wait_for(
            slack.send_command(bot.url, text, user="U0ADMIN"), timeout=10
        )
        return time.monotonic() - started, status, body

    took, status, body = await command("schedule daily 09:00 Europe/Berlin")
    assert took < 3 and status == 200
    assert "try again" in body

    took, status, body = await command("schedule daily 09:00 Europe/Berlin")
    assert took < 3 and status == 200 and body == ""
    await slack.wait_for(lambda: slack.calls_to("respond"), within=10)
    assert slack.calls_to("respond")[-1].body["text"].startswith("Scheduled drill #1: daily")

    took, status, body = await command("schedule list")  # no Web API call: answered in the ack
    assert took < 3 and status == 200 and "09:00" in body


@pytest.mark.parametrize("fault", ["hangs", "html_503"])
async def test_an_answer_is_kept_when_authorizing_it_fails(
    fault: str, database_url: str, slack: SlackStandIn, bank: QuestionBank
) -> None:
    """Bolt asks auth.test before the first listener of a fresh process. When that call
    hangs past its deadline or meets an HTML 503, the answer is refused with a 5xx, so that
    Slack delivers it again, instead of being acknowledged and lost."""
    settings = make_settings(database_url, slack, slack_timeout_seconds=TIMEOUT)
    first = Runtime(settings, bank=bank)
    await first.start()
    port = await first.serve_http(host="127.0.0.1", port=0)
    root = await p.ask(slack, RunningBot(first, f"http://127.0.0.1:{port}/slack/events"))
    await first.stop()

    restarted = Runtime(settings, bank=bank)  # authorizes its first request anew
    await restarted.start()
    port = await restarted.serve_http(host="127.0.0.1", port=0)
    try:
        if fault == "hangs":
            slack.stall("auth.test")
        else:
            # Twice: slack-sdk tries a 5xx once more before giving up.
            slack.fail(
                "auth.test", status=503, error="Service Unavailable", page="text/html", times=2
            )
        event = p.reply(root, p.STRONG_ANSWER, user="U0LATE")
        statuses = await slack.deliver_event(
            f"http://127.0.0.1:{port}/slack/events", event, retry_delays=(0.5, 1.0, 2.0)
        )
        assert statuses[0] >= 500 and statuses[-1] == 200, statuses
        await slack.wait_for(lambda: feedback_for(slack, "U0LATE"), within=15)
        await asyncio.sleep(0.5)
        assert len(feedback_for(slack, "U0LATE")) == 1
    finally:
        slack.recover()
        await restarted.stop()
