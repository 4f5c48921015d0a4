"""A stand-in for the OpenAI Chat Completions API on loopback, scripted per test.

The real ``openai`` SDK talks to it through ``base_url``. It records every request
body, and answers each with whatever the test's `script` returns for it:

- `Content(text)` - a normal completion whose message content is ``text``;
- `Refusal(text)` - a completion whose message is a refusal;
- `Status(code)` - an error response (500, 429, 400 …) in OpenAI's error shape;
- `Hang(seconds)` - no answer for that long (ended early when the server closes).

`latency` delays every reply (so concurrent requests overlap; `max_in_flight` counts them).

`judged(...)` builds a script that answers like a well-behaved model: it reads the
criterion ids and the answer out of the request and returns a schema-valid
judgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

USAGE = {"prompt_tokens": 900, "completion_tokens": 100, "total_tokens": 1000}


@dataclass(frozen=True)
class ChatRequest:
    """One POST /v1/chat/completions as the SDK sent it."""

    body: dict[str, Any]
    headers: Mapping[str, str]

    def message(self, role: str) -> str:
        return next(m["content"] for m in self.body["messages"] if m["role"] == role)

    @property
    def system(self) -> str:
        return self.message("system")

    @property
    def user(self) -> str:
        return self.message("user")

    @property
    def tag(self) -> str:
        found = re.search(r"<answer-([0-9a-f]+)>", self.user)
        assert found, "no answer marker in the user message"
        return found.group(1)

    @property
    def answer(self) -> str:
        """The text between the per-request markers."""
        tag = self.tag
        found = re.search(rf"<answer-{tag}>\n(.*)\n</answer-{tag}>", self.user, re.DOTALL)
        assert found, "the answer is not closed by its marker"
        return found.group(1)

    @property
    def schema(self) -> dict[str, Any]:
        return self.body["response_format"]["json_schema"]["schema"]

    def _def(self, ref_or_schema: dict[str, Any]) -> dict[str, Any]:
        ref = ref_or_schema.get("$ref")
        if ref is None:
            return ref_or_schema
        return self.schema["$defs"][ref.rsplit("/", 1)[-1]]

    @property
    def criterion_ids(self) -> list[str]:
        return list(self._def(self.schema["properties"]["criteria"])["properties"])

    @property
    def mistake_ids(self) -> list[str]:
        item = self._def(self.schema["properties"]["mistakes"]["items"])
        return list(item["properties"]["id"].get("enum", []))


@dataclass(frozen=True)
class Content:
    text: str
    usage: Mapping[str, int] = field(default_factory=lambda: dict(USAGE))
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Refusal:
    text: str = "I'm sorry, I can't help with that."


@dataclass(frozen=True)
class Status:
    code: int
    message: str = "stand-in error"
    retry_after_ms: int | None = 5


@dataclass(frozen=True)
class Hang:
    seconds: float = 30.0


Reply = Content | Refusal | Status | Hang
Script = Callable[[ChatRequest], Reply]


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def all_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s", text.strip()) if s] or [text]


def judged(
    levels: Mapping[str, int] | None = None,
    *,
    default_level: int = 0,
    quotes: Mapping[str, str] | None = None,
    quote: Callable[[ChatRequest, str], str] | None = None,
    mistakes: Sequence[tuple[str, str]] = (),
    usage: Mapping[str, int] | None = None,
) -> Script:
    """A well-formed judgement built from the request: every criterion in its schema.

    A criterion's level is ``levels[id]`` (else ``default_level``); its quote is
    ``quotes[id]``, else ``quote(request, id)``, else the answer's sentences in turn.
    """

    def script(request: ChatRequest) -> Reply:
        criteria = {}
        for cid in request.criterion_ids:
            level = (levels or {}).get(cid, default_level)
            if not level:
                text = ""
            elif quotes and cid in quotes:
                text = quotes[cid]
            elif quote is not None:
                text = quote(request, cid)
            else:
                # A sentence of its own for each criterion, as a careful judge quotes (one
                # sentence may earn at most two criteria); the first criterion gets the first.
                sentences = all_sentences(request.answer)
                text = sentences[len(criteria) % len(sentences)]
            criteria[cid] = {"quote": text, "level": level}
        found = [{"id": mid, "quote": q} for mid, q in mistakes]
        payload = json.dumps({"criteria": criteria, "mistakes": found})
        return Content(payload, usage=dict(usage or USAGE))

    return script


class FakeOpenAI:
    """The stand-in server. `start()` binds 127.0.0.1 on a free port; `close()` stops it."""

    def __init__(self, script: Script | None = None, model: str = "gpt-test") -> None:
        self.script: Script = script or judged(default_level=1)
        self.model = model
        self.requests: list[ChatRequest] = []
        self.latency = 0.0  # seconds every request waits before its reply
        self.in_flight = 0
        self.max_in_flight = 0
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        chat = ChatRequest(body=body, headers=dict(request.headers))
        self.requests.append(chat)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.script(chat)
            wait = reply.seconds if isinstance(reply, Hang) else self.latency
            if wait:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), wait)
            if isinstance(reply, Hang):
                reply = Status(504, "hung", retry_after_ms=None)
            return self._respond(reply, body.get("model", self.model))
        finally:
            self.in_flight -= 1

    def _respond(self, reply: Reply, model: str) -> web.Response:
        if isinstance(reply, Status):
            headers = {}
            if reply.retry_after_ms is not None:
                headers["retry-after-ms"] = str(reply.retry_after_ms)
            error = {"message": reply.message, "type": "server_error", "param": None, "code": None}
            return web.json_response({"error": error}, status=reply.code, headers=headers)
        if isinstance(reply, Refusal):
            message = {"role": "assistant", "content": None, "refusal": reply.text}
            usage: Mapping[str, int] = {
                "prompt_tokens": 900,
                "completion_tokens": 10,
                "total_tokens": 910,
            }
            finish = "stop"
        else:
            assert isinstance(reply, Content)
            message = {"role": "assistant", "content": reply.text, "refusal": None}
            usage, finish = reply.usage, reply.finish_reason
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_764_000_000,
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
                ],
                "usage": dict(usage),
            }
        )
