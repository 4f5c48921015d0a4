"""The durable sender: posts queued messages with retries and resumes after a restart.

Every message is an `OutboxMessage` row before it is posted. A sender leases a
row (a conditional UPDATE, so replicas never post the same row twice), posts it,
and records the Slack `ts`. Transient failures (429 with Retry-After, 5xx,
network, timeouts) reschedule the row with backoff; permanent ones mark it failed.

Each channel's messages are posted by a sender of their own: a channel whose posts
hang (until the Web API timeout) holds up its own later messages, never another
channel's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.batching import GroupCommit
from bot.errors import RetryLater, Undeliverable
from bot.liveness import Liveness
from bot.loop_failures import LoopFailures
from bot.metrics import Metrics
from bot.pacing import ChannelKey, ChannelPacer
from bot.storage import attempt_rows, outbox_rows
from bot.storage.db import unit_of_work
from bot.storage.outbox_rows import SentMark
from bot.storage.reachability import database_unreachable
from bot.storage.tables import OutboxMessage, utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
MAX_ATTEMPTS = 60  # with backoff capped at 5 minutes: a few hours of Slack outage
# Posted messages not yet recorded as sent (a crash re-posts them once): a small bound …
MAX_UNRECORDED = 16
# … and a short time: marks wait this long to share a transaction (one a post otherwise,
# when a single channel's messages go out one after another).
MARK_LINGER_SECONDS = 0.05
# A post still waiting for Slack after this long gives its place among the `parallel` up,
# so a channel whose posts hang cannot hold the others back.
SLOW_POST_SECONDS = 1.0


# A message and its parsed payload; the key of the messages that must keep their order.
Due = tuple[OutboxMessage, dict[str, Any]]
Conversation = tuple[str | None, str | None]
# Where a message goes, and where it is looked for after a try that may have posted it.
Place = tuple[str, str, str | None]  # team, channel, thread


def conversation(message: OutboxMessage) -> Conversation:
    """(thread, person) of a message: what a reader sees in order. Prompts and digests (no
    thread, no person) share one conversation per channel, so they keep their order too."""
    return message.thread_ts, message.person


def place_of(message: OutboxMessage) -> Place:
    return message.team, message.channel or "", message.thread_ts


class Poster(Protocol):
    """Posts one message's payload to its place; returns (channel, ts); raises RetryLater
    or Undeliverable. `key` is the message's key: the message carries it, for `posted`."""

    async def post(self, place: Place, payload: dict[str, Any], key: str) -> tuple[str, str]: ...

    async def posted(
        self, place: Place, payload: dict[str, Any], since: datetime
    ) -> dict[str, tuple[str, str]]:
        """(channel, ts) by key of the messages already posted to `place` (queued since
        `since`); raises RetryLater when it cannot say yet."""
        ...


class Outbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        poster: Poster,
        metrics: Metrics,
        poll_seconds: float = 2.0,
        lease_seconds: float = 60.0,
        batch: int = 50,
        parallel: int = 8,
        owner: Liveness | None = None,
    ) -> None:
        self._sessions = sessions
        self._owner = owner  # this process, as the owner of its leases
        self._poster = poster
        self._metrics = metrics
        self._poll = poll_seconds
        self._batch = batch
        self._parallel = parallel
        self._pacer = ChannelPacer()
        self._lease = timedelta(seconds=lease_seconds)
        self._wake = asyncio.Event()
        self._marks: GroupCommit[SentMark, None] = GroupCommit(
            self._record_sent, linger=MARK_LINGER_SECONDS
        )
        self._posts = asyncio.Semaphore(parallel)  # posts in flight (slow ones not counted)
        self._senders: dict[ChannelKey, asyncio.Task[None]] = {}  # channels being posted to

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; wakes early when something is queued in-process or a
        channel's sender finishes (its next messages may be due)."""
        failures = LoopFailures(log, "outbox pass")
        while not stop.is_set():
            self._wake.clear()  # before the pass: a message queued during it wakes the next
            try:
                claimed = await self.dispatch()
                failures.succeeded()
            except Exception as exc:
                failures.failed(exc)
                claimed = 0
            if claimed >= self._batch or self._wake.is_set():
                continue  # a full batch (more may be due), or new messages meanwhile
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=await self._idle_seconds(), return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
        await self.settle()

    async def _idle_seconds(self) -> float:
        """How long to sleep: until the next held-back message is due, at most one poll."""
        try:
            async with unit_of_work(self._sessions, read_only=True) as session:
                due = await outbox_rows.next_outbox_due(session, now=utcnow(), busy=self._busy())
        except Exception as exc:
            if not database_unreachable(exc):  # the pass itself reports an outage
                log.exception("outbox: cannot read the next due time")
            return self._poll
        if due is None:
            return self._poll
        return max(0.02, min(self._poll, (due - utcnow()).total_seconds()))

    def _busy(self) -> list[str]:
        return [channel for _, channel in self._senders]

    async def send_due(self) -> int:
        """One pass, waited for: post what is due now; returns how many were claimed."""
        claimed = await self.dispatch()
        await self.settle()
        return claimed

    async def settle(self) -> None:
        """Wait for every channel's sender in flight (each post ends by the Web API timeout)."""
        while self._senders:
            await asyncio.wait(list(self._senders.values()))

    async def dispatch(self) -> int:
        """Lease the due messages of the channels not being posted to, and start a sender
        for each channel; returns how many were claimed.

        Up to `parallel` posts are in flight at once, across channels and within one.
        Messages to one person in one thread (see `conversation`) go out in order, one
        after another; different conversations in a channel go side by side, starting
        with one at a time and one more after each post Slack accepts (against a limit
        that allows no burst, one refused call more than posting one by one). A 429
        holds back only that channel (its remaining messages wait for Retry-After while
        the others go on), unless it cannot be the channel's limit: then the workspace's
        is reached, and every channel of it waits.
        """
        async with unit_of_work(self._sessions) as session:
            due = await outbox_rows.claim_outbox(
                session,
                now=utcnow(),
                lease=self._lease,
                limit=self._batch,
                busy=self._busy(),
                owner=None if self._owner is None else self._owner.id,
                dead_before=None if self._owner is None else self._owner.dead_before(),
            )
        by_channel: dict[ChannelKey, dict[Conversation, list[Due]]] = {}
        for message in due:
            payload = json.loads(message.payload)
            key = (message.team, message.channel or "")
            lanes = by_channel.setdefault(key, {})
            lanes.setdefault(conversation(message), []).append((message, payload))
        later = utcnow() + timedelta(seconds=1)
        for key, lanes in by_channel.items():
            if key in self._senders:
                # A row without its channel (the claim could not leave it out): it waits.
                await self._release([(m, later) for lane in lanes.values() for m, _ in lane])
                continue
            sender = asyncio.create_task(self._send_channel(key, lanes), name="outbox-channel")
            self._senders[key] = sender
            sender.add_done_callback(functools.partial(self._sender_done, key))
        self._pacer.forget()
        return len(due)

    def _sender_done(self, key: ChannelKey, _: asyncio.Task[None]) -> None:
        del self._senders[key]
        self._wake.set()  # the channel's later messages may be due now

    async def _send_channel(self, key: ChannelKey, lanes: dict[Conversation, list[Due]]) -> None:
        """One channel's messages: each conversation in order, side by side as the channel
        allows; what cannot go now is given back with the time it may."""
        held_back: list[tuple[OutboxMessage, datetime]] = []
        try:
            await self._post_lanes(key, lanes, held_back)
        except Exception:
            log.exception("outbox: sending to channel %s failed", key[1])
        finally:
            await self._marks.drain()
            try:
                await self._release(held_back)
            except Exception:  # the rows stay leased: they are taken again after the lease
                log.exception("outbox: could not give %d message(s) back", len(held_back))

    @contextlib.asynccontextmanager
    async def _place(self) -> AsyncIterator[None]:
        """One of the `parallel` places for a post, given up early if the post is slow."""
        await self._posts.acquire()
        held = True

        def give_up() -> None:
            nonlocal held
            if held:
                held = False
                self._posts.release()

        slow = asyncio.get_running_loop().call_later(SLOW_POST_SECONDS, give_up)
        try:
            yield
        finally:
            slow.cancel()
            give_up()

    async def _post_lanes(
        self,
        key: ChannelKey,
        lanes: dict[Conversation, list[Due]],
        held_back: list[tuple[OutboxMessage, datetime]],
    ) -> None:
        window = asyncio.Semaphore(1)  # conversations of this channel posting at once
        width = 1
        lookups: dict[Place, asyncio.Future[dict[str, tuple[str, str]]]] = {}

        async def send_lane(messages: list[Due]) -> None:
            nonlocal width
            for i, (message, payload) in enumerate(messages):
                async with window, self._place():
                    now = utcnow()
                    # The batch shares one lease. Once less than half of it is left, stop:
                    # past the lease another replica may claim the rest and post them too.
                    if message.lease_until is None or now > message.lease_until - self._lease / 2:
                        held_back.extend((m, now) for m, _ in messages[i:])
                        return
                    # Nor while this process's heartbeat lags (its database unreachable?):
                    # another may soon think it dead and take its messages over.
                    if self._owner is not None and not self._owner.fresh():
                        held_back.extend((m, now) for m, _ in messages[i:])
                        return
                    # This channel, or its whole workspace, is being held back.
                    held = self._pacer.held_until(key, now)
                    if held > now:
                        held_back.extend((m, held) for m, _ in messages[i:])
                        return
                    retry_at = await self._send(message, payload, lookups)
                    if retry_at is not None:
                        self._pacer.refused(key, now, retry_at)
                    elif not self._pacer.accepted(key, now) and width < self._parallel:
                        width += 1  # accepted, and not paced: one more at once
                        window.release()

        await asyncio.gather(*(send_lane(messages) for messages in lanes.values()))

    async def _release(self, held_back: list[tuple[OutboxMessage, datetime]]) -> None:
        """Give unsent messages back for a later pass (no attempt counted against them),
        each due again at its time."""
        if not held_back:
            return
        async with unit_of_work(self._sessions) as session:
            for message, at in held_back:
                assert message.id is not None
                await outbox_rows.release(session, message.id, at=at)

    async def _already_posted(
        self,
        message: OutboxMessage,
        payload: dict[str, Any],
        lookups: dict[Place, asyncio.Future[dict[str, tuple[str, str]]]],
    ) -> tuple[str, str] | None:
        """Where Slack already has the message, if an earlier try may have posted it (its
        process died, or its answer timed out). A thread or channel is read once for all
        its messages in this sender's batch."""
        if not message.maybe_sent:
            return None
        place = place_of(message)
        if place not in lookups:
            lookups[place] = lookup = asyncio.ensure_future(
                self._poster.posted(place, payload, since=message.created_at)
            )
            lookup.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen
        return (await asyncio.shield(lookups[place])).get(message.dedupe_key)

    async def _send(
        self,
        message: OutboxMessage,
        payload: dict[str, Any],
        lookups: dict[Place, asyncio.Future[dict[str, tuple[str, str]]]],
    ) -> datetime | None:
        """Post one message (unless Slack has it already); returns when its channel may be
        tried again if Slack said 429."""
        assert message.id is not None
        try:
            found = await self._already_posted(message, payload, lookups)
        except Undeliverable as exc:
            await self._give_up(message, str(exc))
            return None
        except Exception as exc:
            # Slack cannot say yet whether an earlier try posted it: ask again later (a
            # refused read says nothing about posting to this channel).
            retry = exc if isinstance(exc, RetryLater) else RetryLater(repr(exc)[:80], 0)
            await self._retry(message, retry)
            return None
        try:
            if found is None:
                channel, ts = await self._poster.post(
                    place_of(message), payload, message.dedupe_key
                )
            else:
                channel, ts = found
                log.info(
                    "outbox %s (%s): already in Slack, not posted again", message.id, message.kind
                )
        except RetryLater as exc:
            return await self._retry(message, exc)
        except Undeliverable as exc:
            await self._give_up(message, str(exc))
            return None
        except Exception as exc:
            # Nothing a poster should raise: tried again later like a 5xx, and the channel's
            # other messages go on.
            log.exception("outbox %s (%s): posting failed unexpectedly", message.id, message.kind)
            return await self._retry(message, RetryLater(f"unexpected {type(exc).__name__}", 0))
        # Recorded by group commit with the other sends of the moment; send_due waits for it
        # before its pass ends, and holds the next post while too many are unrecorded.
        self._marks.submit_nowait(
            {
                "message_id": message.id,
                "channel": channel,
                "ts": ts,
                "when": utcnow(),
                "prompt_id": message.prompt_id,
                "attempt_id": message.attempt_id,
            }
        )
        self._metrics.sent.labels(kind=message.kind).inc()
        if self._marks.pending >= MAX_UNRECORDED:
            await self._marks.drain()
        return None

    async def _retry(self, message: OutboxMessage, exc: RetryLater) -> datetime | None:
        """Reschedule a message after a transient failure; returns when it is due again."""
        assert message.id is not None
        # Slack's Retry-After when it gives one; otherwise back off exponentially.
        backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** min(message.attempts, 9))
        delay = exc.delay if exc.delay > 0 else backoff
        self._metrics.send_retries.labels(reason=exc.reason[:40]).inc()
        if message.attempts >= MAX_ATTEMPTS:
            await self._give_up(message, f"gave up after {message.attempts} tries: {exc.reason}")
            return None
        log.warning(
            "outbox %s (%s): %s; retrying in %.1fs", message.id, message.kind, exc.reason, delay
        )
        retry_at = utcnow() + timedelta(seconds=delay)
        async with unit_of_work(self._sessions) as session:
            await outbox_rows.reschedule(
                session, message.id, at=retry_at, error=exc.reason, maybe_sent=exc.maybe_done
            )
        return retry_at

    async def _record_sent(self, sent: Sequence[SentMark]) -> list[None]:
        try:
            async with unit_of_work(self._sessions) as session:
                await outbox_rows.mark_sent(session, sent)
        except Exception:
            # Nobody awaits these marks: say so here. The rows stay leased, so after the
            # lease another pass posts them again (the one way to a duplicate).
            log.exception("outbox: could not record %d sent message(s)", len(sent))
            raise
        return [None] * len(sent)

    async def _give_up(self, message: OutboxMessage, error: str) -> None:
        assert message.id is not None
        log.error("outbox %s (%s) undeliverable: %s", message.id, message.kind, error)
        self._metrics.send_failures.inc()
        async with unit_of_work(self._sessions) as session:
            await outbox_rows.mark_failed(session, message.id, error=error)
            if message.attempt_id is not None:
                await attempt_rows.mark_attempt_failed(session, message.attempt_id)
