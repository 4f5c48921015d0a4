"""What one screen of feedback shows: the rules, on grades built by hand."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.grading.grade import CriterionResult, Grade, Length, MistakeResult, band_for
from bot.grading.summary import shown_quotes, summarise

SENTENCE = "We use Docker and Prometheus."


def criterion(cid: str, level: int, weight: float, evidence: str | None = None) -> CriterionResult:
    return CriterionResult(cid, cid.title(), level, 2, evidence, f"tip for {cid}", weight)


def grade(*criteria: CriterionResult, score: int = 50, mistakes: tuple[str, ...] = ()) -> Grade:
    return Grade(
        question_id="q",
        rubric_version="1",
        grader="rubric",
        score=score,
        band=band_for(score),
        criteria=criteria,
        mistakes=tuple(MistakeResult(m, m, None, "fix", 5) for m in mistakes),
        length=Length(words=40, spoken_seconds=16, target_seconds=90, note=None),
        model_answer_30s="model",
    )


def test_the_gaps_shown_are_worth_the_most_points() -> None:
    """Weight × levels missing decides: a heavy partial beats a light miss."""
    g = grade(
        criterion("light", 0, 0.5),  # worth 1.0
        criterion("heavy", 1, 3.0),  # worth 3.0
        criterion("middle", 0, 1.0),  # worth 2.0
        criterion("done", 2, 2.0),
    )
    assert [c.id for c in summarise(g).to_add] == ["heavy", "middle"]


def test_a_partial_criterion_is_shown_once() -> None:
    """A partial criterion not among the gaps shown is a strength, marked partial; never both."""
    g = grade(
        criterion("a", 0, 2.0),
        criterion("b", 0, 2.0),
        criterion("c", 1, 1.0),
        criterion("d", 2, 1.0),
    )
    summary = summarise(g)
    assert [c.id for c in summary.to_add] == ["a", "b"]
    assert [c.id for c in summary.strengths] == ["d", "c"]  # full marks first
    assert summary.partial == {"c"}


@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])),
        min_size=2,
        max_size=9,
    )
)
def test_at_most_two_each_and_never_in_both(levels: list[tuple[int, float]]) -> None:
    """Whatever the levels: ≤ 2 strengths, ≤ 2 gaps, disjoint; every strength has credit,
    every gap is short of full marks."""
    g = grade(*(criterion(f"c{i}", level, w) for i, (level, w) in enumerate(levels)))
    summary = summarise(g)
    assert len(summary.strengths) <= 2 and len(summary.to_add) <= 2
    assert not {c.id for c in summary.strengths} & {c.id for c in summary.to_add}
    assert all(c.level > 0 for c in summary.strengths)
    assert all(c.level < c.max_level for c in summary.to_add)


def test_one_sentence_is_quoted_for_two_criteria_at_most() -> None:
    """The same quote backing four criteria is shown under the two it earned the most."""
    g = grade(
        criterion("a", 1, 1.0, SENTENCE),
        criterion("b", 2, 1.0, SENTENCE),
        criterion("c", 1, 3.0, "  we use docker and   Prometheus. "),
        criterion("d", 1, 0.5, SENTENCE),
        criterion("e", 1, 1.0, "Another sentence."),
    )
    shown = shown_quotes(g.criteria)
    assert [cid for cid, text in shown.items() if text] == ["b", "c", "e"]


def test_the_verdict_is_one_line_and_fits_the_answer() -> None:
    """A tool list is told so; otherwise the band and the areas covered."""
    tools = grade(criterion("a", 1, 1.0), criterion("b", 0, 1.0), score=7, mistakes=("tool_list",))
    assert summarise(tools).verdict.startswith("A list of tools isn't an answer yet")
    solid = grade(criterion("a", 2, 1.0), criterion("b", 1, 1.0), criterion("c", 0, 1.0), score=65)
    assert summarise(solid).verdict == (
        "Solid: 2 of 3 areas covered - the two points below would lift it most."
    )
    complete = grade(criterion("a", 2, 1.0), criterion("b", 2, 1.0), score=100)
    assert summarise(complete).verdict.startswith("Complete")
    for g in (tools, solid, complete):
        assert "\n" not in summarise(g).verdict
