"""The playground over HTTP: the real bot on the stand-in, driven through the page's JSON API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import time_machine

from bot.config import Settings
from bot.playground import Playground, ignored_settings, playground_settings, start_playground
from tests.conftest import ROOT
from tests.slack import payloads as p

State = dict[str, Any]


@pytest.fixture
async def playground(database_url: str) -> AsyncIterator[Playground]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        rubrics_dir=ROOT / "rubrics",
        outbox_poll_seconds=0.2,
    )
    running = await start_playground(settings, port=0, database_url=database_url)
    yield running
    await running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def do(http: aiohttp.ClientSession, pg: Playground, what: str, **body: Any) -> dict[str, Any]:
    async with http.post(
        pg.url + f"playground/api/{what}", json={"user": "U0ALICE", **body}
    ) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def until(
    http: aiohttp.ClientSession,
    pg: Playground,
    check: Callable[[State], bool],
    *,
    user: str = "U0ALICE",
) -> State:
    """Long-poll the state (as the page does) until `check` holds."""
    since = -1
    async with asyncio.timeout(15):
        while True:
            url = pg.url + f"playground/api/state?user={user}&since={since}"
            async with http.get(url) as response:
                state: State = await response.json()
            if check(state):
                return state
            since = state["version"]


def by_type(state: State, event_type: str) -> list[dict[str, Any]]:
    return [m for m in state["messages"] if m["event_type"] == event_type]


async def test_the_page_and_its_assets_are_served(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    """/ is the page; its script and styles come from package data, nothing else does."""
    async with http.get(playground.url) as response:
        assert response.status == 200
        page = await response.text()
    assert "/playground/static/app.js" in page and "http" not in page.split("<body>")[0].replace(
        "http-equiv", ""
    )
    for name in ("app.js", "style.css"):
        async with http.get(playground.url + f"playground/static/{name}") as response:
            assert response.status == 200
    async with http.get(playground.url + "playground/static/secrets.env") as response:
        assert response.status == 404


async def test_actions_must_be_json_from_a_known_person(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    """A cross-site form post (not JSON) or an unknown person is refused."""
    url = playground.url + "playground/api/command"
    async with http.post(url, data={"user": "U0ALICE", "text": "/deploy-question"}) as response:
        assert response.status == 415
    async with http.post(url, json={"user": "U0MALLORY", "text": "/deploy-question"}) as response:
        assert response.status == 400


async def test_only_its_own_host_names_are_served(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    """On loopback, a request naming another host (DNS rebinding) is refused."""
    state = playground.url + "playground/api/state?since=-1"
    async with http.get(state, headers={"Host": "attacker.example"}) as response:
        assert response.status == 403
    async with http.get(state, headers={"Host": "localhost"}) as response:
        assert response.status == 200


async def test_command_answer_and_feedback_through_the_page_api(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    """Run the command, answer in the thread as Bob, and see scored feedback with the 30-second answer."""
    await do(http, playground, "command", text="/deploy-question deploy-ml-models")
    state = await until(http, playground, lambda s: bool(by_type(s, "drill_prompt")))
    [ack] = [m for m in state["messages"] if m["ephemeral"]]
    assert ack["command"] == "/deploy-question deploy-ml-models"
    root = by_type(state, "drill_prompt")[0]["ts"]
    await p.wait_recorded(playground, root, team="T0PLAYGRND", channel="C0PLAYGRND")
    await do(http, playground, "message", user="U0BOB", text=p.STRONG_ANSWER, thread_ts=root)
    state = await until(
        http, playground, lambda s: bool(by_type(s, "drill_feedback")), user="U0BOB"
    )
    [feedback] = by_type(state, "drill_feedback")
    assert feedback["thread_ts"] == root and feedback["reply"]
    assert "Model 30-second answer" in feedback["html"]
    assert "/100 · " in feedback["html"]
    assert '<span class="mention">@Bob</span>' in feedback["html"]
    assert [m for m in state["messages"] if m["ephemeral"]] == []  # Alice's ack is hers alone
    assert by_type(state, "drill_prompt")[0]["replies"] == 2


async def test_button_click_goes_to_the_bot_and_its_reply_replaces_the_message(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    """forget-me's Cancel button, clicked on the page, is answered in place."""
    await do(http, playground, "command", text="/deploy-question forget-me")
    state = await until(http, playground, lambda s: any(m["ephemeral"] for m in s["messages"]))
    [confirm] = [m for m in state["messages"] if m["ephemeral"]]
    assert "forget_me_cancel" in confirm["html"]
    await do(
        http,
        playground,
        "action",
        ts=confirm["ts"],
        action={"type": "button", "action_id": "forget_me_cancel", "value": "cancel"},
    )
    state = await until(
        http, playground, lambda s: any("Nothing was deleted" in m["html"] for m in s["messages"])
    )
    assert len([m for m in state["messages"] if m["ephemeral"]]) == 1


