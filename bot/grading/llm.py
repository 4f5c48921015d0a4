"""The LLM grader: an OpenAI-compatible model judges levels and quotes; code keeps the score.

    FallbackGrader(LLMGrader, RubricGrader)
      ├── LLMGrader.grade()   cache → budget → one call (semaphore, timeout, SDK's one retry)
      │                       → schema-checked judgement → quotes verified → score in code
      └── on GradingError     the rubric grader grades the answer; a WARNING says why

What the model may and may not decide:

- It returns, through Structured Outputs (``response_format`` json_schema, strict),
  a level 0-2 and a verbatim quote for every criterion, and the rubric's mistakes it
  sees, each with a quote. Nothing else: no score, no band, no free text shown to users.
- A quote must occur in the answer (compared after normalising case, whitespace,
  quote marks and Slack emphasis; ``...`` may elide text between fragments found in
  order). A criterion whose quote is missing, not found, shorter than
  ``MIN_QUOTE_CHARS`` or itself an instruction to the grader is set to level 0; a
  mistake whose quote is not found is dropped (an omission mistake may have an empty
  quote, but is dropped when a criterion it names was met).
- The score and band come from ``compute_score`` / ``band_for`` with the question's
  weights (and seniority overrides), exactly as for the offline grader.

The answer is untrusted data. It goes to the model between markers carrying a
random per-request tag, under a system instruction that nothing between them is an
instruction. The offline grader runs on every answer too and caps the result:

- ``keyword_salad`` flagged: the score is capped at ``SALAD_CAP`` (25);
- ``off_subject`` flagged (the answer never names what its question is about): capped at
  ``OFF_SUBJECT_CAP`` (20);
- ``injection`` flagged (the answer addresses the grader): the score cannot exceed
  the offline score + ``INJECTION_MARGIN`` (10) - the offline grader has already
  dropped the instructions and graded the rest, so steering earns at most a small
  judgement margin over that.

The offline grader's flags and notes (injection, keyword_salad, truncated,
repeated) and its length figures are carried over; ``off_topic`` follows the
model's levels.

Cost and safety rails: temperature 0 and a fixed seed; a per-request timeout; the
SDK's own single retry (the client is built with ``max_retries=1``; no second retry
layer here); at most ``concurrency`` calls at once; a per-workspace daily token
budget read from a `TokenLedger`; an in-memory LRU cache of grades so a retried or
repeated answer costs nothing. Every failure raises `LLMGradingFailed` with a short
reason (never the answer or the key) and the tokens it spent, and `FallbackGrader`
turns that into a rubric grade carrying those tokens, so the ledger still counts them.

This is the only module that imports ``openai``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError

from bot.errors import GradingError
from bot.grading.grade import (
    MAX_LEVEL,
    Concurrency,
    CriterionResult,
    Grade,
    Graded,
    GradeJob,
    Grader,
    MistakeResult,
    band_for,
    compute_score,
    grade_each,
)
from bot.grading.injection import INJECTION
from bot.grading.llm_prompt import (
    display_quote,
    judgement_model,
    new_tag,
    normalise,
    quote_found,
    response_format,
    system_prompt,
    user_prompt,
)
from bot.grading.rubric import OFF_SUBJECT_CAP, SALAD_CAP, RubricGrader
from bot.grading.text import MAX_CHARS
from bot.questions import Question, QuestionBank, Seniority

EVIDENCE_PER_QUOTE = 2
log = logging.getLogger(__name__)

SEED = 20261129  # fixed: same prompt, same model -> as repeatable as the API allows
INJECTION_MARGIN = 10
MAX_COMPLETION_TOKENS = 1500
CACHE_SIZE = 2048


# --- ports -----------------------------------------------------------------------


class TokenLedger(Protocol):
    """Tokens a workspace has spent today (UTC), for the daily budget.

    `record` is told about every call's tokens as soon as the response arrives, so a
    burst of grades counts them before the grades reach the database.
    """

    async def spent_today(self, team: str) -> int: ...

    def record(self, team: str, tokens: int) -> None: ...


class MemoryLedger:
    """A ledger that lives in this process only (CLI, tests): counts per team per UTC day."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._spent: dict[tuple[str, str], int] = {}

    async def spent_today(self, team: str) -> int:
        return self._spent.get((team, self._clock().date().isoformat()), 0)

    def record(self, team: str, tokens: int) -> None:
        if tokens > 0:
            key = (team, self._clock().date().isoformat())
            self._spent[key] = self._spent.get(key, 0) + tokens


