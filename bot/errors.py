"""The errors Deploy Drill raises, translated at the edges (CLI, Slack layer).

    DrillError
     ├── ConfigError        a setting is missing or malformed (names the variable)
     ├── RubricError        rubric files are broken (every `file:line: field: reason`)
     ├── UnknownQuestion    a question id or topic that is not in the bank
     ├── AnswerNotStored    an answer could not be stored (the database is unreachable)
     ├── GradingError       a grader could not produce a grade (the chain falls back)
     │    └── LLMGradingFailed   the LLM call failed or its reply was unusable (grading/llm.py)
     └── DeliveryError      posting to Slack failed
          ├── RetryLater    transient: rate limited, 5xx, network (carries a delay)
          └── Undeliverable permanent: channel gone, bot not in channel, bad blocks

Only the Slack layer words what users see; everything else raises these with
`raise … from` so the cause stays in the log.
"""

from __future__ import annotations


class DrillError(Exception):
    """Base of every error the app raises on purpose."""


class ConfigError(DrillError):
    """A setting is missing or malformed."""


class RubricError(DrillError):
    """One or more rubric files failed validation."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class UnknownQuestion(DrillError):
    """No question matches the given id or topic."""

    def __init__(self, wanted: str, known: list[str]) -> None:
        self.wanted = wanted
        self.known = known
        super().__init__(f"unknown question {wanted!r}")


class AnswerNotStored(DrillError):
    """An answer could neither be stored nor spooled; Slack must deliver it again."""


class GradingError(DrillError):
    """A grader failed; the fallback chain tries the next one."""


class DeliveryError(DrillError):
    """A message could not be delivered to Slack."""


class RetryLater(DeliveryError):
    """A transient failure; try again after `delay` seconds. `maybe_done`: the request may
    have been carried out all the same (it timed out, or the connection broke)."""

    def __init__(self, reason: str, delay: float, *, maybe_done: bool = False) -> None:
        self.reason = reason
        self.delay = delay
        self.maybe_done = maybe_done
        super().__init__(f"{reason} (retry in {delay:.1f}s)")


class Undeliverable(DeliveryError):
    """A permanent failure; retrying will not help."""
