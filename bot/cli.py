"""`deploy-drill` subcommands: serve, run, grade, questions, rubrics, db, eval, calibration (in
calibration_cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import json
import os
import signal
import sys
from pathlib import Path

from bot.calibration_cli import add_calibration_commands
from bot.config import Settings, forget_blank_variables, known_database, load_settings
from bot.errors import ConfigError, RubricError
from bot.evaluation import SETS
from bot.labelled_sets import CalibrationError
from bot.logs import setup_logging
from bot.questions import SENIORITIES, check_dir, json_schema, load_bank


def _settings() -> Settings:
    return load_settings()


def _secrets(settings: Settings) -> tuple[str, ...]:
    return tuple(
        s.get_secret_value()
        for s in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_secret,
            settings.slack_state_secret,
            settings.token_encryption_key,
            settings.openai_api_key,
        )
        if s is not None
    )


def _bank(settings: Settings, directory: str | None = None):  # type: ignore[no-untyped-def]
    return load_bank(Path(directory) if directory else settings.resolved_rubrics_dir())


# --- serve ---------------------------------------------------------------------


async def _serve(settings: Settings) -> None:
    from bot.runtime import Runtime

    runtime = Runtime(settings)
    await runtime.start()
    # What start-up built lives as long as the process: out of the collector's sight, a full
    # collection (about 90 ms on a 2-vCPU VM, mid-burst) no longer walks it while acks wait.
    gc.collect()
    gc.freeze()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.request_stop)
    socket_handler = None
    try:
        if settings.slack_app_token is not None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            # Health and metrics stay on HTTP; Slack traffic comes over the socket.
            await runtime.serve_http()
            socket_handler = AsyncSocketModeHandler(
                runtime.bolt, settings.slack_app_token.get_secret_value()
            )
            await socket_handler.connect_async()  # type: ignore[no-untyped-call]
        else:
            await runtime.serve_http()
        await runtime.wait_stopped()
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()  # type: ignore[no-untyped-call]
        await runtime.stop()


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    setup_logging(settings.log_level, settings.log_format, _secrets(settings))
    settings.check_slack()  # one mode: SLACK_BOT_TOKEN, or multi-workspace OAuth
    asyncio.run(_serve(settings))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """What `make run` calls: serve when Slack credentials are set, else the playground."""
    settings = _settings()
    if not settings.slack_bot_token and not settings.oauth_enabled:
        print(
            "SLACK_BOT_TOKEN is not set: starting the local playground instead "
            '(README: "Create the Slack app" connects the real Slack).',
            file=sys.stderr,
            flush=True,
        )
        return cmd_playground(args)
    return cmd_serve(args)


def cmd_playground(args: argparse.Namespace) -> int:
    """The real bot wired to the built-in Slack stand-in, with a Slack-like page on loopback."""
    from bot.playground import ignored_settings, serve_playground

    settings = _settings()
    setup_logging(settings.log_level, settings.log_format, _secrets(settings))
    # `run` falls back to the playground without these flags.
    chosen = {name: getattr(args, name, None) for name in ("port", "host", "database_url")}
    for line in ignored_settings(
        settings, host=chosen["host"], database_url=chosen["database_url"]
    ):
        print(line, file=sys.stderr, flush=True)
    asyncio.run(serve_playground(settings, **chosen, announce=_announce))
    return 0


def _database_url(value: str) -> str:
    try:
        return known_database(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _announce(line: str) -> None:
    print(line, flush=True)


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Exit 0 when the bot on HOST:PORT is healthy (the image's HEALTHCHECK)."""
    from bot.healthcheck import health_url, unhealthy

    try:
        url = health_url(_settings())
    except ConfigError as exc:  # exit 1, not main's 2: Docker reserves 2 in health checks
        print(f"unhealthy: configuration error: {exc}", file=sys.stderr)
        return 1
    problem = unhealthy(url, timeout=args.timeout)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print(f"healthy: {url}")
    return 0


def cmd_practice(args: argparse.Namespace) -> int:
    """A terminal drill for one person; answers and progress go to DATABASE_URL."""
    from rich.console import Console

    from bot.practice import run_practice
    from bot.runtime import build_grader

    settings = _settings()
    setup_logging("WARNING", settings.log_format, _secrets(settings))
    bank = _bank(settings, args.rubrics)
    return run_practice(
        settings,
        bank,
        build_grader(settings, bank, daily_budget=0),
        question=args.question,
        level=args.level,
        user=args.user,
        console=Console(highlight=False),
    )


# --- grading -------------------------------------------------------------------


