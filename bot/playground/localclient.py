"""People in the local workspace: what they type and click, delivered to the bot as Slack does.

Each action first changes the `Workspace` the way a Slack client would (a typed
message shows at once), then sends the bot the very request Slack would send,
signed with the workspace's secret: a `message` event, a slash command (whose HTTP
response body is the ephemeral reply), `block_actions`, `view_submission` /
`view_closed`, `app_home_opened`. The playground page drives one of these; so can
tests.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from bot.playground.slack_screen import Message, ResponseTarget, Workspace
from bot.playground.standin import BOT_ID, BOT_USER_ID, SlackStandIn

COMMAND = "/deploy-question"
SLACKBOT = "USLACKBOT"
MAX_MESSAGE = 40_000  # Slack's limit for a message's text


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    admin: bool = False


class NotAllowed(Exception):
    """The person cannot do that (not their modal, a message they cannot see, …)."""


def slack_escape(text: str) -> str:
    """Slack sends `&`, `<` and `>` in message text as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class LocalClient:
    """The Slack client for a few people in one channel of the stand-in's workspace."""

    def __init__(
        self,
        standin: SlackStandIn,
        *,
        bot_url: str = "",
        channel: str = "C0DRILL",
        channel_name: str = "ml-drills",
    ) -> None:
        self.standin = standin
        self.bot_url = bot_url  # the app's Request URL (…/slack/events); set once it listens
        self.channel = channel
        self.people: dict[str, Person] = {}
        self.workspace.channels[channel] = channel_name
        self.workspace.names.setdefault(BOT_USER_ID, "Deploy Drill")
        self.workspace.names.setdefault(SLACKBOT, "Slackbot")
        self._keys = itertools.count(1)

    @property
    def workspace(self) -> Workspace:
        return self.standin.workspace

    @property
    def team(self) -> str:
        return self.standin.team_id

    def add_person(self, user_id: str, name: str, *, admin: bool = False) -> Person:
        person = Person(user_id, name, admin)
        self.people[user_id] = person
        self.standin.add_user(user_id, name=name, is_admin=admin)
        self.standin.join(self.channel, user_id)
        return person

    def _person(self, user: str) -> Person:
        person = self.people.get(user)
        if person is None:
            raise NotAllowed(f"unknown person {user!r}")
        return person

    def _with_mentions(self, text: str, *, with_name: bool) -> str:
        """`@Bob` becomes `<@U0BOB>` (or `<@U0BOB|bob>` in escaped slash-command text)."""
        for person in sorted(self.people.values(), key=lambda p: -len(p.name)):
            tag = f"<@{person.id}|{person.name.lower()}>" if with_name else f"<@{person.id}>"
            text = re.sub(rf"(?<![\w@])@{re.escape(person.name)}\b", tag, text, flags=re.I)
        return text

    def _response_url(self, target: ResponseTarget) -> tuple[str, str]:
        key = f"local{next(self._keys)}"
        self.workspace.targets[key] = target
        return key, self.standin.response_url(key)

    def _note(self, user: str, text: str, *, thread_ts: str | None = None) -> Message:
        """A message from Slackbot that only `user` sees (a failed command, say)."""
        return self.workspace.add(
            Message(
                ts=self.standin.next_ts(),
                channel=self.channel,
                user=SLACKBOT,
                text=text,
                thread_ts=thread_ts,
                ephemeral_to=user,
            )
        )

    def _user_payload(self, person: Person) -> dict[str, Any]:
        return {
            "id": person.id,
            "username": person.name.lower(),
            "name": person.name.lower(),
            "team_id": self.team,
        }

    # --- what people do -----------------------------------------------------------

    def dm(self, user: str) -> str:
        """The person's DM channel with the bot (the one conversations.open gives the bot)."""
        return self.workspace.open_dm(self._person(user).id)

    async def say(
        self, user: str, text: str, *, thread_ts: str | None = None, channel: str | None = None
    ) -> Message:
        """Post a message in the channel (or `channel`: the person's DM with the bot, say), or
        a reply in a thread."""
        person = self._person(user)
        where = channel or self.channel
        owner = self.workspace.dms.get(where)
        if where != self.channel and owner != person.id:
            raise NotAllowed("that is not your channel or your DM with the bot")
        body = self._with_mentions(slack_escape(text.strip()[:MAX_MESSAGE]), with_name=False)
        ts = self.standin.next_ts()
        message = self.workspace.add(
            Message(ts=ts, channel=where, user=person.id, text=body, thread_ts=thread_ts)
        )
        event: dict[str, Any] = {
            "type": "message",
            "channel": where,
            "user": person.id,
            "text": body,
            "ts": ts,
            "event_ts": ts,
            "team": self.team,
            "channel_type": "im" if owner is not None else "channel",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
            root = self.workspace.message(thread_ts)
            if root is not None:
                event["parent_user_id"] = root.user
        await self._deliver_event(event, user, thread_ts=thread_ts)
        return message

    async def run_command(self, user: str, line: str) -> Message | None:
        """Run a slash command typed in the composer; the bot's reply shows ephemerally."""
        person = self._person(user)
        name, _, text = line.strip().partition(" ")
        if name != COMMAND:
            return self._note(
                person.id,
                f"`{name}` is not a valid command. In this workspace you can use `{COMMAND}`.",
            )
        target = ResponseTarget(user=person.id, channel=self.channel)
        key, _ = self._response_url(target)
        status, body = await self.standin.send_command(
            self.bot_url,
            self._with_mentions(slack_escape(text.strip()), with_name=True),
            user=person.id,
            channel=self.channel,
            response_key=key,
        )
        if status != 200:
            return self._note(person.id, f"`{COMMAND}` failed with the error “http_{status}”.")
        reply = _command_reply(body)
        if reply is None:
            return None
        ts = self.standin.next_ts()
        target.ts = ts
        return self.workspace.add(
            Message(
                ts=ts,
                channel=self.channel,
                user=BOT_USER_ID,
                bot_id=BOT_ID,
                text=str(reply.get("text") or ""),
                blocks=list(reply.get("blocks") or []),
                ephemeral_to=None if reply.get("response_type") == "in_channel" else person.id,
                command=f"{COMMAND} {text.strip()}".strip(),
            )
        )

    async def act(
        self,
        user: str,
        action: dict[str, Any],
        *,
        ts: str | None = None,
        view_id: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        """Click a button (or pick an option) in a message, the App Home or a modal."""
        person = self._person(user)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "token": "legacy",
            "team": {"id": self.team, "domain": "drill"},
            "user": self._user_payload(person),
            "api_app_id": "A0DRILL",
            "is_enterprise_install": False,
            "enterprise": None,
            "trigger_id": self.standin.trigger(person.id),
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }
        if view_id is not None:
            found = self.workspace.view(view_id)
            if found is None or found[0] != person.id:
                raise NotAllowed("no such view open for this person")
            view = found[1]
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = {**view, "state": {"values": values or {}}}
        else:
            message = self.workspace.message(ts or "")
            if message is None or message.ephemeral_to not in (None, person.id):
                raise NotAllowed("no such message")
            container: dict[str, Any] = {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": message.ephemeral_to is not None,
            }
            if message.thread_ts:
                container["thread_ts"] = message.thread_ts
            _, response_url = self._response_url(
                ResponseTarget(person.id, message.channel, message.ts, message.thread_ts)
            )
            payload.update(
                container=container,
                channel={
                    "id": message.channel,
                    "name": self.workspace.channels.get(message.channel, ""),
                },
                response_url=response_url,
                state={"values": values or {}},
            )
            if message.ephemeral_to is None:
                payload["message"] = message.to_payload()
        status, _ = await self.standin.send_interaction(self.bot_url, payload)
        if status != 200:
            self._note(person.id, f"The app did not respond (HTTP {status}).", thread_ts=None)

    async def submit(self, user: str, view_id: str, values: dict[str, Any]) -> dict[str, str]:
        """Submit a modal; returns the errors the app answered with (empty when it closed)."""
        person = self._person(user)
        stack = self.workspace.modals.get(person.id) or []
        view = next((v for v in stack if v.get("id") == view_id), None)
        if view is None:
            raise NotAllowed("no such modal open for this person")
        payload = {
            "type": "view_submission",
            "token": "legacy",
            "team": {"id": self.team, "domain": "drill"},
            "user": self._user_payload(person),
            "api_app_id": "A0DRILL",
            "trigger_id": self.standin.trigger(person.id),
            "is_enterprise_install": False,
            "enterprise": None,
            "response_urls": [],
            "view": {
                **view,
                "team_id": self.team,
                "app_id": "A0DRILL",
                "bot_id": BOT_ID,
                "root_view_id": stack[0].get("id"),
                "previous_view_id": None,
                "state": {"values": values},
            },
        }
        status, body = await self.standin.send_interaction(self.bot_url, payload)
        if status != 200:
            errors = {"": "We had some trouble connecting. Try again?"}
            self.workspace.modal_errors[view_id] = errors
            self.workspace.touch()
            return errors
        answer = _json_object(body)
        action = answer.get("response_action")
        if action == "errors":
            errors = {str(k): str(v) for k, v in dict(answer.get("errors") or {}).items()}
            self.workspace.modal_errors[view_id] = errors
            self.workspace.touch()
            return errors
        if action in ("update", "push") and isinstance(answer.get("view"), dict):
            self.workspace.replace_top_view(person.id, answer["view"], push=action == "push")
        elif action == "clear":
            self.workspace.close_view(person.id, view_id, all_views=True)
        else:
            self.workspace.close_view(person.id, view_id)
        return {}

    async def close(self, user: str, view_id: str) -> None:
        """Close (cancel) a modal; the app hears of it if the view asked to be notified."""
        person = self._person(user)
        stack = self.workspace.modals.get(person.id) or []
        view = next((v for v in stack if v.get("id") == view_id), None)
        if view is None:
            return
        self.workspace.close_view(person.id, view_id)
        if view.get("notify_on_close"):
            await self.standin.send_interaction(
                self.bot_url,
                {
                    "type": "view_closed",
                    "team": {"id": self.team, "domain": "drill"},
                    "user": self._user_payload(person),
                    "api_app_id": "A0DRILL",
                    "view": view,
                    "is_cleared": False,
                    "is_enterprise_install": False,
                },
            )

    async def open_home(self, user: str) -> None:
        """Open the app's Home tab: Slack sends app_home_opened."""
        person = self._person(user)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": person.id,
            "channel": "D0" + person.id[2:],
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if person.id in self.workspace.home:
            event["view"] = self.workspace.home[person.id]
        await self._deliver_event(event, person.id)

    async def _deliver_event(
        self, event: dict[str, Any], user: str, *, thread_ts: str | None = None
    ) -> None:
        status, _ = await self.standin.send_event(self.bot_url, event)
        if status != 200:
            self._note(
                user, f"The app did not acknowledge that (HTTP {status}).", thread_ts=thread_ts
            )


def _json_object(body: str) -> dict[str, Any]:
    if not body.strip().startswith("{"):
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _command_reply(body: str) -> dict[str, Any] | None:
    """What a slash command's HTTP response shows: JSON with text/blocks, or plain text."""
    if not body.strip():
        return None
    reply = _json_object(body)
    if not reply:
        return {"text": body}
    return reply if reply.get("text") or reply.get("blocks") else None
