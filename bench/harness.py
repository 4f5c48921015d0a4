"""What every benchmark shares: the machine, percentiles, tables, and running `serve`.

- `machine()` describes where the figures were taken (nproc, CPU, RAM, Python).
- `RateLimitedStandIn` is the Slack stand-in with Slack's posting limits enforced:
  a token bucket per channel and/or one for the whole workspace, answering
  `429 Retry-After: 1` beyond them (as Slack does for chat.postMessage).
- `Serve` starts `python -m bot serve` as a subprocess on loopback with SQLite in a
  temp dir, waits for /healthz, and reads its resident memory from /proc.
- `Burst` sends signed thread replies over real HTTP, paced evenly, and measures acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.playground.standin import BOT_USER_ID, Call, SlackStandIn

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-0000-token"
TEAM = "T0BENCH"
LOOPBACK = "127.0.0.1"


# --- the machine -------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
                break
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "ram": f"{ram_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def code_version() -> str:
    """The commit measured, with `+dirty` when the working tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def machine_line() -> str:
    m = machine()
    return (
        f"machine: nproc {m['nproc']}, {m['cpu']}, RAM {m['ram']}, Python {m['python']}, "
        f"{m['os']}; code {code_version()}; load {os.getloadavg()[0]:.2f} (1-min average "
        "at start: above 0.5 means something else was running)"
    )


