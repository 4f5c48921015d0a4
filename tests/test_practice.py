"""`deploy-drill practice` end to end: a real process, a terminal (pty) or a pipe, a real database."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.conftest import ROOT
from tests.slack.payloads import STRONG_ANSWER

CLI = [sys.executable, "-m", "bot", "practice"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(database: Path, **extra: str) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "OPENAI_", "DATABASE_URL", "GRADER", "NO_COLOR"))
    }
    return {
        **keep,
        "DATABASE_URL": f"sqlite:///{database}",
        "RUBRICS_DIR": str(ROOT / "rubrics"),
        **extra,
    }


def _pipe(database: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=database.parent,
        env=_env(database, COLUMNS="200"),  # no wrapping inside the phrases checked
        timeout=60,
    )


def _paragraphs(text: str, count: int) -> list[str]:
    """`text` cut at sentence ends into `count` paragraphs of about equal length."""
    cuts = [text.index(". ", len(text) * n // count) + 1 for n in range(1, count)]
    return [text[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@contextlib.contextmanager
def _terminal(tmp_path: Path, *args: str) -> Iterator[pexpect.spawn]:
    """`deploy-drill practice` in a pseudo-terminal, as `make practice` runs it; the block
    must end the session, and it must then exit 0."""
    child = pexpect.spawn(
        CLI[0],
        [*CLI[1:], *args],
        cwd=str(tmp_path),
        env=_env(tmp_path / "practice.db", TERM="xterm-256color", COLUMNS="110", LINES="40"),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 110),
    )
    try:
        yield child
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def _stored_answers(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT answer FROM attempt ORDER BY id")]


def test_a_session_in_a_terminal(tmp_path: Path) -> None:
    """In a pty: a pasted three-paragraph answer is read whole up to the "." line and graded
    once; coloured feedback, the menu, quit."""
    pasted = "\n\n".join(_paragraphs(STRONG_ANSWER, 3))
    transcript: list[str] = []
    with _terminal(tmp_path, "--question", "deploy-ml-models") as child:
        child.expect("How do you deploy ML models to production")
        child.expect(r"finish with a line holding\s+only \.\s+or press Ctrl-D")
        child.send(pasted + "\n.\n")  # one write, as a paste arrives: blank lines and all
        child.expect(r"(\d+)/100 · (strong|solid)")
        score = int(child.match.group(1))
        assert score >= 70
        transcript.append(child.before)
        child.expect("Model 30-second answer")
        child.expect(f"First try at this question: {score}/100")
        child.expect("Enter for another question, q to quit")
        child.sendline("")
        child.expect(r"Pick a number or id \(Enter = (\S+), q = quit\)")
        assert child.match.group(1) != "deploy-ml-models"  # the next untried question
        transcript.append(child.before)
        child.sendline("q")
        child.expect("Progress kept: 1 answer to 1 question")
    assert _stored_answers(tmp_path / "practice.db") == [pasted]
    assert any(ANSI.search(part) for part in transcript), "a terminal gets colour"
    assert "No question matches" not in ANSI.sub("", transcript[-1])
    bank_table = ANSI.sub("", transcript[-1])
    assert re.search(rf"deploy-ml-models\s.*│\s+{score}\s+│\s+1", bank_table)


def test_ctrl_d_ends_a_pasted_answer_and_the_session_goes_on(tmp_path: Path) -> None:
    """In a pty: Ctrl-D after a pasted answer grades all of it, and the terminal still reads the
    next prompt (Ctrl-D at the start, with nothing typed, is what quits)."""
    pasted = "\n\n".join(_paragraphs(STRONG_ANSWER, 2))
    with _terminal(tmp_path, "--question", "deploy-ml-models") as child:
        child.expect("or press Ctrl-D")
        child.send(pasted + "\n")
        child.sendeof()
        child.expect(r"(\d+)/100 · (strong|solid)")
        child.expect("Enter for another question, q to quit")
        child.sendline("")  # another question
        child.expect(r"Pick a number or id")
        child.sendline("deploy-ml-models")
        child.expect("or press Ctrl-D")
        child.sendeof()  # nothing typed: quit
        child.expect("Progress kept: 1 answer to 1 question")
    assert _stored_answers(tmp_path / "practice.db") == [pasted]


def test_progress_carries_over_between_sessions(tmp_path: Path) -> None:
    """A second session on the same database shows the previous best and the change."""
    database = tmp_path / "practice.db"
    first = _pipe(
        database,
        "We use Docker and Kubernetes and monitor latency.\n.\nq\n",
        "-q",
        "deploy-ml-models",
    )
    assert first.returncode == 0, first.stderr
    weak = int(re.search(r"(\d+)/100 · ", first.stdout).group(1))  # type: ignore[union-attr]
    second = _pipe(database, STRONG_ANSWER + "\n.\nq\n", "-q", "deploy-ml-models")
    assert second.returncode == 0, second.stderr
    assert not ANSI.search(second.stdout), "no colour codes when not a terminal"
    strong = int(re.search(r"(\d+)/100 · ", second.stdout).group(1))  # type: ignore[union-attr]
    assert f"Attempt 2 at this question · previous best {weak}" in second.stdout
    assert f"+{strong - weak} since last time ({weak} → {strong})" in second.stdout
    assert "New best!" in second.stdout
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT team, channel, user, status, score, grader FROM attempt ORDER BY id"
        ).fetchall()
        outbox = db.execute("SELECT count(*) FROM outbox_message").fetchone()[0]
    assert rows == [
        ("local", "terminal", "me", "posted", weak, "rubric"),
        ("local", "terminal", "me", "posted", strong, "rubric"),
    ]
    assert outbox == 0  # nothing is ever posted anywhere


def test_not_an_answer_gets_a_nudge_and_a_second_chance(tmp_path: Path) -> None:
    """An emoji-only reply is not graded; the next one is."""
    out = _pipe(
        tmp_path / "p.db",
        ":rocket: :tada:\n.\n" + STRONG_ANSWER + "\n.\nq\n",
        "-q",
        "deploy-ml-models",
    )
    assert out.returncode == 0, out.stderr
    assert "don't look like an answer yet" in out.stdout
    assert out.stdout.count("/100 · ") == 1


def test_hint_and_menu_choice_by_number(tmp_path: Path) -> None:
    """The menu takes a number; /hint shows the question's first hint without ending the answer."""
    out = _pipe(tmp_path / "p.db", "1\n/hint\n\n" + STRONG_ANSWER + "\n.\nq\n")
    assert out.returncode == 0, out.stderr
    assert "Pick a number or id (Enter = deploy-ml-models" in out.stdout
    assert "Hint: " in out.stdout
    assert "Model 30-second answer" in out.stdout


def test_unknown_question_lists_the_ids(tmp_path: Path) -> None:
    """A question that does not exist exits 2 naming the valid ids."""
    out = _pipe(tmp_path / "p.db", "", "--question", "kubernetes-yoga")
    assert out.returncode == 2
    assert "deploy-ml-models" in out.stdout


@pytest.mark.parametrize("stdin", ["", "q\n"])
def test_quitting_at_once_stores_nothing(tmp_path: Path, stdin: str) -> None:
    """Ctrl-D or q at the menu ends cleanly."""
    out = _pipe(tmp_path / "p.db", stdin)
    assert out.returncode == 0, out.stderr
    assert "Progress kept" not in out.stdout
