"""From an HTTP request to Bolt's request: parsed, and refused when it is malformed.

Bolt parses a body as it builds its request and reaches into the parts it expects
(an event, a payload's user and actions) without checking them; a signed body it
cannot parse, or one of the wrong shape, would end in a traceback and a 500. Here it
is a `MalformedRequest` instead, which `web.py` answers with 400 and one log line
(401 when the body is not signed by Slack either, as Bolt would).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

# Parts of a request Bolt or the listeners index into: objects when present.
_OBJECTS = ("event", "view", "container", "message", "team", "user", "channel", "state")
# Fields of a message event the listeners read: strings when present.
_MESSAGE_FIELDS = ("type", "subtype", "channel", "user", "ts", "thread_ts", "text", "team")


class MalformedRequest(Exception):
    """A body that is not a Slack request Bolt can handle (the reason names no content)."""


def shape_problem(body: Any) -> str | None:
    """What is wrong with the shape of a parsed body, or None."""
    if not isinstance(body, dict):
        return f"the body is a {type(body).__name__}, not an object"
    for name in _OBJECTS:
        if body.get(name) is not None and not isinstance(body[name], dict):
            return f"{name} is not an object"
    actions = body.get("actions")
    if actions is not None and not (
        isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    ):
        return "actions is not a list of objects"
    event = body.get("event") or {}
    if event.get("type") == "message":
        for name in _MESSAGE_FIELDS:
            if event.get(name) is not None and not isinstance(event[name], str):
                return f"the message's {name} is not a string"
    return None


def to_bolt_request(raw: bytes, query: str, headers: Mapping[str, str]) -> AsyncBoltRequest:
    """Bolt's request for a body, or MalformedRequest.

    Unlike Bolt's adapter, this keeps slash commands whose text contains "payload": Bolt's
    form parser takes any body containing that substring for an interactivity payload and
    parses it to {} (see slack-reference.md §1.6).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("the body is not UTF-8") from exc
    try:
        request = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise MalformedRequest(f"Bolt cannot parse it ({type(exc).__name__}: {exc})") from exc
    if not request.body and "command=" in text and not text.startswith("payload="):
        request.body = dict(parse_qsl(text, keep_blank_values=True))
        request.context = build_async_context(AsyncBoltContext({}), request.body)
    problem = shape_problem(request.body)
    if problem is not None:
        raise MalformedRequest(problem)
    return request


def signed_by_slack(secret: str | None, raw: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the request carries a valid, fresh Slack signature (what Bolt checks)."""
    if not secret:
        return False
    try:
        return SignatureVerifier(secret).is_valid_request(raw, headers)
    except UnicodeDecodeError:  # Slack signs UTF-8 only
        return False