class LLMGradingFailed(GradingError):
    """The LLM could not grade this answer; `reason` is safe to log (no answer, no key)."""

    def __init__(self, reason: str, *, tokens_used: int = 0) -> None:
        self.reason = reason
        self.tokens_used = tokens_used
        super().__init__(reason)


def make_client(*, api_key: str, base_url: str | None, timeout: float) -> openai.AsyncOpenAI:
    """The OpenAI client the grader uses: its own single retry, the configured timeout."""
    return openai.AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=1)


# --- the grader ----------------------------------------------------------------------


def _two_criteria_per_quote(criteria: list[CriterionResult]) -> list[CriterionResult]:
    """The offline grader's evidence rule: a quote earns at most two criteria, the two it
    is worth most to; the others lose that credit."""
    by_quote: dict[str, list[CriterionResult]] = {}
    for c in criteria:
        if c.level and c.evidence:
            by_quote.setdefault(normalise(c.evidence), []).append(c)
    dropped = {
        c.id
        for group in by_quote.values()
        for c in sorted(group, key=lambda c: -c.weight * c.level)[EVIDENCE_PER_QUOTE:]
    }
    return [
        CriterionResult(c.id, c.name, 0, c.max_level, None, c.tip, c.weight)
        if c.id in dropped
        else c
        for c in criteria
    ]


