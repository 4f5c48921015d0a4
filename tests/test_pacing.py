"""ChannelPacer (bot/pacing.py): after a 429, who waits - the channel or the whole workspace."""

from __future__ import annotations

from datetime import timedelta

from bot.pacing import ChannelPacer
from bot.storage.tables import utcnow

GENERAL, RANDOM = ("T1", "C0GENERAL"), ("T1", "C0RANDOM")


def test_a_429_right_after_a_post_holds_back_only_that_channel() -> None:
    pacer, now = ChannelPacer(), utcnow()
    assert pacer.accepted(GENERAL, now) is False  # not paced: may widen
    retry_at = now + timedelta(seconds=5)
    pacer.refused(GENERAL, now, retry_at)
    assert pacer.held_until(GENERAL, now) == retry_at
    assert pacer.held_until(RANDOM, now) == now  # other channels go on
    # Once paced (for a minute), each accepted post holds the channel for a second.
    now = utcnow()
    assert pacer.accepted(GENERAL, now) is True
    assert now < pacer.held_until(GENERAL, now) <= now + timedelta(seconds=1.1)


def test_a_429_to_a_quiet_channel_holds_back_the_workspace() -> None:
    pacer, now = ChannelPacer(), utcnow()
    retry_at = now + timedelta(seconds=30)
    pacer.refused(GENERAL, now, retry_at)  # nothing went there lately: the workspace's limit
    assert pacer.held_until(RANDOM, now) == retry_at
    assert pacer.held_until(("T2", "C0ELSEWHERE"), now) == now  # another workspace goes on
