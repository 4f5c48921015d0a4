"""What one screen of feedback shows, chosen from a grade (pure).

A grade has a level and a quote for every criterion; the message in the thread shows
only the verdict, at most two strengths and the two gaps worth the most points. The
rest (every criterion with its evidence and tip) is for the Details view. The rules:
no criterion is both a strength and a gap, partial credit is shown once (as partial),
and no quote is shown for more than two criteria.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.grading.grade import CriterionResult, Grade

SHOWN = 2  # strengths, and things to add, on the one screen
QUOTE_REUSE = 2  # criteria one quoted sentence may stand for


@dataclass(frozen=True)
class Summary:
    verdict: str  # one line
    strengths: tuple[CriterionResult, ...]  # credited, none of them in to_add
    to_add: tuple[CriterionResult, ...]  # short of full marks, most points to gain first

    @property
    def partial(self) -> frozenset[str]:
        """Criteria with some credit but not full marks (shown as partial wherever they are)."""
        return frozenset(c.id for c in (*self.strengths, *self.to_add) if 0 < c.level < c.max_level)


def gain(criterion: CriterionResult) -> float:
    """What covering a criterion fully would add: its weight times the levels missing."""
    return criterion.weight * (criterion.max_level - criterion.level)


def most_valuable_gaps(grade: Grade, limit: int = SHOWN) -> tuple[CriterionResult, ...]:
    """The criteria short of full marks that would add the most (rubric order breaks ties)."""
    order = {c.id: i for i, c in enumerate(grade.criteria)}
    gaps = [c for c in grade.criteria if c.level < c.max_level]
    return tuple(sorted(gaps, key=lambda c: (-gain(c), order[c.id]))[:limit])


def summarise(grade: Grade, limit: int = SHOWN) -> Summary:
    to_add = most_valuable_gaps(grade, limit)
    chosen = {c.id for c in to_add}
    order = {c.id: i for i, c in enumerate(grade.criteria)}
    credited = [c for c in grade.criteria if c.level > 0 and c.id not in chosen]
    # Full marks first, then what earned the most.
    credited.sort(key=lambda c: (c.level < c.max_level, -c.weight * c.level, order[c.id]))
    strengths = tuple(credited[:limit])
    return Summary(verdict(grade, len(to_add)), strengths, to_add)


def verdict(grade: Grade, gaps_shown: int) -> str:
    """The grade in one line: what kind of answer it is and where to look next."""
    # A bare list of tools earns nothing, so it is off topic too: say which it is.
    tools_only = "keyword_salad" in grade.flags or any(m.id == "tool_list" for m in grade.mistakes)
    if tools_only and grade.band in ("weak", "developing"):
        return "A list of tools isn't an answer yet: say what you would do, step by step, and why."
    if "off_topic" in grade.flags:
        return "This doesn't answer the question yet - see what a strong answer covers below."
    if gaps_shown == 0:
        return "Complete: every part of a strong answer, covered in full."
    covered = sum(1 for c in grade.criteria if c.level > 0)
    areas = f"{covered} of {len(grade.criteria)} areas"
    next_step = "the point below" if gaps_shown == 1 else "the two points below"
    opening = {
        "strong": f"Interview-ready: {areas} covered",
        "solid": f"Solid: {areas} covered",
        "developing": f"Getting there: {areas} covered",
        "weak": f"A start: {areas} touched",
    }[grade.band]
    return f"{opening} - {next_step} would lift it most."


def shown_quotes(criteria: tuple[CriterionResult, ...]) -> dict[str, str | None]:
    """Each criterion's quote, or None where the same sentence already stands for two
    criteria (kept for the ones it earned the most)."""
    key = {c.id: " ".join((c.evidence or "").split()).casefold() for c in criteria}
    ranked = sorted(
        (c for c in criteria if c.evidence and c.level > 0), key=lambda c: -c.weight * c.level
    )
    uses: dict[str, int] = {}
    shown: dict[str, str | None] = {c.id: None for c in criteria}
    for c in ranked:
        if uses.get(key[c.id], 0) < QUOTE_REUSE:
            uses[key[c.id]] = uses.get(key[c.id], 0) + 1
            shown[c.id] = c.evidence
    return shown
