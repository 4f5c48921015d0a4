"""`deploy-drill practice`: one person drilling in the terminal, progress kept in the database.

Each answer is stored like a Slack one - a prompt and a graded attempt - in the
workspace "local", channel "terminal", so the grader, the tables and the queries
are the bot's own, and progress carries over between sessions. Practice rows never
go through the outbox (nothing is posted anywhere) and are stored already graded,
so a bot serving on the same database leaves them alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.grading.gradable import NUDGES, not_an_answer
from bot.grading.grade import Grade, Grader
from bot.questions import Question, QuestionBank, Seniority, seniority_of
from bot.storage import attempt_rows, profile_rows, prompt_rows
from bot.storage.db import make_engine, make_sessionmaker, migrate_to_head, unit_of_work
from bot.storage.tables import Attempt, utcnow

TEAM = "local"
CHANNEL = "terminal"
BAND_STYLE = {
    "strong": "bold green",
    "solid": "bold blue",
    "developing": "bold yellow",
    "weak": "bold red",
}

ReadLine = Callable[[str], str]
# A line holding only this ends an answer; an empty line cannot, or a pasted answer would be
# cut at its first paragraph and the rest fed to the next prompt.
END_OF_ANSWER = "."


@dataclass(frozen=True)
class Progress:
    """One person's record on one question."""

    attempts: int
    best: int
    average: float
    last: int


class PracticeLog:
    """The terminal's attempts, stored as prompts and graded attempts of team "local"."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, user: str) -> None:
        self._sessions = sessions
        self.user = user

    async def progress(self) -> dict[str, Progress]:
        async with unit_of_work(self._sessions) as session:
            rows = await attempt_rows.attempts_for_user(session, team=TEAM, user=self.user)
        scores: dict[str, list[int]] = {}
        for row in rows:
            if row.channel == CHANNEL and row.score is not None:
                scores.setdefault(row.question_id, []).append(row.score)
        return {qid: Progress(len(s), max(s), sum(s) / len(s), s[-1]) for qid, s in scores.items()}

    async def level(self) -> Seniority | None:
        async with unit_of_work(self._sessions) as session:
            profile = await profile_rows.get_profile(session, team=TEAM, user=self.user)
        level = profile.level if profile else None
        return seniority_of(level)

    async def set_level(self, level: str) -> None:
        async with unit_of_work(self._sessions) as session:
            await profile_rows.update_profile(session, team=TEAM, user=self.user, level=level)

    async def record(self, question: Question, answer: str, grade: Grade) -> None:
        """Store the question as asked and the answer as graded and delivered, in one go."""
        ts = f"{time.time():.6f}"
        now = utcnow()
        async with unit_of_work(self._sessions) as session:
            prompt = await prompt_rows.add_prompt(
                session,
                team=TEAM,
                channel=CHANNEL,
                question_id=question.id,
                source="practice",
                requested_by=self.user,
            )
            prompt.ts = ts
            prompt.posted_at = now
            assert prompt.id is not None
            await attempt_rows.add_attempt(
                session,
                Attempt(
                    team=TEAM,
                    channel=CHANNEL,
                    thread_ts=ts,
                    message_ts=ts,
                    user=self.user,
                    prompt_id=prompt.id,
                    question_id=question.id,
                    answer=answer,
                    status="posted",
                    grade_json=json.dumps(grade.to_json()),
                    grader=grade.grader,
                    score=grade.score,
                    band=grade.band,
                    tokens_used=grade.tokens_used,
                    received_at=now,
                    graded_at=now,
                    posted_at=now,
                ),
            )


def suggest(bank: QuestionBank, progress: dict[str, Progress]) -> Question:
    """The first question not tried yet; when all were, the one with the lowest best score."""
    fresh = [q for q in bank.questions if q.id not in progress]
    if fresh:
        return fresh[0]
    return min(bank.questions, key=lambda q: (progress[q.id].best, progress[q.id].attempts))


# --- rendering -------------------------------------------------------------------------


def render_question(question: Question) -> Panel:
    seconds = question.answer_seconds
    words = question.target_words.short if seconds == 30 else question.target_words.long
    body = Group(
        Text(question.prompt),
        Text(""),
        Text(
            f"Aim for about {seconds} seconds spoken (~{words} words). Type or paste your "
            f"answer (blank lines are kept), then finish with a line holding only {END_OF_ANSWER} "
            "or press Ctrl-D. /hint shows a hint.",
            style="dim",
        ),
    )
    return Panel(body, title=Text(question.title, style="bold"), title_align="left")


def _item(mark: Text, head: Text, detail: Text | None = None) -> Table:
    """One bullet whose wrapped lines stay indented under it."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=3, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(mark, Group(head, detail) if detail is not None else head)
    return grid


