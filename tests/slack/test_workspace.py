"""The stand-in's client view (Workspace) and people acting through LocalClient, against the real bot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.playground.localclient import LocalClient, NotAllowed
from bot.playground.slack_screen import Message
from bot.playground.standin import BOT_ID, BOT_USER_ID, SlackStandIn
from tests.conftest import BOT_TOKEN, RunningBot
from tests.slack import payloads as p


async def test_command_reply_is_ephemeral_and_prompt_is_in_the_channel(
    people: LocalClient, slack: SlackStandIn
) -> None:
    """A command's HTTP response shows only to its runner; the prompt shows to everyone."""
    await people.run_command("U0ALICE", "/deploy-question deploy-ml-models")
    await slack.wait_for(lambda: slack.posts("drill_prompt"))
    ws = people.workspace
    [ack] = [m for m in ws.messages if m.ephemeral_to == "U0ALICE"]
    assert ack.command == "/deploy-question deploy-ml-models"
    assert "answer in its thread" in ack.text
    [prompt] = [m for m in ws.visible_to("U0BOB") if m.metadata]
    assert prompt.metadata is not None
    assert prompt.metadata["event_type"] == "drill_prompt"
    assert prompt.user == BOT_USER_ID and prompt.blocks[0]["type"] == "header"
    assert all(m.ephemeral_to is None for m in ws.visible_to("U0BOB"))


async def test_reply_in_thread_gets_feedback_in_that_thread(
    people: LocalClient, slack: SlackStandIn, bot: RunningBot
) -> None:
    """A person's thread reply reaches the bot as a message event; feedback lands in the thread."""
    root = await p.ask(slack, bot)
    await people.say("U0BOB", p.STRONG_ANSWER, thread_ts=root)
    await slack.wait_for(lambda: slack.posts("drill_feedback"))
    replies = people.workspace.thread(root, user="U0BOB")
    assert [m.user for m in replies] == ["U0BOB", BOT_USER_ID]
    assert replies[1].metadata is not None
    assert replies[1].metadata["event_payload"]["user"] == "U0BOB"
    assert "30-second" in json.dumps(replies[1].blocks)
    assert people.workspace.reply_count(root) == 2


async def test_typed_text_is_sent_escaped_like_slack(people: LocalClient) -> None:
    """&, < and > travel as entities, as in Slack, and @Name becomes a mention."""
    message = await people.say("U0ALICE", "<b>hi</b> & hello @Bob")
    assert message.text == "&lt;b&gt;hi&lt;/b&gt; &amp; hello <@U0BOB>"


async def test_button_in_an_ephemeral_reply_replaces_it(people: LocalClient) -> None:
    """forget-me's Cancel button answers through response_url, replacing the ephemeral message."""
    confirm = await people.run_command("U0ALICE", "/deploy-question forget-me")
    assert confirm is not None and confirm.ephemeral_to == "U0ALICE"
    cancel = next(
        e
        for b in confirm.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "forget_me_cancel"
    )
    await people.act(
        "U0ALICE",
        {"type": "button", "action_id": cancel["action_id"], "value": cancel["value"]},
        ts=confirm.ts,
    )
    await people.standin.wait_for(lambda: confirm.text == "Nothing was deleted.")
    assert confirm.blocks == []
    assert people.workspace.message(confirm.ts) is confirm


async def test_nobody_clicks_in_someone_elses_ephemeral(people: LocalClient) -> None:
    """An ephemeral message belongs to one person: another cannot act on it."""
    confirm = await people.run_command("U0ALICE", "/deploy-question forget-me")
    assert confirm is not None
    with pytest.raises(NotAllowed):
        await people.act("U0BOB", {"action_id": "forget_me_confirm"}, ts=confirm.ts)


async def test_opening_the_home_tab_publishes_a_view(
    people: LocalClient, slack: SlackStandIn
) -> None:
    """app_home_opened makes the bot publish the person's Home view."""
    await people.open_home("U0BOB")
    await slack.wait_for(lambda: "U0BOB" in people.workspace.home)
    home = people.workspace.home["U0BOB"]
    assert home["type"] == "home" and home["id"].startswith("V")


async def test_unknown_command_is_answered_by_slackbot(people: LocalClient) -> None:
    """Only /deploy-question exists here; anything else gets Slack's own refusal."""
    note = await people.run_command("U0ALICE", "/giphy cats")
    assert note is not None and note.user == "USLACKBOT" and note.ephemeral_to == "U0ALICE"