# --- figures and tables --------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table; numbers right-aligned (also valid Markdown)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        all(_is_number(row[i]) for row in rows) if rows else False for i in range(len(headers))
    ]

    def line(row: Sequence[str]) -> str:
        parts = [
            (c.rjust(w) if numeric[i] else c.ljust(w))
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if numeric[i] else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


# --- Slack's posting limits -------------------------------------------------------------


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float  # capacity
    tokens: float = -1.0
    stamp: float = 0.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def peek(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class RateLimitedStandIn(SlackStandIn):
    """SlackStandIn that rate-limits chat.postMessage like Slack: 429 + Retry-After: 1.

    `channel_rate` (posts/s per channel, Slack: about 1) and `workspace_rate` (posts/s
    for the whole workspace) are token buckets holding `*_burst` posts; None is unlimited.
    """

    channel_rate: float | None = None
    channel_burst: float = 1.0
    workspace_rate: float | None = None
    workspace_burst: float = 1.0
    limited: int = 0  # 429s answered
    _channels: dict[str, TokenBucket] = field(default_factory=dict)
    _workspace: TokenBucket | None = None

    def _answer(
        self, method: str, body: dict[str, Any], call: Call, request: web.Request
    ) -> web.Response:
        if method == "chat.postMessage" and not self._allowed(
            str(body.get("channel", "")), call.at
        ):
            self.limited += 1
            body["_limited"] = True
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        return super()._answer(method, body, call, request)

    def _allowed(self, channel: str, now: float) -> bool:
        if self.workspace_rate is not None and self._workspace is None:
            self._workspace = TokenBucket(self.workspace_rate, self.workspace_burst)
        bucket = None
        if self.channel_rate is not None:
            bucket = self._channels.setdefault(
                channel, TokenBucket(self.channel_rate, self.channel_burst)
            )
            # Look before taking, so a post refused workspace-wide keeps its channel token.
            if not bucket.peek(now):
                return False
        if self._workspace is not None and not self._workspace.take(now):
            return False
        return bucket.take(now) if bucket is not None else True


def post_times(slack: SlackStandIn, event_type: str | None = None) -> list[float]:
    """Monotonic times of successful chat.postMessage calls (by metadata event type)."""
    out = []
    for call in slack.calls:
        if call.method != "chat.postMessage" or not call.body.get("_ok"):
            continue
        meta = call.body.get("metadata") or {}
        if event_type is None or meta.get("event_type") == event_type:
            out.append(call.at)
    return out


class Replies:
    """Successful posts of one metadata event type after call `mark`, scanned incrementally."""

    def __init__(self, slack: SlackStandIn, mark: int, event_type: str) -> None:
        self._slack = slack
        self._next = mark
        self._event_type = event_type
        self._posts: list[dict[str, Any]] = []
        self._users: set[str] = set()

    def posts(self) -> list[dict[str, Any]]:
        calls = self._slack.calls
        while self._next < len(calls):
            call = calls[self._next]
            self._next += 1
            if call.method != "chat.postMessage" or not call.body.get("_ok"):
                continue
            meta = call.body.get("metadata") or {}
            if meta.get("event_type") == self._event_type:
                self._posts.append(call.body)
                self._users.update(metadata_users([call.body]))
        return self._posts

    def users(self) -> set[str]:
        self.posts()
        return self._users


def metadata_users(posts: Sequence[dict[str, Any]]) -> list[str]:
    users = []
    for body in posts:
        meta = body.get("metadata") or {}
        if isinstance(meta, str):
            meta = json.loads(meta)
        users.append(str((meta.get("event_payload") or {}).get("user", "")))
    return users


# --- the bot as a subprocess ------------------------------------------------------------


def read_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB, from /proc/<pid>/status, and Pss (its
    share of resident pages, each page shared with N processes counted 1/N) from
    /proc/<pid>/smaps_rollup."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as f:
        for line in f:
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1])
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc/<pid>/task/*/children."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(child) for child in task.read_text().split())
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 if it has exited)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Serve:
    """`python -m <module> serve` (the bot) or the baseline app, on a loopback port."""

    workdir: Path
    api_url: str
    argv: tuple[str, ...] = ("-m", "bot", "serve")
    name: str = "serve"
    extra_env: dict[str, str] = field(default_factory=dict)
    database_url: str | None = None  # PostgreSQL (see fresh_postgres); None: SQLite in workdir
    port: int = 0
    proc: asyncio.subprocess.Process | None = None
    started_in: float = math.nan  # seconds from spawn to the first 200 on /healthz

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/slack/events"

    @property
    def database(self) -> Path:
        return self.workdir / "drill.db"

    def env(self) -> dict[str, str]:
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "OPENAI_", "DATABASE_URL", "GRADER", "LOG_", "DRILL_"))
            and k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")
        }
        keep.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=self.api_url,
            DATABASE_URL=self.database_url or f"sqlite:///{self.database}",
            HOST=LOOPBACK,
            PORT=str(self.port),
            RUBRICS_DIR=str(ROOT / "rubrics"),
            GRADER="rubric",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        keep.update(self.extra_env)
        return keep

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def _open_log(self) -> Any:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return open(self.log_path, "ab")  # handed to the child; closed once it has started

    async def start(self, within: float = 30.0) -> Serve:
        self.port = self.port or free_port()
        log = self._open_log()
        started = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.argv,
            cwd=self.workdir,  # no stray .env from the repository
            env=self.env(),
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = started + within
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"{' '.join(self.argv)} exited; see {self.log_path}")
                try:
                    async with session.get(f"http://{LOOPBACK}:{self.port}/healthz") as r:
                        if r.status == 200:
                            self.started_in = time.perf_counter() - started
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.005)
        await self.stop()
        raise RuntimeError(f"{' '.join(self.argv)} did not become healthy in {within}s")

    async def wait_warm(self, within: float = 60.0) -> float:
        """Wait until /healthz says the rubrics are compiled (a bot that has been up a while);
        returns the seconds waited. The baseline has nothing to compile and returns at once."""
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() < started + within:
                async with session.get(f"http://{LOOPBACK}:{self.port}/healthz") as r:
                    if (await r.json()).get("rubrics", "ready") == "ready":
                        return time.perf_counter() - started
                await asyncio.sleep(0.05)
        raise RuntimeError(f"the rubrics were still compiling after {within}s")

    def memory_kb(self) -> dict[str, int]:
        """VmRSS, VmHWM and Pss summed over the process and its children (the grading
        workers, and multiprocessing's resource tracker). Summed RSS counts the pages the
        processes share (the interpreter, libraries) once per process; summed Pss counts
        them once in all: the memory the deployment takes."""
        assert self.proc is not None
        total: dict[str, int] = {}
        for pid in process_tree(self.proc.pid):
            with contextlib.suppress(FileNotFoundError):  # a child that just exited
                for key, kb in read_status(pid).items():
                    total[key] = total.get(key, 0) + kb
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its children so far."""
        assert self.proc is not None
        return sum(cpu_seconds(pid) for pid in process_tree(self.proc.pid))

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def log_text(self) -> str:
        path = self.log_path
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


async def wait_prompt_recorded(serve: Serve, ts: str, within: float = 10.0) -> None:
    """Wait until the bot stored the prompt's ts (it then grades replies in that thread)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await _prompt_stored(serve, ts):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the bot never recorded prompt {ts}")


async def _prompt_stored(serve: Serve, ts: str) -> bool:
    if serve.database_url:
        import asyncpg  # the bot's own PostgreSQL driver

        connection = await asyncpg.connect(serve.database_url)
        try:
            return bool(await connection.fetchval("SELECT 1 FROM prompt WHERE ts = $1", ts))
        finally:
            await connection.close()
    try:
        with sqlite3.connect(f"file:{serve.database}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT 1 FROM prompt WHERE ts = ?", (ts,)).fetchone() is not None
    except sqlite3.OperationalError:
        return False


@contextlib.asynccontextmanager
async def fresh_postgres(server_url: str | None, name: str) -> AsyncIterator[str | None]:
    """A new, empty database on the PostgreSQL server of `server_url` (dropped afterwards);
    None when no server is given (the run uses SQLite)."""
    if not server_url:
        yield None
        return
    import asyncpg

    database = f"bench_{name}_{os.getpid()}".lower().replace("-", "_")
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + database
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()


async def post_prompt(slack: SlackStandIn, serve: Serve, channel: str) -> str:
    """/deploy-question in `channel`; returns the prompt's ts once the bot recorded it."""
    before = len(slack.posts("drill_prompt"))
    status, _ = await slack.send_command(
        serve.url, "deploy-ml-models", channel=channel, team=TEAM, user="U0ASKER"
    )
    if status != 200:
        raise RuntimeError(f"/deploy-question got HTTP {status}")
    await slack.wait_for(
        lambda: any(p["channel"] == channel for p in slack.posts("drill_prompt")[before:]),
        within=30,
    )
    ts = next(
        str(p["_ts"]) for p in slack.posts("drill_prompt")[before:] if p["channel"] == channel
    )
    await wait_prompt_recorded(serve, ts)
    return ts


# --- the burst driver --------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One signed event delivery, built before the clock starts."""

    user: str
    body: bytes
    headers: dict[str, str]


def build_deliveries(
    slack: SlackStandIn,
    threads: Sequence[tuple[str, str]],
    answers: Sequence[str],
    n: int,
    *,
    prefix: str = "U",
    offset: int = 0,
) -> list[Delivery]:
    """`n` thread replies from distinct users, spread round-robin over (channel, thread_ts)."""
    out = []
    now = int(time.time())
    for i in range(n):
        channel, thread_ts = threads[i % len(threads)]
        user = f"{prefix}{offset + i:07d}"
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": answers[i % len(answers)],
            "ts": f"{now}.{(offset + i) % 1_000_000:06d}",
            "thread_ts": thread_ts,
            "channel_type": "channel",
            "team": TEAM,
        }
        envelope = {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "A0DRILL",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{prefix}{offset + i:09d}",
            "event_time": now,
            "authorizations": [
                {
                    "team_id": TEAM,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
        body = json.dumps(envelope)
        headers = {"Content-Type": "application/json", **slack.sign(body)}
        out.append(Delivery(user, body.encode(), headers))
    return out


@dataclass
class BurstResult:
    sent: int
    acked: int
    statuses: dict[int, int]
    latencies: list[float]  # seconds, per acked delivery (from the send, queueing included)
    queued: list[float]  # seconds each request waited for a free client connection
    started: float  # monotonic time of the first send
    last_ack: float
    send_spread: float  # seconds between the first and the last send actually made


async def burst(
    url: str, deliveries: Sequence[Delivery], *, per_second: float, connections: int = 100
) -> BurstResult:
    """Send `deliveries` paced evenly at `per_second`; latency = send to HTTP response."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    queued: list[float] = []
    last = [0.0]
    sent_at: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    trace = aiohttp.TraceConfig()

    async def queue_start(_: Any, ctx: Any, __: Any) -> None:
        ctx.queued_at = time.monotonic()

    async def queue_end(_: Any, ctx: Any, __: Any) -> None:
        queued.append(time.monotonic() - ctx.queued_at)

    trace.on_connection_queued_start.append(queue_start)
    trace.on_connection_queued_end.append(queue_end)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trace_configs=[trace]
    ) as session:

        async def one(delivery: Delivery) -> None:
            begun = time.monotonic()
            sent_at.append(begun)
            try:
                async with session.post(url, data=delivery.body, headers=delivery.headers) as r:
                    await r.read()
                    status = r.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            done = time.monotonic()
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                latencies.append(done - begun)
                last[0] = max(last[0], done)

        tasks = []
        started = time.monotonic()
        for i, delivery in enumerate(deliveries):
            due = started + i / per_second
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(delivery)))
        await asyncio.gather(*tasks)
    return BurstResult(
        sent=len(deliveries),
        acked=statuses.get(200, 0),
        statuses=statuses,
        latencies=latencies,
        queued=queued,
        started=started,
        last_ack=last[0],
        send_spread=(max(sent_at) - min(sent_at)) if sent_at else 0.0,
    )
