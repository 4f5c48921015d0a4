"""`deploy-drill calibration report|export`: what people think of their grades, read from the
database (the calibration loop; `calibration.py`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.config import Settings, load_settings
from bot.questions import load_bank


def _day(value: str):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class _NoTeam(Exception):
    """Which workspace to work on is not clear, or the database cannot be read: the
    message says why."""


async def _calibration(settings: Settings, bank, wanted: str | None, run):  # type: ignore[no-untyped-def]
    """`await run(calibration, team)` against DATABASE_URL, for the workspace `wanted`, or
    the only one the database holds."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.calibration import Calibration
    from bot.storage.db import make_engine, make_sessionmaker, migrate_to_head

    engine = make_engine(settings.async_database_url)
    try:
        try:
            await migrate_to_head(engine, settings.async_database_url)
        except (OSError, SQLAlchemyError) as exc:
            raise _NoTeam(f"cannot open the database (DATABASE_URL): {exc}") from None
        calibration = Calibration(bank=bank, sessions=make_sessionmaker(engine))
        teams = await calibration.teams()
        team = wanted or (teams[0] if len(teams) == 1 else None)
        if team is None and teams:
            raise _NoTeam(
                f"the database holds {len(teams)} workspaces ({', '.join(teams)}): "
                "pick one with --team"
            )
        return team or "", await run(calibration, team or "")
    finally:
        await engine.dispose()


def cmd_calibration_report(args: argparse.Namespace) -> int:
    from bot.calibration_figures import render_text

    settings = load_settings()
    bank = load_bank(
        settings.resolved_rubrics_dir() if args.rubrics is None else Path(args.rubrics)
    )

    async def run(calibration, team: str):  # type: ignore[no-untyped-def]
        return await calibration.report(team=team, since=args.since)

    try:
        _, data = asyncio.run(_calibration(settings, bank, args.team, run))
    except _NoTeam as exc:
        print(f"calibration report: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(data.to_json(), indent=2) if args.format == "json" else render_text(data))
    return 0


def cmd_calibration_export(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.calibration_export import to_yaml

    settings = load_settings()
    bank = load_bank(
        settings.resolved_rubrics_dir() if args.rubrics is None else Path(args.rubrics)
    )

    async def run(calibration, team: str):  # type: ignore[no-untyped-def]
        return await calibration.export(team=team)

    try:
        team, found = asyncio.run(_calibration(settings, bank, args.team, run))
    except _NoTeam as exc:
        print(f"calibration export: {exc}", file=sys.stderr)
        return 2
    if args.question:
        found = {q: items for q, items in found.items() if q == args.question}
    if not found:
        print(
            "nothing to export: no disputed or interviewer-rated answers (with a criterion "
            "marked) from people who share them (`/deploy-question share on`)",
            file=sys.stderr,
        )
        return 0
    out = Path(args.out)
    if not out.is_dir() and len(found) > 1:
        print(
            f"calibration export: answers to {len(found)} questions ({', '.join(found)}); "
            "pass --question ID, or a directory as --out for one file per question",
            file=sys.stderr,
        )
        return 2
    for question_id, items in found.items():
        path = out / f"{question_id}.yaml" if out.is_dir() else out
        question = bank.get(question_id)
        if question is None:
            print(f"calibration export: {question_id} is no longer in the bank; skipped")
            continue
        text = to_yaml(question, items, team=team, now=datetime.now(UTC))
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"calibration export: cannot write {path}: {exc.strerror}", file=sys.stderr)
            return 2
        print(f"wrote {len(items)} answers to {path} ({question_id})")
    return 0


def add_calibration_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`deploy-drill calibration report|export`."""
    cal = sub.add_parser(
        "calibration", help="what people think of their grades: the report, and the export"
    )
    csub = cal.add_subparsers(dest="calibration_command", required=True)
    report = csub.add_parser(
        "report", help="grades, disputes and human-vs-bot agreement per question and criterion"
    )
    report.add_argument("--since", type=_day, default=None, help="YYYY-MM-DD (UTC)")
    report.add_argument("--format", choices=("text", "json"), default="text")
    export = csub.add_parser(
        "export", help="disputed and interviewer-rated answers as calibration-set YAML"
    )
    export.add_argument(
        "--out", required=True, help="a file (one question), or a directory (a file each)"
    )
    export.add_argument("--question", default=None, help="only this question id")
    for command, func in ((report, cmd_calibration_report), (export, cmd_calibration_export)):
        command.add_argument("--team", default=None, help="the workspace (Slack team id)")
        command.add_argument("--rubrics", default=None)
        command.set_defaults(func=func)
