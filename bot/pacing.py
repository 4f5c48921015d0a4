"""Pacing after Slack's 429s: when each channel, or a whole workspace, may be posted to next."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.storage.tables import utcnow

# After a 429 a channel is paced at Slack's documented one message a second for a while,
# instead of probing (and being refused) again the moment Retry-After ends.
PACE_WINDOW = timedelta(seconds=60)
PACE_INTERVAL = timedelta(seconds=1)
# A 429 for a channel posted to this recently (or being paced) is put down to the channel's
# own limit; past it, the channel's allowance is back, so the workspace's limit was hit.
CHANNEL_LIMIT_WINDOW = timedelta(seconds=2)
# Channels remembered before expired pacing state is dropped.
FORGET_ABOVE = 10_000

ChannelKey = tuple[str, str]  # team, channel


class ChannelPacer:
    def __init__(self) -> None:
        # Channels that recently got a 429, and when each may be posted to next.
        self._paced_until: dict[ChannelKey, datetime] = {}
        self._not_before: dict[ChannelKey, datetime] = {}
        # Workspaces that hit their own limit, and when each may be posted to again.
        self._team_not_before: dict[str, datetime] = {}
        # When each channel was last posted to (only the last seconds matter; see forget).
        self._sent_at: dict[ChannelKey, datetime] = {}

    def held_until(self, key: ChannelKey, now: datetime) -> datetime:
        """When the channel may be posted to (`now` when it may be now)."""
        return max(self._not_before.get(key, now), self._team_not_before.get(key[0], now))

    def accepted(self, key: ChannelKey, now: datetime) -> bool:
        """Slack took a post made at `now`; True while the channel is paced (its next post
        waits a second, and no more go to it at once)."""
        self._sent_at[key] = now
        if self._paced_until.get(key, now) > now:
            self._not_before[key] = utcnow() + PACE_INTERVAL
            return True
        return False

    def refused(self, key: ChannelKey, now: datetime, retry_at: datetime) -> None:
        """Slack said 429 to a post made at `now`, to be tried again at `retry_at`."""
        recent = now - CHANNEL_LIMIT_WINDOW
        if self._sent_at.get(key, recent) > recent or self._paced_until.get(key, now) > now:
            # A channel posted to just now: its own limit. Pace it for a while.
            self._paced_until[key] = utcnow() + PACE_WINDOW
            self._not_before[key] = retry_at
        else:
            # Nothing went to this channel for a while, so the limit reached is the
            # workspace's: every channel of it waits for Retry-After, rather than each being
            # refused in turn (a fan-out to many channels).
            self._team_not_before[key[0]] = retry_at

    def forget(self) -> None:
        """Drop state that has run out, so a long-lived sender stays small."""
        if len(self._sent_at) + len(self._paced_until) < FORGET_ABOVE:
            return
        now = utcnow()
        self._sent_at = {k: t for k, t in self._sent_at.items() if t > now - CHANNEL_LIMIT_WINDOW}
        self._paced_until = {k: t for k, t in self._paced_until.items() if t > now}
        self._not_before = {k: t for k, t in self._not_before.items() if t > now}