def render_grade(question: Question, grade: Grade) -> Group:
    """The feedback, like the Slack message, for a terminal."""
    style = BAND_STYLE.get(grade.band, "bold")
    parts: list[Text | Table | Panel] = [
        Text.assemble(
            (f"{grade.score}/100 · {grade.band}", style),
            (f"   graded by {grade.grader}", "dim"),
            (f" for a {grade.seniority} level" if grade.seniority else "", "dim"),
            (f" · {grade.length.words} words, about {grade.length.spoken_seconds} s spoken", "dim"),
        )
    ]
    covered = grade.covered()
    if covered:
        parts.append(Text("\nWhat you covered", style="bold"))
        for c in covered:
            parts.append(
                _item(
                    Text(" ✓", style="green"),
                    Text.assemble((c.name, "green"), f" ({c.level}/{c.max_level})"),
                    Text(f"“{_short(c.evidence)}”", style="italic dim") if c.evidence else None,
                )
            )
    missed = grade.missed()
    if missed:
        parts.append(Text("\nWhat to add", style="bold"))
        for c in missed:
            parts.append(
                _item(
                    Text(" •", style="yellow"),
                    Text.assemble((c.name, "yellow"), f" ({c.level}/{c.max_level})"),
                    Text(c.tip),
                )
            )
    if grade.mistakes:
        parts.append(Text("\nCommon mistakes spotted", style="bold"))
        for m in grade.mistakes:
            detail = Text(f"“{_short(m.evidence)}”\n", style="italic dim") if m.evidence else Text()
            detail.append(f"↳ {m.fix}", style="")
            parts.append(_item(Text(" ✗", style="red"), Text(m.name, style="red"), detail))
    remarks = list(grade.notes) + ([f"Length: {grade.length.note}."] if grade.length.note else [])
    if remarks:
        parts.append(Text("\n" + " ".join(remarks), style="dim"))
    parts.append(Text(""))
    parts.append(
        Panel(
            Text(grade.model_answer_30s),
            title=Text("Model 30-second answer", style="bold"),
            title_align="left",
            border_style="cyan",
        )
    )
    return Group(*parts)


def render_progress(before: Progress | None, grade: Grade, after: Progress | None) -> Text:
    if after is None:
        return Text("")
    if before is None:
        return Text(f"First try at this question: {grade.score}/100.", style="bold")
    delta = grade.score - before.last
    sign = "+" if delta > 0 else ""
    line = Text.assemble(
        (f"Attempt {after.attempts} at this question", "bold"),
        f" · previous best {before.best}, average {before.average:.0f}",
        f" · {sign}{delta} since last time ({before.last} → {grade.score})",
    )
    if grade.score > before.best:
        line.append("  New best!", style="bold green")
    return line


