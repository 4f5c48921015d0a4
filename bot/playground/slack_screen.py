"""What a Slack client would show: a channel, its threads, ephemeral replies, DMs with the bot,
App Home, modals, files.

The stand-in (`standin.py`) keeps one `Workspace` up to date from the Web API calls
the bot makes - conversations.open, chat.postMessage, chat.postEphemeral, chat.update, chat.delete,
views.publish/open/push/update, files uploads and `respond()` to a response_url.
`LocalClient` (`localclient.py`) is the people's side: what they type and click.
The playground's page renders a `Workspace`; tests can assert on it.

Pure bookkeeping: no I/O, no Slack SDK. Every change bumps `version` and wakes
`wait_change()`, so a page can long-poll for what is new.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mimetypes
import time
from dataclasses import dataclass, field
from typing import Any

BOT_NAME = "Deploy Drill"


@dataclass
class Message:
    """A message as a Slack client holds it. Ephemeral ones are seen by one person only."""

    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    bot_id: str | None = None
    ephemeral_to: str | None = None
    command: str | None = None  # the slash command an ephemeral reply answers
    edited: bool = False
    at: float = field(default_factory=time.time)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_payload(self) -> dict[str, Any]:
        """The message as Slack includes it in a block_actions payload."""
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "blocks": self.blocks,
        }
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.metadata:
            out["metadata"] = self.metadata
        if self.files:
            out["files"] = self.files
        return out


@dataclass
class StoredFile:
    id: str
    name: str
    title: str
    mimetype: str
    alt_text: str | None = None
    data: bytes = b""
    uploaded: bool = False


@dataclass
class ResponseTarget:
    """Where a `respond()` to one response_url lands: whose, which channel, which message."""

    user: str
    channel: str
    ts: str | None = None  # the message `replace_original` / `delete_original` acts on
    thread_ts: str | None = None


def _as_dict(value: Any) -> dict[str, Any]:
    """Web API arguments arrive as JSON objects or, in form posts, as JSON strings."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value) if isinstance(value, list) else []


