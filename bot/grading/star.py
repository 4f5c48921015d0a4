"""A STAR detector for the `story` criterion: situation, task, action, result.

Level 2 needs a concrete past situation (or task), something the speaker did,
and a result with an outcome; level 1 is a concrete example missing its result.
A hypothetical ("I would build …") is not a story.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.grading.text import Sentence

_PAST_VERBS = (
    r"built|added|set up|setup|packaged|wrapped|deployed|wrote|created|introduced|moved|"
    r"containerized|containerised|dockerized|ran|configured|designed|implemented|led|migrated|"
    r"rolled|shipped|used|chose|decided|put|started|pinned|versioned|automated|replaced|"
    r"switched|fixed|investigated|traced|found|noticed|caught|reverted|retrained|exposed|"
    r"served|scheduled|validated|monitored|tracked|compared|split|launched|released|owned|"
    r"drove|convinced|worked|partnered|refactored|debugged|owned|proposed|pushed|wired|"
    r"turned|kept|made|took|got|had to|needed to|realized|discovered|learned|spent|paired|"
    r"helped|trained|tested|benchmarked|canaried|shadowed|promoted|froze|stored|logged"
)

_SITUATION = re.compile(
    r"\b(at|in|on) (my|our|a) (last|previous|current|former|old|first|recent)?\s?"
    r"(job|role|company|team|employer|internship|position|startup|project|gig|org)\b"
    r"|\bwhen i (was|joined|worked)\b|\bsituation\b|\bwe had (a|an|this|some)\b"
    r"|\bi worked on\b|\bwe were (building|working|asked|seeing|running|using|launching)\b"
    r"|\blast (year|quarter|month|spring|summer|fall|autumn|winter)\b|\bfor (example|instance)\b"
    r"|\bin (19|20)\d\d\b|\bduring my\b|\bi was working\b|\bonce\b.{0,40}\b(we|i)\b"
    r"|\bat (a|an) \w+ (company|startup|bank|retailer|firm|shop)\b|\bour (client|customer|product)\b"
)
_TASK = re.compile(
    r"\bmy (job|task|role|goal|responsibility|mandate|assignment) was\b"
    r"|\bi was (responsible|asked|tasked|in charge|the owner|on the hook)\b"
    r"|\b(we|i) (needed|had|wanted) to\b|\bthe (goal|task|ask|challenge|problem) was\b|\btask\b"
)
_ACTION = re.compile(
    rf"\b(i|we)( (then|also|first|quickly|eventually|finally))? ({_PAST_VERBS})\b|\baction\b"
)
_RESULT = re.compile(
    r"\bas a result\b|\bresult(ed|s)?\b|\boutcome\b"
    r"|\b(cut|reduced|improved|increased|saved|dropped|lowered|raised|boosted|prevented|caught|"
    r"halved|doubled|tripled|eliminated|shortened|sped up|recovered|stabilized|stabilised|"
    r"avoided|restored|grew|fell|rose|won|unblocked|freed)\b"
    r"|\d+ ?(%|percent|x)\b|\bwent from\b|\bin the end\b|\bended up\b"
    r"|\b(the team|they|stakeholders|marketing|we) (could|were able|trusted|now)\b"
    r"|\bno (more )?(incidents|outages|pages|complaints)\b|\bsince then\b|\bafterwards?\b"
    r"|\b(lesson|learned|takeaway)\b|\bwithin (a|one|two|three|\d+) (day|week|hour|minute)s?\b"
)


@dataclass(frozen=True)
class StarParts:
    situation: int | None
    task: int | None
    action: int | None
    result: int | None

    @property
    def level(self) -> int:
        context = self.situation is not None or self.task is not None
        if context and self.action is not None and self.result is not None:
            return 2
        if self.situation is not None or self.action is not None:
            return 1
        return 0

    @property
    def evidence(self) -> int | None:
        if self.level == 2:
            return self.result
        return self.situation if self.situation is not None else self.action


def find_star(sentences: Sequence[Sentence]) -> StarParts:
    def first(pattern: re.Pattern[str], after: int = -1) -> int | None:
        for s in sentences:
            if s.index > after and pattern.search(s.norm):
                return s.index
        return None

    situation = first(_SITUATION)
    task = first(_TASK)
    action = first(_ACTION)
    # A result follows the action; an outcome stated before anything was done is not one.
    result = first(_RESULT, after=action) if action is not None else None
    if result is None and action is not None:
        # "I added a canary, which cut incidents by half": action and result in one sentence.
        same = next((s for s in sentences if s.index == action), None)
        if same is not None and _RESULT.search(same.norm[_ACTION.search(same.norm).end() :]):  # type: ignore[union-attr]
            result = action
    return StarParts(situation, task, action, result)