def cmd_grade(args: argparse.Namespace) -> int:
    from bot.grading.gradable import NUDGES, not_an_answer
    from bot.grading.render import render_text

    settings = _settings()
    if args.grader == "llm" and settings.openai_api_key is None:
        print("grade --grader llm needs OPENAI_API_KEY", file=sys.stderr)
        return 2
    bank = _bank(settings, args.rubrics)
    question = bank.find(args.question)
    if question is None:
        print(f"unknown question {args.question!r}; try: {', '.join(bank.ids())}", file=sys.stderr)
        return 2
    from_stdin = args.file in (None, "-")
    if from_stdin and sys.stdin.isatty():
        print("Paste or type the answer, then press Ctrl-D on an empty line.", file=sys.stderr)
    try:
        raw = sys.stdin.buffer.read() if from_stdin else Path(args.file).read_bytes()
        answer = raw.decode("utf-8-sig")  # an editor's byte-order mark is not part of it
    except UnicodeDecodeError:
        print(
            f"cannot read {'stdin' if from_stdin else args.file}: not UTF-8 text", file=sys.stderr
        )
        return 2
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    reason = not_an_answer(answer)
    if reason is not None:
        print(f"not graded ({reason}): {NUDGES[reason]}", file=sys.stderr)
        return 1
    grade = asyncio.run(_grade_once(settings, bank, question, answer, args.grader, args.level))
    text = (
        json.dumps(grade.to_json(), indent=2, ensure_ascii=False)
        if args.format == "json"
        else render_text(question, grade)
    )
    print(text, flush=True)
    return 0


@contextlib.asynccontextmanager
async def _operator_grader(settings: Settings, bank, which: str | None):  # type: ignore[no-untyped-def]
    """The grader the bot would use (or `which`), for one operator run: no daily budget."""
    from bot.runtime import build_grader

    forced = settings.model_copy(update={"grader": which}) if which else settings
    grader = build_grader(forced, bank, daily_budget=0)
    try:
        yield grader
    finally:
        close = getattr(grader, "aclose", None)
        if close is not None:
            await close()


async def _grade_once(settings: Settings, bank, question, answer: str, which: str | None, level):  # type: ignore[no-untyped-def]
    async with _operator_grader(settings, bank, which) as grader:
        return await grader.grade(question, answer, seniority=level)


def cmd_grader_train(args: argparse.Namespace) -> int:
    from bot.grading.training import TrainingError, train

    bank = _bank(_settings(), args.rubrics)
    try:
        card = train(bank, Path(args.corpus), Path(args.out))
    except TrainingError as exc:
        print(f"grader train: {exc}", file=sys.stderr)
        return 2
    print(
        f"trained on {card['examples']} claims (data sha256 {card['data_sha256'][:12]}); "
        f"stance accuracy (5-fold) {card['metrics']['stance_accuracy_cv']}; written to {args.out}"
    )
    return 0


def cmd_questions(args: argparse.Namespace) -> int:
    bank = _bank(_settings(), args.rubrics)
    if args.format == "json":
        print(
            json.dumps(
                [
                    {"id": q.id, "title": q.title, "topic": q.topic, "difficulty": q.difficulty}
                    for q in bank.questions
                ],
                indent=2,
            )
        )
        return 0
    width = max(len(q.id) for q in bank.questions)
    for q in bank.questions:
        print(f"{q.id:<{width}}  {q.difficulty:<8}  {q.title}")
    return 0


def cmd_rubrics_check(args: argparse.Namespace) -> int:
    directory = Path(args.dir) if args.dir else _settings().resolved_rubrics_dir()
    bank, problems = check_dir(directory)
    for problem in problems:
        print(problem, file=sys.stderr)
    if bank is None:
        print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
        return 1
    print(f"ok: {len(bank.questions)} questions in {directory}")
    return 0


def cmd_rubrics_schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.storage.db import upgrade

    settings = _settings()
    upgrade(settings.async_database_url, args.revision)
    print(f"database at {args.revision}")
    return 0