class Workspace:
    """One team's client-side state, kept by the stand-in as the bot calls the Web API."""

    def __init__(self, team_name: str = "Drill Team") -> None:
        self.team_name = team_name
        self.channels: dict[str, str] = {}  # id -> name
        self.dms: dict[str, str] = {}  # DM channel id -> the person the bot talks to there
        self.names: dict[str, str] = {}  # user id -> display name
        self.messages: list[Message] = []
        self.home: dict[str, dict[str, Any]] = {}  # user -> published view
        self.modals: dict[str, list[dict[str, Any]]] = {}  # user -> stack of open views
        self.modal_errors: dict[str, dict[str, str]] = {}  # view id -> block id -> error
        self.files: dict[str, StoredFile] = {}
        self.targets: dict[str, ResponseTarget] = {}  # response_url key -> where it lands
        self.triggers: dict[str, str] = {}  # trigger_id -> the user who caused it
        self.version = 0
        self._changed = asyncio.Event()
        self._closed = False
        self._ids = itertools.count(1)

    # --- change notification ---------------------------------------------------------

    def touch(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, since: int, within: float) -> int:
        """Return the version once it is past `since`, or after `within` seconds."""
        if self.version <= since and not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), within)
        return self.version

    def close(self) -> None:
        """Wake every waiter for good (the server is shutting down)."""
        self._closed = True
        self.touch()

    # --- lookups -------------------------------------------------------------------------

    def message(self, ts: str) -> Message | None:
        for message in self.messages:
            if message.ts == ts:
                return message
        return None

    def visible_to(self, user: str, channel: str | None = None) -> list[Message]:
        """Messages in posting order that `user` sees (everyone's plus their own ephemerals)."""
        return [
            m
            for m in self.messages
            if (channel is None or m.channel == channel)
            and (m.ephemeral_to is None or m.ephemeral_to == user)
        ]

    def thread(self, thread_ts: str, *, user: str | None = None) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.thread_ts == thread_ts
            and m.ts != thread_ts
            and (m.ephemeral_to is None or m.ephemeral_to == user)
        ]

    def reply_count(self, ts: str) -> int:
        return sum(
            1 for m in self.messages if m.thread_ts == ts and m.ts != ts and m.ephemeral_to is None
        )

    def view(self, view_id: str) -> tuple[str, dict[str, Any]] | None:
        """(user, view) for an open modal or a published Home tab."""
        for user, stack in self.modals.items():
            for view in stack:
                if view.get("id") == view_id:
                    return user, view
        for user, view in self.home.items():
            if view.get("id") == view_id:
                return user, view
        return None

    def modal(self, user: str) -> dict[str, Any] | None:
        stack = self.modals.get(user) or []
        return stack[-1] if stack else None

    def name(self, user: str) -> str:
        return self.names.get(user, user)

    # --- direct messages with the bot ---------------------------------------------------

    def open_dm(self, user: str) -> str:
        """The bot's DM channel with `user` (conversations.open), the same one every time."""
        channel = "D" + user.removeprefix("U")
        self.dms[channel] = user
        return channel

    def dm_of(self, user: str) -> str | None:
        """The DM channel the bot opened with `user`, if it did."""
        return next((c for c, who in self.dms.items() if who == user), None)

    # --- people (called by LocalClient) -----------------------------------------------

    def add(self, message: Message) -> Message:
        self.messages.append(message)
        self.touch()
        return message

    # --- the bot's Web API calls (called by the stand-in) ----------------------------

    def bot_posted(self, body: dict[str, Any], *, ts: str, user: str, bot_id: str) -> Message:
        """chat.postMessage (and a file share): a new message in a channel or thread."""
        metadata = _as_dict(body.get("metadata")) or None
        return self.add(_bot_message(body, ts=ts, user=user, bot_id=bot_id, metadata=metadata))

    def bot_ephemeral(self, body: dict[str, Any], *, ts: str, user: str, bot_id: str) -> Message:
        """chat.postEphemeral: a message only `body["user"]` sees."""
        to = str(body.get("user", ""))
        return self.add(_bot_message(body, ts=ts, user=user, bot_id=bot_id, ephemeral_to=to))

    def bot_updated(self, body: dict[str, Any]) -> bool:
        """chat.update: new text/blocks for a message; False if there is no such message."""
        message = self.message(str(body.get("ts", "")))
        if message is None or message.channel != str(body.get("channel", message.channel)):
            return False
        if "text" in body:
            message.text = str(body.get("text") or "")
        if "blocks" in body:
            message.blocks = _as_list(body.get("blocks"))
        if body.get("metadata"):
            message.metadata = _as_dict(body.get("metadata"))
        message.edited = True
        self.touch()
        return True

    def bot_deleted(self, body: dict[str, Any]) -> bool:
        message = self.message(str(body.get("ts", "")))
        if message is None:
            return False
        self.messages.remove(message)
        self.touch()
        return True

    def responded(
        self, key: str, body: dict[str, Any], *, ts: str, user: str, bot_id: str
    ) -> Message | None:
        """A post to a response_url: replace or delete the original, or a new (ephemeral) reply."""
        target = self.targets.get(key)
        if target is None:
            return None  # a response_url no person is watching (the test suite's)
        original = self.message(target.ts) if target.ts else None
        if body.get("delete_original") and original is not None:
            self.messages.remove(original)
            self.touch()
            return None
        if body.get("replace_original") and original is not None:
            original.text = str(body.get("text") or "")
            original.blocks = _as_list(body.get("blocks"))
            original.edited = original.ephemeral_to is None
            self.touch()
            return original
        in_channel = body.get("response_type") == "in_channel"
        return self.add(
            Message(
                ts=ts,
                channel=target.channel,
                user=user,
                bot_id=bot_id,
                text=str(body.get("text") or ""),
                blocks=_as_list(body.get("blocks")),
                thread_ts=str(body["thread_ts"]) if body.get("thread_ts") else target.thread_ts,
                ephemeral_to=None if in_channel else target.user,
            )
        )

    def publish_home(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("user_id", ""))
        view = self._new_view(_as_dict(body.get("view")))
        self.home[user] = view
        self.touch()
        return view

    def open_view(self, body: dict[str, Any], *, push: bool = False) -> dict[str, Any]:
        """views.open / views.push: a modal for whoever caused the trigger."""
        user = self.triggers.get(str(body.get("trigger_id", "")), "")
        view = self._new_view(_as_dict(body.get("view")))
        if user:
            stack = self.modals.setdefault(user, [])
            if not push:
                stack.clear()
            stack.append(view)
            self.touch()
        return view

    def update_view(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """views.update by view_id or external_id; None when no such view is open."""
        wanted_id, external = body.get("view_id"), body.get("external_id")
        new = _as_dict(body.get("view"))
        for stack in [*self.modals.values(), *([v] for v in self.home.values())]:
            for i, view in enumerate(stack):
                if (wanted_id and view.get("id") == wanted_id) or (
                    external and view.get("external_id") == external
                ):
                    replaced = {**new, "id": view["id"], "state": {"values": {}}}
                    replaced["hash"] = f"h{next(self._ids)}"
                    stack[i] = replaced
                    for user, home in list(self.home.items()):
                        if home.get("id") == view["id"]:
                            self.home[user] = replaced
                    self.modal_errors.pop(str(view["id"]), None)
                    self.touch()
                    return replaced
        return None

    def close_view(self, user: str, view_id: str, *, all_views: bool = False) -> None:
        stack = self.modals.get(user) or []
        if all_views:
            stack.clear()
        else:
            stack[:] = [v for v in stack if v.get("id") != view_id]
        self.modal_errors.pop(view_id, None)
        self.touch()

    def replace_top_view(self, user: str, view: dict[str, Any], *, push: bool) -> dict[str, Any]:
        """A view_submission answered with response_action update / push."""
        new = self._new_view(view)
        stack = self.modals.setdefault(user, [])
        if stack and not push:
            new["id"] = stack[-1].get("id", new["id"])
            stack[-1] = new
        else:
            stack.append(new)
        self.touch()
        return new

    def _new_view(self, view: dict[str, Any]) -> dict[str, Any]:
        number = next(self._ids)
        return {**view, "id": f"V{number:08d}", "hash": f"h{number}", "state": {"values": {}}}

    # --- files ------------------------------------------------------------------------------

    def new_file(self, file_id: str, body: dict[str, Any]) -> StoredFile:
        name = str(body.get("filename") or file_id)
        stored = StoredFile(
            id=file_id,
            name=name,
            title=name,
            mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream",
            alt_text=str(body["alt_txt"]) if body.get("alt_txt") else None,
        )
        self.files[file_id] = stored
        return stored

    def upload(self, file_id: str, data: bytes) -> bool:
        stored = self.files.get(file_id)
        if stored is None:
            return False
        stored.data = data
        stored.uploaded = True
        return True

    def complete_upload(
        self, body: dict[str, Any], *, ts: str, user: str, bot_id: str
    ) -> list[dict[str, Any]] | None:
        """files.completeUploadExternal: the files' info, shared as a message if a channel is given."""
        infos = []
        for item in _as_list(body.get("files")):
            stored = self.files.get(str(item.get("id", "")))
            if stored is None or not stored.uploaded:
                return None
            stored.title = str(item.get("title") or stored.name)
            infos.append(self.file_info(stored))
        channel = body.get("channel_id") or (str(body.get("channels") or "").split(",")[0])
        if channel:
            message = self.bot_posted(
                {
                    "channel": channel,
                    "text": body.get("initial_comment") or "",
                    "thread_ts": body.get("thread_ts"),
                },
                ts=ts,
                user=user,
                bot_id=bot_id,
            )
            message.files = infos
            self.touch()
        return infos

    @staticmethod
    def file_info(stored: StoredFile) -> dict[str, Any]:
        return {
            "id": stored.id,
            "name": stored.name,
            "title": stored.title,
            "mimetype": stored.mimetype,
            "size": len(stored.data),
            "alt_txt": stored.alt_text,
        }


def _bot_message(body: dict[str, Any], *, ts: str, user: str, bot_id: str, **extra: Any) -> Message:
    """A message the bot sent through the Web API, from the call's arguments."""
    return Message(
        ts=ts,
        channel=str(body.get("channel", "")),
        user=user,
        bot_id=bot_id,
        text=str(body.get("text") or ""),
        blocks=_as_list(body.get("blocks")),
        thread_ts=str(body["thread_ts"]) if body.get("thread_ts") else None,
        **extra,
    )
