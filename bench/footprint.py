"""Footprint of `deploy-drill serve`: start-up time, memory idle and after 10,000 answers, disk.

    .venv/bin/python -m bench.footprint [--quick] [--answers 10000] [--rate 250]

- start-up: from spawning `python -m bot serve` (fresh SQLite database, so migrations
  run) to the first 200 on /healthz, three times; then once more on the database
  holding every answer (a restart). Target < 2 s. The bot's modules are byte-compiled
  first, as in an installed package or the Docker image (an editable install under
  PYTHONDONTWRITEBYTECODE=1 would otherwise compile them from source on every start).
- memory: of `serve` and its children (the grading worker, multiprocessing's resource
  tracker), idle once the rubrics are compiled and after every answer is graded and its
  feedback posted: Pss summed (each shared page counted once in all; the target, < 150 MB)
  and VmRSS summed (shared pages counted once per process), with VmHWM, the peaks.
- disk: the SQLite file after a clean stop (WAL checkpointed), minus the empty
  database, per 10,000 answers.

Answers (the burst benchmark's mix of sizes) are sent as signed events over HTTP to
prompts in several channels, paced at `--rate` per second, and the benchmark waits
until every one has its feedback.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.burst import answer_texts
from bench.harness import (
    ROOT,
    SIGNING_SECRET,
    TEAM,
    RateLimitedStandIn,
    Replies,
    Serve,
    build_deliveries,
    burst,
    machine_line,
    post_prompt,
    table,
    verdict,
)

STARTUP_TARGET_S = 2.0
MEMORY_TARGET_MB = 150.0  # Pss of serve and its worker processes
# Grader v2's budget: at most 60 MB over grader v1's 138 MB Pss (22e250d).
GRADER_V2_BUDGET_MB = 138.0 + 60.0


@dataclass
class Footprint:
    answers: int
    starts: list[float]
    restart: float
    pss_idle_mb: float
    rss_idle_mb: float
    pss_after_mb: float
    rss_after_mb: float
    peak_mb: float  # VmHWM summed
    db_empty_bytes: int
    db_after_bytes: int
    delivered: int
    send_s: float
    drain_s: float
    mean_answer_chars: float

    @property
    def db_per_10k_mb(self) -> float:
        return (self.db_after_bytes - self.db_empty_bytes) / self.answers * 10_000 / 2**20


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


async def cold_start(slack: RateLimitedStandIn, workdir: Path) -> float:
    serve = Serve(workdir, slack.api_url)
    await serve.start()
    await serve.stop()
    return serve.started_in


async def run(n: int, rate: float, channels: int, workdir: Path) -> Footprint:
    slack = await RateLimitedStandIn(signing_secret=SIGNING_SECRET, team_id=TEAM).start()
    try:
        starts = [await cold_start(slack, workdir / f"start-{i}") for i in range(3)]
        serve = Serve(workdir / "main", slack.api_url)
        await serve.start()
        try:
            await serve.wait_warm()  # idle means up and ready: rubrics compiled
            await asyncio.sleep(1.0)
            idle = serve.memory_kb()
            threads = [
                (f"C{i:05d}", await post_prompt(slack, serve, f"C{i:05d}")) for i in range(channels)
            ]
            await serve.stop()  # a clean stop checkpoints the WAL: the empty database's size
            db_empty = _size(serve.database)
            await serve.start()
            await serve.wait_warm()
            texts = answer_texts(n)
            deliveries = build_deliveries(slack, threads, texts, n)
            mark = len(slack.calls)
            sent_at = time.monotonic()
            result = await burst(serve.url, deliveries, per_second=rate, connections=50)
            send_s = time.monotonic() - sent_at
            replies = Replies(slack, mark, "drill_feedback")
            users = {d.user for d in deliveries}
            with contextlib.suppress(TimeoutError):
                await slack.wait_for(lambda: users <= replies.users(), within=600)
            drain_s = time.monotonic() - sent_at
            await asyncio.sleep(1.0)
            memory = serve.memory_kb()
        finally:
            await serve.stop()
        db_after = _size(serve.database)
        restart = Serve(workdir / "main", slack.api_url)
        await restart.start()
        await restart.stop()
        delivered = len(users & replies.users())
        if result.acked != n:
            print(f"warning: {n - result.acked} deliveries not acked: {result.statuses}")
        return Footprint(
            answers=n,
            starts=starts,
            restart=restart.started_in,
            pss_idle_mb=idle["Pss"] / 1024,
            rss_idle_mb=idle["VmRSS"] / 1024,
            pss_after_mb=memory["Pss"] / 1024,
            rss_after_mb=memory["VmRSS"] / 1024,
            peak_mb=memory["VmHWM"] / 1024,
            db_empty_bytes=db_empty,
            db_after_bytes=db_after,
            delivered=delivered,
            send_s=send_s,
            drain_s=drain_s,
            mean_answer_chars=statistics.mean(len(texts[i % len(texts)]) for i in range(n)),
        )
    finally:
        await slack.close()


def render(f: Footprint) -> str:
    worst_start = max(f.starts)
    rows = [
        (
            "start-up to /healthz 200, fresh database (3 runs)",
            ", ".join(f"{s:.2f} s" for s in f.starts),
            f"< {STARTUP_TARGET_S:g} s: {verdict(worst_start < STARTUP_TARGET_S)}",
        ),
        (
            f"restart on the database holding {f.answers:,} answers",
            f"{f.restart:.2f} s",
            f"< {STARTUP_TARGET_S:g} s: {verdict(f.restart < STARTUP_TARGET_S)}",
        ),
        (
            "memory idle (rubrics compiled, 1 s later): Pss / RSS summed",
            f"{f.pss_idle_mb:.0f} MB / {f.rss_idle_mb:.0f} MB",
            "",
        ),
        (
            f"memory after {f.answers:,} graded answers: Pss / RSS summed",
            f"{f.pss_after_mb:.0f} MB / {f.rss_after_mb:.0f} MB (RSS peaks {f.peak_mb:.0f} MB)",
            f"Pss < {MEMORY_TARGET_MB:g} MB: {verdict(f.pss_after_mb < MEMORY_TARGET_MB)}; "
            f"grader v2 budget <= {GRADER_V2_BUDGET_MB:g} MB: "
            f"{verdict(f.pss_after_mb <= GRADER_V2_BUDGET_MB)}",
        ),
        (
            "answers with feedback",
            f"{f.delivered:,} of {f.answers:,}",
            verdict(f.delivered == f.answers),
        ),
        (
            "sending / all feedback posted",
            f"{f.send_s:.0f} s / {f.drain_s:.0f} s ({f.answers / f.drain_s:.0f} answers/s)",
            "",
        ),
        ("mean answer length", f"{f.mean_answer_chars:,.0f} chars", ""),
        (
            "SQLite file: empty / after",
            f"{f.db_empty_bytes / 2**20:.2f} MB / {f.db_after_bytes / 2**20:.1f} MB",
            "",
        ),
        ("database growth per 10,000 answers", f"{f.db_per_10k_mb:.1f} MB", ""),
    ]
    return table(("figure", "value", "check"), rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.footprint", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="2,000 answers")
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=250.0, help="answers sent per second")
    parser.add_argument("--channels", type=int, default=10, help="prompts (one per channel)")
    args = parser.parse_args(argv)
    if args.quick:
        args.answers = min(args.answers, 2000)
    print(machine_line())
    compileall.compile_dir(ROOT / "bot", quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp:
        result = asyncio.run(run(args.answers, args.rate, args.channels, Path(tmp)))
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
