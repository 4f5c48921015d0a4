"""A grade as plain text, for the terminal (`deploy-drill grade`)."""

from __future__ import annotations

import textwrap

from bot.grading.grade import Grade
from bot.questions import Question


def render_text(question: Question, grade: Grade) -> str:
    lines = [
        f"{question.title}",
        f"Score {grade.score}/100 ({grade.band}) - graded by {grade.grader}"
        + (f" for a {grade.seniority} level" if grade.seniority else ""),
        f"{grade.length.words} words, about {grade.length.spoken_seconds} s spoken",
        "",
        "Criteria:",
    ]
    for c in grade.criteria:
        lines.append(f"  [{c.level}/{c.max_level}] {c.name}")
        if c.evidence:
            lines.append(f'        "{c.evidence}"')
        if c.level < c.max_level:
            lines.append(f"        tip: {c.tip}")
    if grade.mistakes:
        lines += ["", "Common mistakes:"]
        for m in grade.mistakes:
            lines.append(f"  - {m.name}" + (f': "{m.evidence}"' if m.evidence else ""))
            lines.append(f"        fix: {m.fix}")
    remarks = list(grade.notes) + ([f"Length: {grade.length.note}."] if grade.length.note else [])
    if remarks:
        lines += ["", *remarks]
    lines += ["", "Model 30-second answer:"]
    lines += textwrap.wrap(
        " ".join(grade.model_answer_30s.split()), 88, initial_indent="  ", subsequent_indent="  "
    )
    return "\n".join(lines)
