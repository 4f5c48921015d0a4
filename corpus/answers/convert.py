"""Labelled answers with evidence -> claim rows for corpus/claims (the asserted claims of
non-adversarial answers: a claim that overlaps an evidence quote supports that criterion,
at level 2 when the answer is at 2 and that quote alone earns it; other claims support
nothing). Made corpus/claims/labelled-answers.jsonl:

    .venv/bin/python corpus/answers/convert.py corpus/claims/labelled-answers.jsonl \
        tests/heldout corpus/answers/dev tests/heldout2 tests/heldout3 corpus/answers/writers4 \
        tests/heldout4 corpus/answers/writers5

With --every-quote, each quote of a criterion labelled 2 is a level-2 claim, not only a
lone quote: blind labellers quote one or two sentences for a level they give, and reading
the second as "not level 2" taught the models that full answers rarely meet it; and a
sentence quoted both for a step of the process and for the story earns the step only. Made
corpus/claims/blind-sets.jsonl from the blind sets read so far:

    .venv/bin/python corpus/answers/convert.py corpus/claims/blind-sets.jsonl --every-quote \
        tests/heldout5 ... tests/heldout22 tests/web1 ... tests/web6
"""
import argparse
import glob
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bot.grading.claims import join_wrapped_lines, read_config_lines, split_clauses

QUOTE_OVERLAP = 0.7  # share of the shorter one's words a claim and an evidence quote share


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def units(answer: str) -> list[str]:
    text = split_clauses(read_config_lines(join_wrapped_lines(answer)))
    out = []
    for line in text.split("\n"):
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", line) if line else ():
            if len(words(s)) >= 3:
                out.append(s.strip())
    return out


def overlap(unit: str, quote: str) -> float:
    u, q = set(words(unit)), set(words(quote))
    return len(u & q) / min(len(u), len(q)) if u and q else 0.0


def row(question: str, text: str, mode: str, criteria: dict[str, int], style: str) -> dict[str, Any]:
    return {"q": question, "text": text, "mode": mode, "criteria": criteria, "mistakes": [],
            "domain": "generic", "style": style}


def claims_of(
    question: str, answer: dict[str, Any], every_quote: bool = False
) -> list[dict[str, Any]]:
    # An adversarial answer credited nothing is off topic throughout: stories that borrow the
    # words, tick lists, notes to the grader. A competent answer without evidence labels
    # cannot say which of its claims earn what.
    if answer["voice"] == "adversarial":
        if any(answer["levels"].values()):
            return []
        return [row(question, u, "offtopic", {}, "adversarial-answer") for u in units(answer["answer"])]
    evidence = answer.get("evidence") or {}
    if not evidence and answer["score"] >= 40:
        return []
    out = []
    for u in units(answer["answer"]):
        credited = {}
        for cid, quotes in evidence.items():
            if any(overlap(u, q) >= QUOTE_OVERLAP for q in quotes):
                level = answer["levels"][cid]
                credited[cid] = 2 if level == 2 and (every_quote or len(quotes) == 1) else 1
        if every_quote and len(credited) > 1:
            # A step of the process quoted for the story too ("then a week in shadow") earns
            # the step; the story is the narrative around it, which one sentence cannot show.
            credited.pop("story", None)
        out.append(row(question, u, "asserted", dict(sorted(credited.items())), "labelled-answer"))
    return out


def main(target: str, directories: list[str], every_quote: bool) -> None:
    rows = []
    for directory in directories:
        for path in sorted(glob.glob(f"{directory}/*.yaml")):
            question = Path(path).stem
            for answer in yaml.safe_load(Path(path).read_text(encoding="utf-8")):
                rows += claims_of(question, answer, every_quote)
    with open(target, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(len(rows), sum(1 for r in rows if r["criteria"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target")
    parser.add_argument("directories", nargs="+")
    parser.add_argument("--every-quote", action="store_true")
    args = parser.parse_args()
    main(args.target, args.directories, args.every_quote)