def cmd_db_revision(args: argparse.Namespace) -> int:
    """Autogenerate a migration from the models (run against an up-to-date database)."""
    from alembic import command

    from bot.storage.db import alembic_config

    command.revision(
        alembic_config(_settings().async_database_url), message=args.message, autogenerate=True
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import render_text, to_json

    settings = _settings()
    if args.grader == "llm" and settings.openai_api_key is None:
        print(
            "eval --grader llm needs OPENAI_API_KEY (and OPENAI_BASE_URL for another endpoint)",
            file=sys.stderr,
        )
        return 2
    bank = _bank(settings, args.rubrics)
    directory = Path(args.calibration) if args.calibration else SETS[args.set]
    if args.second:
        report = asyncio.run(_against_second(bank, directory, Path(args.second)))
    else:
        report = asyncio.run(_evaluate(settings, bank, directory, args.grader))
    print(json.dumps(to_json(report), indent=2) if args.format == "json" else render_text(report))
    return 0 if report.ok else 1  # a grader below the targets fails CI


async def _evaluate(settings: Settings, bank, calibration: Path, which: str):  # type: ignore[no-untyped-def]
    from bot.evaluation import evaluate

    async with _operator_grader(settings, bank, which) as grader:
        return await evaluate(bank, grader, calibration)


async def _against_second(bank, labelled: Path, second: Path):  # type: ignore[no-untyped-def]
    from bot.evaluation import evaluate
    from bot.second_labelling import SecondLabelling

    return await evaluate(bank, SecondLabelling(bank, second), labelled)


# --- wiring ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploy-drill", description="Deploy Drill: ML deployment interview drills for Slack."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "serve", help="run the Slack bot (HTTP, or Socket Mode with SLACK_APP_TOKEN)"
    ).set_defaults(func=cmd_serve)
    sub.add_parser(
        "run", help="serve if Slack credentials are set; otherwise start the playground"
    ).set_defaults(func=cmd_run)
    playground = sub.add_parser(
        "playground", help="the real bot on a local Slack stand-in, in your browser (no Slack)"
    )
    playground.add_argument("--port", type=int, default=None, help="default PORT (3000)")
    playground.add_argument(
        "--host", default=None, help="listen address (default 127.0.0.1; HOST is not used)"
    )
    playground.add_argument(
        "--database-url",
        type=_database_url,
        default=None,
        help="default sqlite:///./deploy_drill_playground.db (DATABASE_URL is not used)",
    )
    playground.set_defaults(func=cmd_playground)
    health = sub.add_parser("healthcheck", help="exit 0 if the bot on HOST:PORT is healthy")
    health.add_argument("--timeout", type=float, default=4.0, help="seconds (default 4)")
    health.set_defaults(func=cmd_healthcheck)
    practice = sub.add_parser("practice", help="drill yourself in the terminal")
    practice.add_argument("--question", "-q", default=None, help="question id or topic")
    practice.add_argument("--level", choices=SENIORITIES, default=None)
    practice.add_argument("--user", default="me", help="whose progress (default: me)")
    practice.add_argument("--rubrics", default=None, help="rubric directory (default RUBRICS_DIR)")
    practice.set_defaults(func=cmd_practice)

    grade = sub.add_parser("grade", help="grade one answer from a file or stdin")
    grade.add_argument("--question", required=True, help="question id or topic")
    grade.add_argument("--format", choices=("text", "json"), default="text")
    grade.add_argument(
        "--grader", choices=("rubric", "llm"), default=None, help="default: GRADER, as the bot"
    )
    grade.add_argument("--level", choices=SENIORITIES, default=None)
    grade.add_argument("--rubrics", default=None, help="rubric directory (default RUBRICS_DIR)")
    grade.add_argument("file", nargs="?", default="-", help="answer file, or - for stdin")
    grade.set_defaults(func=cmd_grade)

    questions = sub.add_parser("questions", help="list the question bank")
    questions.add_argument("--format", choices=("text", "json"), default="text")
    questions.add_argument("--rubrics", default=None)
    questions.set_defaults(func=cmd_questions)

    rubrics = sub.add_parser("rubrics", help="check rubric files or export their JSON Schema")
    rsub = rubrics.add_subparsers(dest="rubrics_command", required=True)
    check = rsub.add_parser("check", help="validate rubric files; prints file:line: field: reason")
    check.add_argument("dir", nargs="?", default=None)
    check.set_defaults(func=cmd_rubrics_check)
    schema = rsub.add_parser("schema", help="print the JSON Schema for question files")
    schema.add_argument("--output", "-o", default=None)
    schema.set_defaults(func=cmd_rubrics_schema)

    db = sub.add_parser("db", help="database maintenance")
    dsub = db.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="migrate to the latest revision")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)
    rev = dsub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("-m", "--message", required=True)
    rev.set_defaults(func=cmd_db_revision)

    ev = sub.add_parser("eval", help="measure a grader against the labelled calibration set")
    ev.add_argument("--grader", choices=("rubric", "llm"), default="rubric")
    ev.add_argument(
        "--set",
        choices=tuple(SETS),
        default="calibration",
    )
    ev.add_argument("--calibration", default=None, help="a directory of labelled answers")
    ev.add_argument(
        "--second",
        default=None,
        metavar="DIR",
        help="instead of a grader, a second labelling of the same answers: how far two labellers agree",
    )
    ev.add_argument("--format", choices=("text", "json"), default="text")
    ev.add_argument("--rubrics", default=None)
    ev.set_defaults(func=cmd_eval)

    add_calibration_commands(sub)

    grader = sub.add_parser("grader", help="the offline grader's learned model")
    gsub = grader.add_subparsers(dest="grader_command", required=True)
    tr = gsub.add_parser("train", help="fit the claim models on the corpus and rubric examples")
    tr.add_argument("--corpus", default="corpus/claims")
    tr.add_argument("--out", default=str(Path(__file__).parent / "grading" / "model"))
    tr.add_argument("--rubrics", default=None)
    tr.set_defaults(func=cmd_grader_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    forget_blank_variables()  # before any library reads the environment
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped early (`| head`). Python flushes stdout again at exit: point it
        # at nothing so that this ends quietly too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        print(
            f"cannot listen on HOST:PORT: {exc.strerror} (set HOST/PORT to a free address)",
            file=sys.stderr,
        )
        return 2
    except CalibrationError as exc:
        print("labelled answers are invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except RubricError as exc:
        print("rubric files are invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