def render_bank(bank: QuestionBank, progress: dict[str, Progress], suggested: Question) -> Table:
    table = Table(title="Questions", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("question", ratio=1)
    table.add_column("level", style="dim")
    table.add_column("best", justify="right")
    table.add_column("tries", justify="right")
    for number, q in enumerate(bank.questions, 1):
        mine = progress.get(q.id)
        name = Text(q.id, style="bold")
        if q.id == suggested.id:
            name.append("  ← suggested", style="cyan")
        table.add_row(
            str(number),
            Text.assemble(name, "\n", (q.title, "dim")),
            q.difficulty,
            str(mine.best) if mine else "-",
            str(mine.attempts) if mine else "",
        )
    return table


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# --- the session ----------------------------------------------------------------------


class Quit(Exception):
    """The person asked to stop (q, Ctrl-D at a menu)."""


class PracticeSession:
    """The interactive loop: choose, answer, feedback, progress - until the person quits."""

    def __init__(
        self,
        *,
        bank: QuestionBank,
        grader: Grader,
        log: PracticeLog,
        console: Console,
        read_line: ReadLine,
        runner: asyncio.Runner,
    ) -> None:
        self.bank = bank
        self.grader = grader
        self.log = log
        self.console = console
        self.read_line = read_line
        self.run_async = runner.run

    def _ask(self, prompt: str) -> str:
        try:
            return self.read_line(prompt)
        except EOFError:
            raise Quit from None

    def choose(self) -> Question:
        progress = self.run_async(self.log.progress())
        suggested = suggest(self.bank, progress)
        self.console.print(render_bank(self.bank, progress, suggested))
        while True:
            wanted = self._ask(f"Pick a number or id (Enter = {suggested.id}, q = quit): ").strip()
            if wanted.lower() in ("q", "quit", "exit"):
                raise Quit
            if not wanted:
                return suggested
            if wanted.isdigit() and 1 <= int(wanted) <= len(self.bank.questions):
                return self.bank.questions[int(wanted) - 1]
            found = self.bank.find(wanted)
            if found is not None:
                return found
            self.console.print(f"No question matches “{wanted}”.", style="yellow", markup=False)

    def read_answer(self, question: Question) -> str | None:
        """Every line up to one holding only END_OF_ANSWER, or Ctrl-D: a pasted answer arrives
        whole, blank lines and all. None when Ctrl-D comes before any text (the person quits)."""
        lines: list[str] = []
        hints = iter(question.hints)
        while True:
            try:
                line = self.read_line("> " if not lines else "  ")
            except EOFError:
                if not lines:
                    return None
                break
            if line.strip() == END_OF_ANSWER:
                break
            if line.strip() == "/hint":
                hint = next(hints, None)
                self.console.print(
                    Text(f"Hint: {hint}" if hint else "No more hints.", style="cyan")
                )
                continue
            if lines or line.strip():  # blank lines before the answer are not part of it
                lines.append(line.rstrip())
        return "\n".join(lines).strip()

    def drill(self, question: Question, level: Seniority | None) -> None:
        self.console.print()
        self.console.print(render_question(question))
        while True:
            answer = self.read_answer(question)
            if answer is None:
                raise Quit
            reason = not_an_answer(answer)
            if reason is None:
                break
            nudge = NUDGES.get(reason, "I couldn't grade that.")
            self.console.print(
                f"{nudge} Answer again and end with a line holding only {END_OF_ANSWER} "
                "(or Ctrl-D).",
                style="yellow",
                markup=False,
            )
        with self.console.status("Grading…"):
            grade = self.run_async(self.grader.grade(question, answer, seniority=level, team=TEAM))
        before = self.run_async(self.log.progress()).get(question.id)
        self.run_async(self.log.record(question, answer, grade))
        after = self.run_async(self.log.progress()).get(question.id)
        self.console.print()
        self.console.print(render_grade(question, grade))
        self.console.print(render_progress(before, grade, after))

    def run(self, first: Question | None, level: Seniority | None) -> int:
        question = first
        with contextlib.suppress(Quit):  # "q" at the prompt ends the loop
            while True:
                if question is None:
                    question = self.choose()
                self.drill(question, level)
                again = self._ask("\nEnter for another question, q to quit: ").strip().lower()
                if again in ("q", "quit", "exit", "n", "no"):
                    raise Quit
                question = None
        progress = self.run_async(self.log.progress())
        tries = sum(p.attempts for p in progress.values())
        if tries:
            self.console.print(
                f"\nProgress kept: {tries} answer{'s' if tries != 1 else ''} "
                f"to {len(progress)} question{'s' if len(progress) != 1 else ''}. See you next time.",
                markup=False,
            )
        return 0


async def _open(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.async_database_url)
    await migrate_to_head(engine, settings.async_database_url)
    return engine, make_sessionmaker(engine)


def run_practice(
    settings: Settings,
    bank: QuestionBank,
    grader: Grader,
    *,
    question: str | None,
    level: str | None,
    user: str,
    console: Console,
    read_line: ReadLine = input,
) -> int:
    """The `practice` command. Exit code 2 when the question asked for does not exist."""
    first = None
    if question:
        first = bank.find(question)
        if first is None:
            console.print(
                f"No question “{question}”. Try one of: {', '.join(bank.ids())}", markup=False
            )
            return 2
    with asyncio.Runner() as runner:
        engine, sessions = runner.run(_open(settings))
        try:
            log = PracticeLog(sessions, user=user)
            if level:
                runner.run(log.set_level(level))
            chosen = runner.run(log.level())
            console.print(
                Text.assemble(
                    ("Deploy Drill practice", "bold"),
                    (
                        f" · as {user}"
                        + (f" · graded for a {chosen} level" if chosen else "")
                        + f" · progress in {settings.database_url}",
                        "dim",
                    ),
                )
            )
            session = PracticeSession(
                bank=bank,
                grader=grader,
                log=log,
                console=console,
                read_line=read_line,
                runner=runner,
            )
            return session.run(first, chosen)
        finally:
            close = getattr(grader, "aclose", None)
            if close is not None:
                runner.run(close())
            runner.run(engine.dispose())
