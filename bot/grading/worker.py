"""The rubric grader in worker processes, so grading uses another core.

Grading is pure-Python CPU work. In the event loop's process it takes the GIL from
Slack's requests (a thread would too), so under a burst every ack and every post waits
behind it. A worker process grades a whole claimed batch per call (one round trip, not
one per answer) while the loop goes on storing, acking and posting.

The workers get the question bank the parent loaded (pickled once, at start), so both
grade against the same rubric. If a worker dies, the batch is graded in this process
and the pool is started again for the next one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bot.grading.grade import Concurrency, Grade, Graded, GradeJob
from bot.grading.rubric import RubricGrader
from bot.questions import Question, QuestionBank, Seniority

log = logging.getLogger(__name__)

PlainJob = tuple[str, str, Seniority | None]  # the same with the question's id: cheap to pickle

PARENT_CHECK_SECONDS = 1.0
WARM_POLL_SECONDS = 0.1

_worker: tuple[QuestionBank, RubricGrader, threading.Thread] | None = None  # in a worker


def _init_worker(bank: QuestionBank) -> None:
    # Ctrl+C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True
    ).start()
    global _worker
    grader = RubricGrader(bank)
    # Compile every rubric in the background: a first answer need not wait for all of them
    # (its own question compiles on demand).
    warming = threading.Thread(target=grader.warm_sync, name="warm-rubrics", daemon=True)
    warming.start()
    _worker = (bank, grader, warming)


def _exit_with_parent(parent: int) -> None:
    """A parent killed outright (SIGKILL, OOM) never tells its workers to stop, and they
    would wait for work forever: once this process is re-parented, it exits."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _warmed() -> tuple[int, bool]:
    """(this worker's pid, whether it has compiled every rubric); never waits, so a stop
    need not wait for the compile either."""
    assert _worker is not None, "worker not initialised"
    return os.getpid(), not _worker[2].is_alive()


def _grade_batch(jobs: Sequence[PlainJob]) -> list[Graded]:
    assert _worker is not None, "worker not initialised"
    bank, grader, _ = _worker
    return _grade_each(bank, grader, jobs)


def _grade_each(bank: QuestionBank, grader: RubricGrader, jobs: Sequence[PlainJob]) -> list[Graded]:
    """Grade the jobs one by one (in a worker, or here when the workers are down)."""
    out: list[Graded] = []
    for question_id, answer, seniority in jobs:
        question = bank.get(question_id)
        started = time.perf_counter()
        try:
            if question is None:
                raise KeyError(f"question {question_id} is not in the worker's bank")
            grade = grader.grade_sync(question, answer, seniority=seniority)
        except Exception as exc:  # one bad answer must not lose the batch's other grades
            out.append((None, 0.0, f"{type(exc).__name__}: {exc}"))
            continue
        out.append((grade, time.perf_counter() - started, None))
    return out


class ProcessGrader:
    """`RubricGrader` behind a pool of worker processes; `grade_many` grades a batch."""

    name = "rubric"
    concurrency: Concurrency = "batch"

    def __init__(self, bank: QuestionBank, *, processes: int) -> None:
        self._bank = bank
        self.processes = max(1, processes)
        # While one batch is graded, the next is claimed and the last recorded.
        self.passes = 1 + self.processes
        self.local = RubricGrader(bank)  # while the pool is down (compiles on demand)
        self._pool: ProcessPoolExecutor | None = None

    def _start_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: forking a process with running threads (the event loop's
            # executor, the scheduler) can copy a held lock into the child.
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._bank,),
            )
        return self._pool

    async def warm(self) -> None:
        """Start the workers and wait until each has compiled every rubric."""
        loop = asyncio.get_running_loop()
        warm: set[int] = set()
        while len(warm) < self.processes:
            try:
                answers = await asyncio.gather(
                    *(
                        loop.run_in_executor(self._start_pool(), _warmed)
                        for _ in range(self.processes)
                    )
                )
            except (BrokenProcessPool, OSError, RuntimeError) as exc:
                # Answers are still graded: here, until a batch starts the workers again.
                log.error("grading worker failed to start (%s)", exc)
                self._discard_pool()
                return
            warm.update(pid for pid, done in answers if done)
            if len(warm) < self.processes:
                await asyncio.sleep(WARM_POLL_SECONDS)

    async def grade(
        self, question: Question, answer: str, *, seniority: Seniority | None = None, team: str = ""
    ) -> Grade:
        [(grade, _seconds, error)] = await self.grade_many([(question, answer, seniority)])
        if grade is None:
            raise RuntimeError(error)
        return grade

    async def grade_many(self, jobs: Sequence[GradeJob]) -> list[Graded]:
        """Grades in the order of `jobs`; a job that raised has grade None and the error."""
        if not jobs:
            return []
        plain = [(q.id, answer, seniority) for q, answer, seniority in jobs]
        size = -(-len(plain) // self.processes)  # one slice per worker
        slices = [plain[i : i + size] for i in range(0, len(plain), size)]
        loop = asyncio.get_running_loop()
        try:
            pool = self._start_pool()
            parts = await asyncio.gather(
                *(loop.run_in_executor(pool, _grade_batch, part) for part in slices)
            )
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            log.error("grading worker failed (%s); grading this batch here", exc)
            self._discard_pool()
            # In a thread: the loop still gets the interpreter every few milliseconds.
            return await asyncio.to_thread(_grade_each, self._bank, self.local, plain)
        return [graded for part in parts for graded in part]

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
