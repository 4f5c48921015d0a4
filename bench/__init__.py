"""Benchmarks: each prints a table of figures anyone can reproduce (see BENCHMARKS.md).

Run one with `.venv/bin/python -m bench.<name>` (add `--quick` for a short run), or all
with `make bench`. None of them is a unit test; they never leave 127.0.0.1.
"""
