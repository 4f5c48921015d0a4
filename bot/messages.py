"""What flows between the use cases and the Slack adapter: an incoming reply, what became of
it, and the `Renderer` port that turns core values into message payloads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.grading.grade import CriterionResult, Grade
    from bot.progress import Digest
    from bot.questions import Question


@dataclass(frozen=True)
class Reply:
    """A threaded reply, already stripped of everything Slack-specific."""

    team: str
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str
    event_id: str | None = None


class Recorded(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the same message again (Slack retry, second replica)
    NOT_A_DRILL = "not_a_drill"  # the thread is not one of our prompts
    SPOOLED = "spooled"  # the database could not take it: kept locally until it can


@dataclass
class Outgoing:
    """What a graded (or nudged) answer leads to: the message to queue, if any, under its
    dedupe key, and the grade to store (None: the answer counts for nothing)."""

    payload: dict[str, Any] | None
    kind: str
    key: str
    grade: Grade | None
    reason: str | None = None


class Renderer(Protocol):
    """Turns core values into message payloads (the Slack layer implements it)."""

    def prompt(
        self,
        question: Question,
        *,
        source: str,
        requested_by: str | None,
        interviewer: str | None = None,
    ) -> dict[str, Any]: ...

    def followup(
        self,
        question: Question,
        criterion_id: str,
        *,
        user: str,
        current: CriterionResult | None,
        depth: int = 0,
    ) -> dict[str, Any]: ...

    def summary(
        self,
        question: Question,
        grade: Grade,
        *,
        user: str,
        improved: list[str],
        details: str | None = None,
    ) -> dict[str, Any]: ...

    def mock_closed(self, question: Question, *, user: str) -> dict[str, Any]: ...

    def interviewer_brief(
        self, question: Question, *, candidate: str, interviewer: str, mock_id: int
    ) -> dict[str, Any]: ...

    def rating(
        self,
        question: Question,
        *,
        candidate: str,
        interviewer: str,
        rating: int,
        notes: str,
        bot_score: int | None,
        bot_band: str | None,
    ) -> dict[str, Any]: ...

    def digest(self, data: Digest, png: bytes) -> dict[str, Any]: ...

    def feedback(
        self,
        question: Question,
        grade: Grade,
        *,
        user: str,
        previous: Grade | None,
        details: str | None = None,
    ) -> dict[str, Any]: ...

    def nudge(self, question: Question, *, user: str, reason: str) -> dict[str, Any]: ...

    # --- spaced review (reviews.py): a DM, its thread's feedback, the pause note -------------

    def review_prompt(
        self, question: Question, criterion_id: str, prompt: str, *, user: str
    ) -> dict[str, Any]: ...

    def review_feedback(
        self,
        question: Question,
        criterion_id: str,
        *,
        user: str,
        level: int,
        evidence: str | None,
    ) -> dict[str, Any]: ...

    def review_paused(self, *, user: str) -> dict[str, Any]: ...
