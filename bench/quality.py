"""Grading quality and grading speed side by side, so a grader change shows both.

    .venv/bin/python -m bench.quality [--quick] [--calibration tests/calibration]

Prints `deploy-drill eval` (bot.evaluation: the rubric grader against the
hand-labelled calibration answers, with its targets), then the speed table of
bench.grader for the same grader.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from bench import grader as speed
from bench.harness import ROOT, machine_line, verdict
from bot.grading.rubric import RubricGrader
from bot.questions import load_bank


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quality", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer speed iterations")
    parser.add_argument("--calibration", type=Path, default=ROOT / "tests" / "calibration")
    parser.add_argument("--question", default="deploy-ml-models", help="for the speed table")
    args = parser.parse_args(argv)
    bank = load_bank(ROOT / "rubrics")
    print(machine_line())
    print()
    try:
        from bot.evaluation import evaluate, render_text
    except ImportError as exc:  # bot/evaluation.py is another issue's work
        print(f"quality: bot.evaluation is not available ({exc}); speed only")
    else:
        started = time.perf_counter()
        report = asyncio.run(evaluate(bank, RubricGrader(bank), args.calibration))
        took = time.perf_counter() - started
        print(render_text(report))
        print(f"(evaluated {len(report.items)} labelled answers in {took:.2f} s)")
    print()
    results = speed.run(bank, args.question, args.quick)
    print(speed.render(results, args.question))
    print("grader speed targets:", verdict(not [r for r in results if r.ok is False]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
