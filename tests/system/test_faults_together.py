"""Every fault at once, on a private PostgreSQL server of the test's own: a burst of answers
over two replicas while

- the database is down for 20 s in the middle of the burst, with Slack's retries (numbered,
  on a shorter clock, to whichever replica is alive);
- a post hangs in one channel (Slack carried it out; its answer never comes);
- Slack's edge answers HTML 503 pages;
- one replica is killed (SIGKILL) during the outage, holding answers in its spool, and is
  restarted once the database is back, as an orchestrator would;
- Slack answers posts late, so the killed replica dies with posts taken but not recorded.

Every answer is graded and answered exactly once."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from bot.config import Settings
from bot.playground.standin import SlackStandIn
from tests.pgserver import PrivatePostgres
from tests.serving import Replica, recorded_roots, settled
from tests.slack import payloads as p

TEAM = "T0TEAM"
CHANNELS = ("C0HUNG", "C0EDGE", "C0CALM")
ANSWERS = 36
OUTAGE_SECONDS = 20.0
RETRY_DELAYS = (0.5, 3.0, 12.0)  # Slack's: at once, a minute, five minutes (scaled down)


def spooled(replica: Replica) -> int:
    """Answers waiting in a replica's spool file."""
    path = Path(replica.env["SPOOL_PATH"])
    if not path.exists():
        return 0
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM spooled").fetchone()[0])


async def test_a_burst_under_every_fault_is_answered_exactly_once(
    tmp_path: Path, slack: SlackStandIn, private_postgres: PrivatePostgres
) -> None:
    """Database down 20 s, hung post, HTML 503s, two replicas, SIGKILL: one feedback each."""
    database_url = await private_postgres.create_database()
    url = Settings(_env_file=None, database_url=database_url).async_database_url  # type: ignore[call-arg]
    first, second = (
        Replica(
            slack,
            database_url,
            tmp_path,
            name,
            SLACK_TIMEOUT_SECONDS="2",
            SPOOL_PATH=str(tmp_path / f"{name}-spool.db"),  # each replica's own disk
        )
        for name in "ab"
    )
    await asyncio.gather(first.start(), second.start())
    replicas = (first, second)
    try:
        for channel in CHANNELS:
            status, _ = await slack.send_command(first.url, "deploy-ml-models", channel=channel)
            assert status == 200
        await slack.wait_for(lambda: len(slack.posts("drill_prompt")) == len(CHANNELS))
        roots = await recorded_roots(url, slack.posts("drill_prompt"), team=TEAM)
        deliveries: dict[int, list[int]] = {}

        async def deliver(i: int) -> None:
            """Answer i in channel i % 3, first to replica i % 2."""
            channel, root = roots[i % len(roots)]
            event = p.reply(root, p.STRONG_ANSWER, user=f"U0USER{i:02d}", channel=channel)
            order = (replicas[i % 2], replicas[(i + 1) % 2])

            def ready_replica(attempt: int) -> str:
                """Each delivery to the next ready replica, as a load balancer routes."""
                ready = [r for r in order if r.ready] or list(order)
                return ready[attempt % len(ready)].url

            deliveries[i] = await slack.deliver_event(
                ready_replica, event, event_id=f"Ev0ALL{i:03d}", retry_delays=RETRY_DELAYS
            )

        def start(numbers: range, spacing: float) -> list[asyncio.Task[None]]:
            async def one(i: int) -> None:
                await asyncio.sleep((i - numbers.start) * spacing)
                await deliver(i)

            return [asyncio.create_task(one(i)) for i in numbers]

        def hung() -> bool:
            return any(
                c.body.get("thread_ts") and c.body.get("channel") == "C0HUNG"
                for c in slack.calls_to("chat.postMessage")
            )

        # 1. The first feedback to C0HUNG is posted but Slack's answer never comes back,
        #    and two posts meet HTML pages (mislabelled as JSON, as a proxy may send them).
        slack.stall("chat.postMessage", channel="C0HUNG", accepted=True)
        slack.fail(
            "chat.postMessage",
            status=503,
            error="Service Unavailable",
            retry_after=None,
            times=2,
            page="application/json",
        )
        third = ANSWERS // 3
        await asyncio.gather(*start(range(third), 0.03))
        await slack.wait_for(hung, within=20)
        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= third // 2, within=20)

        # 2. The database goes away for 20 s while answers keep coming; Slack retries the
        #    refused ones. Replica a is killed near the end, with answers in its spool.
        await private_postgres.stop()
        #    The first answers meet Slack's last delivery before the database is back and
        #    are spooled; the last ones are stored from an earlier retry after it.
        during = start(range(third, 2 * third), (OUTAGE_SECONDS - 1.5) / (third - 1))
        await asyncio.sleep(OUTAGE_SECONDS - 1)
        await first.stop(signal.SIGKILL)
        a_spooled = spooled(first)
        await asyncio.sleep(1)
        await private_postgres.start()

        # 3. Slack answers posts a second late (carried out at once); replica a restarts.
        slack.stall("chat.postMessage", seconds=1.0, accepted=True, times=100_000)
        await first.start()
        await asyncio.gather(*during, *start(range(2 * third, ANSWERS), 0.03))
        slack.recover()

        await slack.wait_for(lambda: len(slack.posts("drill_feedback")) >= ANSWERS, within=60)
        # Every answer graded and every message recorded as sent: nothing can be posted
        # after this, so a duplicate would show now.
        assert await settled(url, within=30) == (0, 0)
        assert (spooled(first), spooled(second)) == (0, 0)
    except BaseException:
        print(f"--- Slack's deliveries (statuses) ---\n{deliveries}")
        for replica in replicas:
            print(f"--- {replica.name}.log ---\n{replica.log.read_text()[-4000:]}")
        print(f"--- postgres ---\n{private_postgres.log_tail()}")
        raise
    finally:
        for replica in replicas:
            await replica.stop()
    answered = sorted(m["metadata"]["event_payload"]["user"] for m in slack.posts("drill_feedback"))
    assert answered == [f"U0USER{i:02d}" for i in range(ANSWERS)]
    assert all(s[-1] == 200 for s in deliveries.values()), deliveries  # Slack never gave up
    refused = [s for s in deliveries.values() if len(s) > 1]
    assert a_spooled, "the killed replica had nothing in its spool"
    assert any(len(s) == len(RETRY_DELAYS) + 1 for s in refused), "nothing reached the spool"
    assert any(len(s) <= len(RETRY_DELAYS) for s in refused), "no retry was stored after it"