class LLMGrader:
    """Grades with an OpenAI-compatible model; raises `LLMGradingFailed` when it cannot.

    Wrap it in `FallbackGrader` with the rubric grader to always get a grade. The
    grader owns the client it is given: `aclose()` closes it. Without a `ledger`
    the daily budget is kept in this process only (`MemoryLedger`); ``daily_budget``
    0 means unlimited.
    """

    def __init__(
        self,
        bank: QuestionBank,
        *,
        client: openai.AsyncOpenAI,
        model: str,
        timeout: float = 20.0,
        concurrency: int = 4,
        daily_budget: int = 200_000,
        ledger: TokenLedger | None = None,
        metrics_hook: Callable[[int], None] | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.name = f"llm:{model}"
        self.concurrency: Concurrency = "concurrent"  # calls overlap, bounded by the semaphore
        self.passes = 1
        self.model = model
        self._client = client
        self._timeout = timeout
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self._budget = daily_budget
        self._ledger: TokenLedger = ledger if ledger is not None else MemoryLedger()
        self._metrics_hook = metrics_hook
        self._rubric = RubricGrader(bank)
        self._cache: OrderedDict[tuple[str, ...], Grade] = OrderedDict()
        self._cache_size = cache_size

    async def aclose(self) -> None:
        await self._client.close()

    async def warm(self) -> None:
        await self._rubric.warm()

    async def grade_many(self, jobs: Sequence[GradeJob]) -> list[Graded]:
        return await grade_each(self, jobs)

    async def grade(
        self, question: Question, answer: str, *, seniority: Seniority | None = None, team: str = ""
    ) -> Grade:
        key = (
            question.id,
            question.version,
            self.model,
            hashlib.sha256(answer.encode("utf-8")).hexdigest(),
            seniority or "",
        )
        cached = self._cached(key)
        if cached is not None:
            return cached
        offline = self._rubric.grade_sync(question, answer, seniority=seniority)
        async with self._semaphore:
            cached = self._cached(key)  # an identical answer may have finished while we waited
            if cached is not None:
                return cached
            await self._check_budget(team)
            judgement, tokens = await self._ask(question, answer[:MAX_CHARS], team)
        grade = self._build(question, answer, judgement, offline, seniority, tokens)
        self._cache[key] = grade
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return grade

    def _cached(self, key: tuple[str, ...]) -> Grade | None:
        grade = self._cache.get(key)
        if grade is None:
            return None
        self._cache.move_to_end(key)
        return replace(grade, tokens_used=0)  # already paid for

    async def _check_budget(self, team: str) -> None:
        if self._budget <= 0:
            return
        try:
            spent = await self._ledger.spent_today(team)
        except Exception as exc:
            raise LLMGradingFailed(f"token ledger unavailable ({type(exc).__name__})") from exc
        if spent >= self._budget:
            raise LLMGradingFailed(f"daily token budget spent ({spent}/{self._budget})")

    async def _ask(self, question: Question, answer: str, team: str) -> tuple[BaseModel, int]:
        tag = new_tag(answer)
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system_prompt(question, tag)},
            {"role": "user", "content": user_prompt(answer, tag)},
        ]
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format=response_format(question),
                temperature=0,
                seed=SEED,
                max_completion_tokens=MAX_COMPLETION_TOKENS,
                timeout=self._timeout,
            )
        except openai.APITimeoutError as exc:
            raise LLMGradingFailed(f"timeout after {self._timeout:g}s") from exc
        except openai.APIStatusError as exc:
            raise LLMGradingFailed(f"HTTP {exc.status_code} from the API") from exc
        except openai.APIConnectionError as exc:
            raise LLMGradingFailed("cannot connect to the API") from exc
        except openai.OpenAIError as exc:
            raise LLMGradingFailed(f"API error ({type(exc).__name__})") from exc

        tokens = completion.usage.total_tokens if completion.usage else 0
        if tokens:
            self._ledger.record(team, tokens)
            if self._metrics_hook is not None:
                self._metrics_hook(tokens)

        if not completion.choices:
            raise LLMGradingFailed("no choices in the reply", tokens_used=tokens)
        choice = completion.choices[0]
        if choice.message.refusal:
            raise LLMGradingFailed("the model refused", tokens_used=tokens)
        if choice.finish_reason == "length":
            raise LLMGradingFailed("output cut at the token limit", tokens_used=tokens)
        if choice.finish_reason == "content_filter":
            raise LLMGradingFailed("output stopped by the content filter", tokens_used=tokens)
        content = choice.message.content
        if not content:
            raise LLMGradingFailed("empty output", tokens_used=tokens)
        try:
            json.loads(content)
        except ValueError:
            raise LLMGradingFailed("malformed JSON output", tokens_used=tokens) from None
        try:
            judgement = judgement_model(question).model_validate_json(content)
        except ValidationError as exc:
            # Only error types and locations: the input values may quote the answer.
            kinds = {e["type"] for e in exc.errors()}
            what = (
                "unknown ids in output"
                if kinds & {"extra_forbidden", "literal_error"}
                else "output violates the schema"
            )
            raise LLMGradingFailed(what, tokens_used=tokens) from None
        return judgement, tokens

    def _build(
        self,
        question: Question,
        answer: str,
        judgement: BaseModel,
        offline: Grade,
        seniority: Seniority | None,
        tokens: int,
    ) -> Grade:
        answer_norm = normalise(answer[:MAX_CHARS])
        judged: dict[str, dict[str, Any]] = judgement.model_dump(by_alias=True)["criteria"]
        criteria: list[CriterionResult] = []
        rejected = 0
        for c in question.criteria:
            j = judged[c.id]
            level, quote = int(j["level"]), str(j["quote"])
            if level and not self._credible(quote, answer_norm):
                level, rejected = 0, rejected + 1
            criteria.append(
                CriterionResult(
                    id=c.id,
                    name=c.name,
                    level=level,
                    max_level=MAX_LEVEL,
                    evidence=display_quote(quote) if level else None,
                    tip=c.tip.strip(),
                    weight=question.weight(c, seniority),
                )
            )
        criteria = _two_criteria_per_quote(criteria)
        levels = {c.id: c.level for c in criteria}
        mistakes: list[MistakeResult] = []
        seen: set[str] = set()
        for m in judgement.model_dump()["mistakes"]:
            mid, quote = str(m["id"]), str(m["quote"])
            spec = next((x for x in question.mistakes if x.id == mid), None)
            if spec is None or mid in seen:
                continue
            if quote.strip() and not quote_found(quote, answer_norm):
                rejected += 1
                continue
            if spec.detect.kind == "missing" and any(
                levels.get(cid) for cid in spec.detect.criteria
            ):
                continue  # "never mentions X" while X earned credit: the judgement contradicts itself
            seen.add(mid)
            mistakes.append(
                MistakeResult(
                    id=mid,
                    name=spec.name,
                    evidence=display_quote(quote) if quote.strip() else None,
                    fix=spec.fix.strip(),
                    penalty=spec.penalty,
                )
            )
        if rejected:
            log.info("%s: %d quotes from the model were not in the answer", question.id, rejected)

        cap = 100
        if "keyword_salad" in offline.flags:
            cap = min(cap, SALAD_CAP)
        if "off_subject" in offline.flags:
            cap = min(cap, OFF_SUBJECT_CAP)
        if "injection" in offline.flags:
            cap = min(cap, offline.score + INJECTION_MARGIN)
        criteria_t, mistakes_t = tuple(criteria), tuple(mistakes)
        score = compute_score(criteria_t, mistakes_t, cap=cap)
        flags = [f for f in offline.flags if f != "off_topic"]
        if not any(c.level for c in criteria_t):
            flags.append("off_topic")
        return Grade(
            question_id=question.id,
            rubric_version=question.version,
            grader=self.name,
            score=score,
            band=band_for(score),
            criteria=criteria_t,
            mistakes=mistakes_t,
            length=offline.length,
            model_answer_30s=question.model_answer_30s.strip(),
            seniority=seniority,
            flags=tuple(flags),
            notes=offline.notes,
            tokens_used=tokens,
        )

    @staticmethod
    def _credible(quote: str, answer_norm: str) -> bool:
        """A quote earns credit if it is in the answer and is not addressed to the grader."""
        return quote_found(quote, answer_norm) and not INJECTION.search(normalise(quote))


