"""The sender posts side by side where order does not matter, and in order where it does.

Feedback for different people in one thread is independent, so it goes out in parallel;
one person's messages in one thread (feedback, then a follow-up or a second try) are read
in order, so they go one after another. A channel whose limit allows no burst costs one
refused call more than posting one by one would.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import RetryLater
from bot.metrics import Metrics
from bot.outbox import Outbox, Place
from bot.storage import outbox_rows
from bot.storage.db import unit_of_work
from bot.storage.tables import utcnow

SLOW = 0.1  # seconds a post takes


@dataclass
class Post:
    text: str
    channel: str
    started: float
    ended: float = 0.0


@dataclass
class SlowPoster:
    """A Poster that takes SLOW seconds per post, refusing the posts `refuse` names."""

    refuse: set[str] = field(default_factory=set)
    posts: list[Post] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def post(self, place: Place, payload: dict[str, Any], key: str) -> tuple[str, str]:
        _, channel, _ = place
        post = Post(payload["text"], channel, time.monotonic())
        self.posts.append(post)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(SLOW)
        finally:
            self.in_flight -= 1
            post.ended = time.monotonic()
        if payload["text"] in self.refuse:
            raise RetryLater("ratelimited", delay=30)
        return channel, f"{len(self.posts)}.000"


def feedback(text: str, *, user: str, channel: str = "C1", thread: str = "1.0") -> dict[str, Any]:
    return {
        "team": "T1",
        "dedupe_key": text,
        "kind": "feedback",
        "payload": {"text": text},
        "channel": channel,
        "thread_ts": thread,
        "person": user,
    }


async def queue(sessions: async_sessionmaker[AsyncSession], messages: list[dict[str, Any]]) -> None:
    async with unit_of_work(sessions) as session:
        assert len(await outbox_rows.enqueue_many(session, messages)) == len(messages)


def outbox(sessions: async_sessionmaker[AsyncSession], poster: SlowPoster) -> Outbox:
    return Outbox(sessions=sessions, poster=poster, metrics=Metrics(), parallel=4)


async def test_different_people_in_one_thread_are_answered_side_by_side(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poster = SlowPoster()
    await queue(sessions, [feedback(f"for U{i}", user=f"U{i}") for i in range(12)])
    started = time.monotonic()
    assert await outbox(sessions, poster).send_due() == 12
    took = time.monotonic() - started
    assert sorted(p.text for p in poster.posts) == sorted(f"for U{i}" for i in range(12))
    # One at a time, then one more after each accepted post, up to `parallel` (4):
    # 1 + 2 + 4 + 4 + 1 = 12 posts in 5 rounds, where one by one would take 12.
    assert poster.most_in_flight == 4
    assert took < 8 * SLOW


async def test_one_persons_messages_go_out_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poster = SlowPoster()
    mine = [feedback(f"U1 #{i}", user="U1") for i in range(4)]
    others = [feedback(f"for U{i}", user=f"U{i}") for i in range(2, 6)]
    # Interleaved, as a burst would queue them.
    await queue(sessions, [m for pair in zip(mine, others, strict=True) for m in pair])
    assert await outbox(sessions, poster).send_due() == 8
    assert poster.most_in_flight > 1  # others went alongside
    sent = [p for p in poster.posts if p.text.startswith("U1 ")]
    assert [p.text for p in sent] == [f"U1 #{i}" for i in range(4)]
    for earlier, later in itertools.pairwise(sent):
        assert later.started >= earlier.ended  # each waits for the one before it


async def test_prompts_to_one_channel_keep_their_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Messages with no thread and no person (prompts, digests) share one conversation."""
    poster = SlowPoster()
    prompts = [
        {
            "team": "T1",
            "dedupe_key": f"p{i}",
            "kind": "prompt",
            "payload": {"text": f"prompt {i}"},
            "channel": "C1",
        }
        for i in range(3)
    ]
    await queue(sessions, prompts)
    await outbox(sessions, poster).send_due()
    assert [p.text for p in poster.posts] == ["prompt 0", "prompt 1", "prompt 2"]
    assert poster.most_in_flight == 1


async def test_a_refused_channel_stops_after_one_extra_call(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Slack accepts the first post and refuses the next ones (the channel's limit): the
    channel had widened to two at once, so two were refused; the rest wait, untried,
    while another channel goes on."""
    poster = SlowPoster(refuse={f"for U{i}" for i in range(1, 10)})
    busy = [feedback(f"for U{i}", user=f"U{i}") for i in range(10)]
    quiet = [feedback(f"quiet {i}", user=f"V{i}", channel="C2") for i in range(3)]
    await queue(sessions, busy + quiet)
    await outbox(sessions, poster).send_due()
    tried = [p.text for p in poster.posts if p.channel == "C1"]
    assert tried == ["for U0", "for U1", "for U2"]
    assert sorted(p.text for p in poster.posts if p.channel == "C2") == [
        "quiet 0",
        "quiet 1",
        "quiet 2",
    ]
    async with unit_of_work(sessions) as session:
        due_later = await outbox_rows.claim_outbox(
            session, now=utcnow() + timedelta(seconds=31), lease=timedelta(seconds=60), limit=50
        )
    # Nothing was lost: the two refused and the seven untried are all queued again.
    assert len(due_later) == 9
