"""The offline grader's speed: answers per second and latency percentiles by answer size.

    .venv/bin/python -m bench.grader [--quick] [--question ID] [--profile SIZE]

Grades realistic answers (sentences about deployment, see bench/answers.py) of
30, 250 and 1,000 words and of 40,000 characters with `RubricGrader.grade_sync`,
one at a time on one core, after a warm-up. Targets (grader v2, issue #17): p50 ≤ 20 ms
and p99 ≤ 100 ms at 250 words; p50 < 50 ms at 40,000 characters.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from dataclasses import dataclass

from bench import answers
from bench.harness import ROOT, machine_line, percentile, table, verdict
from bot.grading.rubric import RubricGrader
from bot.questions import Question, QuestionBank, load_bank


@dataclass(frozen=True)
class Size:
    label: str
    words: int | None = None
    chars: int | None = None
    target_p50_ms: float | None = None
    target_p99_ms: float | None = None


SIZES = (
    Size("30 words", words=30),
    Size("250 words", words=250, target_p50_ms=20.0, target_p99_ms=100.0),
    Size("1,000 words", words=1000),
    Size("40,000 chars", chars=40_000, target_p50_ms=50.0),
)


@dataclass(frozen=True)
class SizeResult:
    size: Size
    n: int
    mean_words: float
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def ok(self) -> bool | None:
        if self.size.target_p50_ms is None:
            return None
        p99 = self.size.target_p99_ms
        return self.p50_ms <= self.size.target_p50_ms and (p99 is None or self.p99_ms <= p99)


def measure(
    grader: RubricGrader, question: Question, size: Size, *, iterations: int, distinct: int
) -> SizeResult:
    texts = answers.pool(distinct, words=size.words, chars=size.chars, seed=SIZES.index(size) + 1)
    for text in texts[: min(len(texts), 20)]:  # warm-up: caches, regex compilation
        grader.grade_sync(question, text)
    latencies = []
    started = time.perf_counter()
    for i in range(iterations):
        text = texts[i % len(texts)]
        t0 = time.perf_counter()
        grader.grade_sync(question, text)
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    return SizeResult(
        size=size,
        n=iterations,
        mean_words=sum(len(t.split()) for t in texts) / len(texts),
        per_second=iterations / total,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=max(latencies) * 1000,
    )


def iterations_for(size: Size, quick: bool) -> int:
    big = (size.words or 0) >= 1000 or size.chars is not None
    if quick:
        return 40 if big else 300
    return 300 if big else 3000


def run(bank: QuestionBank, question_id: str, quick: bool) -> list[SizeResult]:
    question = bank.get(question_id)
    if question is None:
        raise SystemExit(f"unknown question {question_id!r}")
    grader = RubricGrader(bank)
    return [
        measure(
            grader,
            question,
            size,
            iterations=iterations_for(size, quick),
            distinct=20 if quick else 50,
        )
        for size in SIZES
    ]


def render(results: list[SizeResult], question_id: str) -> str:
    rows = []
    for r in results:
        target = f"p50 ≤ {r.size.target_p50_ms:g} ms" if r.size.target_p50_ms else "-"
        if r.size.target_p99_ms:
            target += f", p99 ≤ {r.size.target_p99_ms:g}"
        ok = "-" if r.ok is None else verdict(r.ok)
        rows.append(
            (
                r.size.label,
                r.n,
                r.mean_words,
                r.per_second,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                target,
                ok,
            )
        )
    headers = (
        "answer",
        "graded",
        "words",
        "answers/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "target",
        "result",
    )
    return f"grader: rubric, question {question_id}, one core\n" + table(headers, rows)


def profile(bank: QuestionBank, question_id: str, label: str) -> None:
    question = bank.get(question_id)
    assert question is not None
    wanted = label.replace(",", "")
    size = next((s for s in SIZES if s.label.replace(",", "").startswith(wanted)), None)
    if size is None:
        sys.exit(f"--profile: no size {label!r}; choose from " + ", ".join(s.label for s in SIZES))
    grader = RubricGrader(bank)
    texts = answers.pool(10, words=size.words, chars=size.chars, seed=1)
    grader.grade_sync(question, texts[0])
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(5):
        for text in texts:
            grader.grade_sync(question, text)
    prof.disable()
    pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.grader", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a few seconds)")
    parser.add_argument("--question", default="deploy-ml-models")
    parser.add_argument(
        "--profile", metavar="SIZE", help="cProfile one size instead (e.g. 250 or 40,000)"
    )
    args = parser.parse_args(argv)
    bank = load_bank(ROOT / "rubrics")
    print(machine_line())
    if args.profile:
        profile(bank, args.question, args.profile)
        return 0
    results = run(bank, args.question, args.quick)
    print(render(results, args.question))
    failed = [r for r in results if r.ok is False]
    print("grader targets:", verdict(not failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