# --- the fallback chain ----------------------------------------------------------------


class FallbackGrader:
    """Grades with `primary`; on any failure grades with `fallback` and logs why.

    The fallback grade carries the tokens the failed call spent (so the daily budget
    still counts them). The log line names the question and the reason only, never
    the answer or a key; an unexpected exception is reported by type and place.
    """

    def __init__(self, primary: Grader, fallback: Grader) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.concurrency = primary.concurrency
        self.passes = primary.passes

    async def aclose(self) -> None:
        for grader in (self.primary, self.fallback):
            await grader.aclose()

    async def warm(self) -> None:
        await self.primary.warm()
        await self.fallback.warm()

    async def grade_many(self, jobs: Sequence[GradeJob]) -> list[Graded]:
        return await grade_each(self, jobs)

    async def grade(
        self, question: Question, answer: str, *, seniority: Seniority | None = None, team: str = ""
    ) -> Grade:
        try:
            return await self.primary.grade(question, answer, seniority=seniority, team=team)
        except LLMGradingFailed as exc:
            reason, tokens = exc.reason, exc.tokens_used
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
            reason, tokens = f"unexpected {type(exc).__name__} at {where}", 0
        log.warning(
            "%s could not grade an answer to %s (%s); graded by %s instead",
            self.primary.name,
            question.id,
            reason,
            self.fallback.name,
        )
        grade = await self.fallback.grade(question, answer, seniority=seniority, team=team)
        return replace(grade, tokens_used=grade.tokens_used + tokens) if tokens else grade
