"""Labelled answers with evidence -> claim rows for corpus/claims (the asserted claims of
non-adversarial answers: a claim that overlaps an evidence quote supports that criterion,
at level 2 when the answer is at 2 and that quote alone earns it; other claims support
nothing). Made corpus/claims/labelled-answers.jsonl:

    .venv/bin/python corpus/answers/convert.py corpus/claims/labelled-answers.jsonl \
        tests/heldout corpus/answers/dev tests/heldout2 tests/heldout3 corpus/answers/writers4
"""
import json, re, sys, glob
import yaml
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from bot.grading.claims import join_wrapped_lines, read_config_lines, split_clauses

def words(t): return re.findall(r"[a-z0-9]+", t.lower())

def units(answer):
    text = split_clauses(read_config_lines(join_wrapped_lines(answer)))
    out = []
    for line in text.split("\n"):
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        if not line: continue
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", line):
            if len(words(s)) >= 3: out.append(s.strip())
    return out

def overlap(unit, quote):
    u, q = set(words(unit)), set(words(quote))
    if not u or not q: return 0.0
    return len(u & q) / min(len(u), len(q))

rows = []
for d in sys.argv[2:]:
    for f in sorted(glob.glob(f"{d}/*.yaml")):
        for a in yaml.safe_load(open(f)):
            # An adversarial answer credited nothing is off-topic throughout: stories that borrow
            # the words, tick lists, notes to the grader. A competent answer without evidence
            # labels cannot say which of its claims earn what.
            if a["voice"] == "adversarial":
                if not any(a["levels"].values()):
                    rows += [{"q": f.split("/")[-1][:-5], "text": u, "mode": "offtopic",
                              "criteria": {}, "mistakes": [], "domain": "generic",
                              "style": "adversarial-answer"} for u in units(a["answer"])]
                continue
            if not a.get("evidence") and a["score"] >= 40:
                continue
            ev = a.get("evidence") or {}
            for u in units(a["answer"]):
                crit = {}
                for c, quotes in ev.items():
                    hits = [q for q in quotes if overlap(u, q) >= 0.7]
                    if hits:
                        lvl = a["levels"][c]
                        crit[c] = 2 if (lvl == 2 and len(quotes) == 1) else 1
                rows.append({"q": f.split("/")[-1][:-5], "text": u, "mode": "asserted",
                             "criteria": dict(sorted(crit.items())), "mistakes": [],
                             "domain": "generic", "style": "labelled-answer"})
with open(sys.argv[1], "w") as out:
    for r in rows: out.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(rows), sum(1 for r in rows if r["criteria"]))