async def test_home_tab_shows_the_published_view(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    """Opening Home sends app_home_opened; the view the bot publishes is shown."""
    await do(http, playground, "home", user="U0CAROL")
    state = await until(http, playground, lambda s: s["home"] is not None, user="U0CAROL")
    assert "Deploy Drill" in state["home"]["html"]


async def test_uploaded_files_are_served_to_the_page(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    """A chart the bot uploads shows in the channel and is served from the playground."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
    await playground.runtime.client.files_upload_v2(
        token=playground.runtime.settings.slack_bot_token.get_secret_value(),
        content=png,
        filename="scores.png",
        title="Scores",
        channel="C0PLAYGRND",
    )
    state = await until(http, playground, lambda s: any("<img" in m["html"] for m in s["messages"]))
    [message] = [m for m in state["messages"] if "<img" in m["html"]]
    file_id = message["html"].split("/playground/files/")[1].split('"')[0]
    async with http.get(playground.url + f"playground/files/{file_id}") as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == png


def test_playground_settings_replace_slack_and_keep_to_loopback() -> None:
    """A generated secret and fake token, the stand-in's URL, loopback, its own database."""
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    local = playground_settings(base, api_url="http://127.0.0.1:9/api/")
    again = playground_settings(base, api_url="http://127.0.0.1:9/api/")
    assert local.slack_api_url == "http://127.0.0.1:9/api/"
    assert local.slack_bot_token is not None
    assert local.slack_bot_token.get_secret_value().startswith("xoxb-playground-")
    assert local.slack_signing_secret is not None and again.slack_signing_secret is not None
    assert local.slack_signing_secret != again.slack_signing_secret
    assert local.host == "127.0.0.1"
    assert local.database_url == "sqlite:///./deploy_drill_playground.db"
    assert ignored_settings(base) == []


def test_a_deployments_host_and_database_are_ignored_unless_flags_ask() -> None:
    """HOST and DATABASE_URL from the environment or .env leave the playground on loopback and
    its own file, each with a warning; --host and --database-url move it."""
    deployed = Settings(_env_file=None, host="0.0.0.0", database_url="sqlite:///prod.db")  # type: ignore[call-arg]
    local = playground_settings(deployed, api_url="http://127.0.0.1:9/api/")
    assert (local.host, local.database_url) == (
        "127.0.0.1",
        "sqlite:///./deploy_drill_playground.db",
    )
    host_line, database_line = ignored_settings(deployed)
    assert host_line.startswith("HOST=0.0.0.0 from the environment or .env is ignored")
    assert "--host" in host_line
    assert database_line.startswith("DATABASE_URL from the environment or .env is ignored")
    assert "--database-url" in database_line and "prod.db" not in database_line
    flags = {"host": "0.0.0.0", "database_url": "sqlite:///mine.db"}
    chosen = playground_settings(deployed, api_url="http://127.0.0.1:9/api/", **flags)
    assert (chosen.host, chosen.database_url) == ("0.0.0.0", "sqlite:///mine.db")
    assert ignored_settings(deployed, **flags) == []
    loopback = Settings(_env_file=None, host="localhost")  # type: ignore[call-arg]
    assert ignored_settings(loopback) == []


async def test_a_review_dm_is_answered_in_its_thread_through_the_page(
    playground: Playground, http: aiohttp.ClientSession
) -> None:
    """Spaced review works in the playground: the stand-in opens Bob's DM with the bot, the
    page shows it (to Bob only), and his reply in its thread gets the brief feedback there."""

    def dm_of(state: State, event_type: str) -> list[dict[str, Any]]:
        return [m for m in state["dm"]["messages"] if m["event_type"] == event_type]

    with time_machine.travel(datetime(2027, 1, 4, 10, tzinfo=UTC), tick=True) as clock:
        await do(http, playground, "command", user="U0BOB", text="/deploy-question review on")
        await do(
            http, playground, "command", user="U0BOB", text="/deploy-question deploy-ml-models"
        )
        state = await until(http, playground, lambda s: bool(by_type(s, "drill_prompt")))
        root = by_type(state, "drill_prompt")[0]["ts"]
        await p.wait_recorded(playground, root, team="T0PLAYGRND", channel="C0PLAYGRND")
        await do(http, playground, "message", user="U0BOB", text=p.WEAK_ANSWER, thread_ts=root)
        await until(http, playground, lambda s: bool(by_type(s, "drill_feedback")))
        clock.move_to(datetime(2027, 1, 5, 10, 30, tzinfo=UTC))
        assert await playground.runtime.reviews.send_due() == 1
        state = await until(
            http, playground, lambda s: bool(dm_of(s, "drill_review")), user="U0BOB"
        )
        assert state["dm"]["id"] == "D0BOB"
        ts = await p.review_ts(playground, team="T0PLAYGRND")
        alice_posts = await _post(http, playground, user="U0ALICE", text="mine", thread_ts=ts)
        assert alice_posts == 400  # not her DM
        await do(
            http,
            playground,
            "message",
            user="U0BOB",
            text="I first ask whether it must answer in real time and what latency budget we "
            "have, and what a wrong prediction costs.",
            thread_ts=ts,
        )
        state = await until(
            http, playground, lambda s: bool(dm_of(s, "drill_review_feedback")), user="U0BOB"
        )
    [feedback] = dm_of(state, "drill_review_feedback")
    assert feedback["thread_ts"] == ts and feedback["reply"]
    assert "The ideal, in two sentences" in feedback["html"]
    alice = await until(http, playground, lambda s: True)
    assert alice["dm"]["id"] == "D0ALICE" and alice["dm"]["messages"] == []


async def _post(http: aiohttp.ClientSession, pg: Playground, **body: Any) -> int:
    async with http.post(pg.url + "playground/api/message", json=body) as response:
        return response.status
