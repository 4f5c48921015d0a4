"""Run every benchmark, one after another, each in its own process.

    .venv/bin/python -m bench [--quick] [NAME ...]

NAME is one of grader, quality, burst, schedule_fanout, footprint (default: all).
`--quick` is passed on to each. Full runs take 4.5 to 12 minutes in all, depending on
the machine (BENCHMARKS.md); quick ones 2 to 4.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

ALL = ("grader", "quality", "burst", "schedule_fanout", "footprint")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(ALL))
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in ALL]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(ALL)}")
    failed = []
    for name in args.names or ALL:
        print(f"\n=== bench.{name}{' --quick' if args.quick else ''}", flush=True)
        started = time.monotonic()
        code = subprocess.call(
            [sys.executable, "-m", f"bench.{name}", *(["--quick"] if args.quick else [])]
        )
        print(f"=== bench.{name}: {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("benchmarks that crashed:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
