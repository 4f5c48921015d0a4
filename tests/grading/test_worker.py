"""The rubric grader in worker processes: the same grades as in this process, and a worker
that dies costs no grade."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal

import pytest

from bot.grading.rubric import RubricGrader
from bot.grading.worker import ProcessGrader
from bot.labelled_sets import load_calibration
from bot.questions import QuestionBank
from tests.conftest import ROOT

CALIBRATION = ROOT / "tests" / "calibration"


def _workers() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.pid is not None}


async def test_workers_grade_exactly_as_this_process_does(bank: QuestionBank) -> None:
    """Every labelled calibration answer: the worker's grade is the in-process grade, field
    for field, and the workers' judgment still separates strong answers from weak ones."""
    items = load_calibration(bank, CALIBRATION)
    local = RubricGrader(bank)
    grader = ProcessGrader(bank, processes=2)
    try:
        await grader.warm()
        jobs = [(item.question, item.label.answer, None) for item in items]
        graded = await grader.grade_many(jobs)
    finally:
        await grader.aclose()
    assert len(graded) == len(items)
    for item, (grade, seconds, error) in zip(items, graded, strict=True):
        assert error is None and grade is not None, item.label.id
        assert seconds > 0
        expected = local.grade_sync(item.question, item.label.answer)
        assert grade.to_json() == expected.to_json(), item.label.id
    by_voice: dict[str, list[int]] = {}
    for item, (grade, _, _) in zip(items, graded, strict=True):
        assert grade is not None
        by_voice.setdefault(item.label.voice, []).append(grade.score)
    assert min(by_voice["strong"]) > max(by_voice["adversarial"])
    assert sum(by_voice["strong"]) / len(by_voice["strong"]) > 75


async def test_a_killed_worker_costs_no_grade_and_is_replaced(
    bank: QuestionBank, caplog: pytest.LogCaptureFixture
) -> None:
    question = bank.get("deploy-ml-models")
    assert question is not None
    items = [i for i in load_calibration(bank, CALIBRATION) if i.question.id == question.id][:6]
    expected = [RubricGrader(bank).grade_sync(question, i.label.answer) for i in items]
    jobs = [(question, i.label.answer, None) for i in items]
    before = _workers()
    grader = ProcessGrader(bank, processes=1)
    try:
        await grader.warm()
        [worker] = _workers() - before
        os.kill(worker, signal.SIGKILL)
        for _ in range(200):  # until reaped (10 s at most): the pool has seen it die
            if worker not in _workers():
                break
            await asyncio.sleep(0.05)

        with caplog.at_level(logging.ERROR, logger="bot.grading.worker"):
            graded = await grader.grade_many(jobs)
        assert [g.to_json() if g else None for g, _, _ in graded] == [e.to_json() for e in expected]
        assert "grading worker failed" in caplog.text

        # The next batch goes to a new worker process.
        again = await grader.grade_many(jobs[:2])
        assert [g.score if g else None for g, _, _ in again] == [e.score for e in expected[:2]]
        [replacement] = _workers() - before
        assert replacement != worker
    finally:
        await grader.aclose()
    assert not (_workers() - before), "aclose leaves no worker behind"


async def test_an_answer_that_breaks_the_grader_fails_alone(bank: QuestionBank) -> None:
    """A question the workers do not know (the bank changed under them) fails that job only."""
    question = bank.get("deploy-ml-models")
    assert question is not None
    stranger = question.model_copy(update={"id": "not-in-the-bank"})
    grader = ProcessGrader(bank, processes=1)
    try:
        graded = await grader.grade_many(
            [(question, "We ship the model in a container.", None), (stranger, "Anything.", None)]
        )
    finally:
        await grader.aclose()
    (first, _, first_error), (second, _, second_error) = graded
    assert first is not None and first_error is None
    assert second is None and second_error is not None and "not-in-the-bank" in second_error