async def test_file_upload_v2_shares_the_file_in_the_thread(slack: SlackStandIn) -> None:
    """files_upload_v2 (getUploadURLExternal, upload, completeUploadExternal) shows a file message."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    response = await client.files_upload_v2(
        content=png,
        filename="digest.png",
        title="Weekly scores",
        channel="C0DRILL",
        thread_ts="1700000001.000100",
        initial_comment="This week",
    )
    file_id = response["file"]["id"]
    [message] = [m for m in slack.workspace.messages if m.files]
    assert message.thread_ts == "1700000001.000100" and message.text == "This week"
    assert message.files[0]["title"] == "Weekly scores"
    assert message.files[0]["mimetype"] == "image/png"
    assert slack.workspace.files[file_id].data == png


# --- modals, against a recording app (the bot has no modal of its own to open here) ---


class RecordingApp:
    """A stand-in for the bot's /slack/events: verifies signatures, records, answers as told."""

    def __init__(self, secret: str) -> None:
        self.verifier = SignatureVerifier(secret)
        self.received: list[dict[str, Any]] = []
        self.answer: dict[str, Any] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        assert self.verifier.is_valid_request(body, dict(request.headers))
        self.received.append(json.loads(parse_qs(body)["payload"][0]))
        if self.answer is None:
            return web.Response(text="")
        return web.json_response(self.answer)


@pytest.fixture
async def recorder(slack: SlackStandIn) -> AsyncIterator[tuple[RecordingApp, LocalClient]]:
    app = RecordingApp(slack.signing_secret)
    web_app = web.Application()
    web_app.router.add_post("/slack/events", app.handle)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = LocalClient(slack, bot_url=f"http://127.0.0.1:{port}/slack/events", channel="C0DRILL")
    client.add_person("U0ALICE", "Alice")
    client.add_person("U0BOB", "Bob")
    yield app, client
    await runner.cleanup()


RATING_VIEW = {
    "type": "modal",
    "callback_id": "rate",
    "private_metadata": "7",
    "title": {"type": "plain_text", "text": "Rate"},
    "submit": {"type": "plain_text", "text": "Post"},
    "blocks": [
        {
            "type": "input",
            "block_id": "rating",
            "label": {"type": "plain_text", "text": "Rating"},
            "element": {"type": "static_select", "action_id": "value", "options": []},
        }
    ],
}


async def _open_modal(slack: SlackStandIn, client: LocalClient, app: RecordingApp) -> str:
    message = client.workspace.add(
        Message(ts=slack.next_ts(), channel="C0DRILL", user=BOT_USER_ID, bot_id=BOT_ID)
    )
    await client.act("U0BOB", {"type": "button", "action_id": "rate", "value": "7"}, ts=message.ts)
    [clicked] = app.received
    assert clicked["type"] == "block_actions" and clicked["message"]["ts"] == message.ts
    web_client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    response = await web_client.views_open(trigger_id=clicked["trigger_id"], view=RATING_VIEW)
    return str(response["view"]["id"])


async def test_views_open_shows_the_modal_to_whoever_clicked(
    slack: SlackStandIn, recorder: tuple[RecordingApp, LocalClient]
) -> None:
    """The trigger_id of a click identifies the person the modal opens for."""
    app, client = recorder
    view_id = await _open_modal(slack, client, app)
    modal = client.workspace.modal("U0BOB")
    assert modal is not None and modal["id"] == view_id and modal["callback_id"] == "rate"
    assert client.workspace.modal("U0ALICE") is None


async def test_view_submission_carries_state_and_closes_the_modal(
    slack: SlackStandIn, recorder: tuple[RecordingApp, LocalClient]
) -> None:
    """Submitting sends view_submission with state.values; an empty ack closes the modal."""
    app, client = recorder
    view_id = await _open_modal(slack, client, app)
    values = {"rating": {"value": {"type": "static_select", "selected_option": {"value": "4"}}}}
    assert await client.submit("U0BOB", view_id, values) == {}
    submission = app.received[-1]
    assert submission["type"] == "view_submission"
    assert submission["view"]["callback_id"] == "rate"
    assert submission["view"]["private_metadata"] == "7"
    assert submission["view"]["state"]["values"] == values
    assert submission["user"]["id"] == "U0BOB"
    assert client.workspace.modal("U0BOB") is None


async def test_validation_errors_keep_the_modal_open(
    slack: SlackStandIn, recorder: tuple[RecordingApp, LocalClient]
) -> None:
    """response_action errors keep the modal and show the errors by block."""
    app, client = recorder
    view_id = await _open_modal(slack, client, app)
    app.answer = {"response_action": "errors", "errors": {"rating": "Pick one"}}
    assert await client.submit("U0BOB", view_id, {}) == {"rating": "Pick one"}
    assert client.workspace.modal("U0BOB") is not None
    assert client.workspace.modal_errors[view_id] == {"rating": "Pick one"}
