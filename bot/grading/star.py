"""A STAR detector for the `story` criterion: situation, task, action, result.

Level 2 needs a concrete past situation (or task), something the speaker did,
and a result with an outcome. Level 1 is a concrete project or situation whose
story has no clear outcome, or something done and what came of it without the
setting. A hypothetical ("I would build …") or a process told in the present
("we deploy the model with Docker") is not a story.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.grading.text import Sentence

# The patterns below are only searched, never asked for their groups: every group is
# non-capturing (`(?:…)`), which makes the searches up to 40% faster.
# Irregular (and a few regular-looking) past forms people use when telling what they did.
_IRREGULAR = (
    r"built|rebuilt|wrote|rewrote|ran|reran|set up|setup|set|reset|put|made|took|got|had to|led|kept|"
    r"found|caught|chose|drove|spent|sent|brought|gave|saw|began|split|cut|broke|went|became|"
    r"did|won|told|held|sat|paid|lost|meant|met|sold|shut|stuck|threw|understood|dug|fed|"
    r"fought|hid|knew|left|rode|rose|fell|shot|spun|sped|swapped|took over|taught|tore|wound|"
    r"needed to|wanted to|was (?:responsible|asked|tasked|in charge|the owner|on the hook)"
)
# "we/I <past verb>" within two words ("we then quickly shipped", "I also added").
_MODAL = r"(?!would\b|will\b|could\b|should\b|might\b|can\b|may\b|must\b|wed\b|id\b|not\b)"
_ACTION = re.compile(
    r"\b(?:i|we|ive|weve|my team|our team|the team|me and \w+|\w+ and i"
    # An incident report names the speaker by role: "the release owner (me) switched".
    r"|(?:owner|lead|engineer|on-call|oncall|commander|responder) me)"
    rf"(?: {_MODAL}\w+)?(?: {_MODAL}\w+)? "
    rf"(?:{_IRREGULAR}|[a-z]{{2,}}(?<!need)ed)\b(?! not\b)"
)
_ACTION_WORD = re.compile(r"\baction\b")
_SITUATION = re.compile(
    r"\b(?:(?:at|in|during|on|for|with) (?:my|our|one)|(?:at|in|during) (?:a|an|the) (?:last|previous|former|current|"
    r"old|first|recent|past|prior)) (?:(?:last|previous|current|former|old|first|"
    r"recent|past|prior|early|big|small|large|fintech|retail|ecommerce|e-commerce|saas|healthcare|"
    r"insurance|logistics|gaming|media|adtech|payments|banking|telco|\w+ing) ){0,2}"
    r"(?:job|role|company|companies|team|employer|internship|intern|position|startup|start-up|"
    r"project|gig|org|organization|organisation|client|workplace|place|firm|bank|retailer|insurer|"
    r"scale-up|scaleup|capstone|thesis|hackathon|bootcamp|course|lab|contract|engagement|"
    r"side project|fintech|agency|consultancy|marketplace|platform team|data team)\b"
    r"|\bi was (?:the|a|an|one of|part of|on|in charge)\b|\b(?:our|my) (?:case|use case|project|product|team|"
    r"system|model|setup|pipeline|service|client|customer) (?:was|were|had|involved|needed|used)\b"
    r"|\b(?:for|with|on|in|from) (?:our|my) (?:\w+ ){0,3}(?:model|models|system|service|pipeline|product|"
    r"platform|app|team|emails|feed|widget|site|website|search|ranking|recommendations?|forecast|fraud|"
    r"churn|project|filter|classifier|predictor|scorer|router|detector|estimator|forecaster|assistant|"
    r"chatbot|bot|engine)\b|\bours (?:was|is) (?:a|an)\b"
    r"|\bwhen i (?:was|joined|worked|started|first)\b|\bsituation\b|\bbackground\b"
    r"|\bwe had (?:a|an|this|some|one|two|three|\d+|about|around|roughly|our)\b"
    r"|\bi (?:worked|was working) (?:on|at|with)\b|\bwe were (?:building|working|asked|seeing|running|"
    r"using|launching|replacing|migrating|trying)\b"
    r"|\blast (?:year|quarter|month|spring|summer|fall|autumn|winter|week|sprint)\b"
    r"|\b(?:a|one|two|three|few|couple of|\d+) (?:years|months|weeks) ago\b|\bback (?:in|when|at)\b"
    r"|\bin (?:19|20)\d\d\b|\bduring my\b|\bi was working\b|\bone time\b|\bonce,? (?:we|i) (?:had|were|was)\b"
    r"|\bour (?:client|customer|product)\b|\b(?:an|one|the|that) incident\b|\bincident (?:where|when)\b"
    r"|\b(?:concrete|real|recent|one) (?:case|example|story)\b|\bin practice\b.{0,30}\b(?:we|i) [a-z]+ed\b"
    r"|\b(?:my|our) (?:last|previous|current|former) (?:job|role|company|team|employer|project)\b"
    r"|\bpreviously at\b|\bbiggest lesson\b|\blesson (?:i|we) learned\b|\bthe time (?:we|i)\b"
    r"|\b(?:side|personal|pet|hobby|school|university|uni|class|kaggle|capstone|thesis|final year) "
    r"projects?\b|\b(?:we|i) (?:built|deployed|shipped|launched|replaced) (?:a|an|our|my)\b"
    # A system of one's own, named by what it does and who uses it ("we ship a wake-word
    # model to 2 m phones", "we do churn scoring for a telco"): a project, told in any tense.
    r"|\b(?:we|i|our team|my team) (?:\w+ )?(?:do|run|ship|serve|serves|own|maintain|operate|"
    r"deploy|built|trained|ran|shipped|served|deployed|launched|maintained|owned) "
    r"(?:a |an |our |the |\d\w* )?(?:(?!(?:a|an|the|our|my|new|ml|machine|trained|final|same|current|latest|"
    r"learning|production|this|that|it)\b)[\w-]+ ){1,3}(?:model|models|classifier|ranker|recommender|"
    r"scoring|forecasts?|forecaster|detector|assistant|chatbot|bot|llm) (?:[\w-]+ ){0,3}?"
    r"(?:for|to|at|across) (?:a|an|our|\d)\b"
    r"|\bour (?!current\b|whole\b|usual\b|own\b|ml\b|deployment\b|typical\b)[a-z]+ (?:setup|stack)\b"
    # "our click-through model for sponsored listings", "our shelf-image model (detects gaps)":
    # a model of one's own, named by its job and then said what it is for or does.
    r"|\b(?:our|my) (?:(?!(?:new|ml|machine|learning|trained|final|current|latest|production|next|"
    r"candidate|old|previous|first|whole|own)\b)[\w-]+ ){1,3}(?:model|classifier|ranker|recommender|"
    r"forecaster|detector|assistant|chatbot|scorer) (?:for|that|which|sits|runs|scores|predicts|tags|"
    r"detects|flags|ranks|decides|answers|drafts|reads|helps|is used)\b"
    # A config or README of one's own names what the system produces and for whom.
    r"|\b(?:scores|forecasts|predictions|recommendations|alerts|rankings) for (?:the|our) (?:[\w-]+ ){0,3}"
    r"(?:team|teams|list|system|app|dashboard|desk|nurses|agents|analysts|planners|backend)\b"
    r"|\b(?:dockerfile|config|readme|runbook|manifest|dag|service) for (?!(?:a|an|the|your|any|each|every)\b)"
    r"[\w]+(?:-[\w]+)+\b"
    # A release of one's own, named ("how txn-fraud v7 goes out", "how we're shipping the
    # ticket-triage model"), or a team described ("we're a small team, 3 DS and 1 MLE").
    r"|\b[a-z]+(?:-[a-z]+)+ v\d+\b|\bhow (?:we|were|do we|we are|i) (?:\w+ )?(?:deploy|ship|release|"
    r"roll out|deploying|shipping|releasing|rolling out) (?:the|our|my) [a-z]+-[a-z]+ (?:\w+ )?(?:model|"
    r"service|classifier|ranker|scorer|assistant|pipeline)\b|\b(?:ive|weve) (?:\w+ )?(?:built|deployed|"
    r"shipped|launched|run|trained|served) (?:a|an|our|my)\b|\bworked for us (?:shipping|deploying|running|"
    r"serving|with) (?:a|an|our)\b|\bwere a (?:\w+ ){0,2}(?:team|startup|shop|company|group)\b"
    r"|\b(?:our|my) [a-z]+-[a-z]+ (?:model|classifier|ranker|scorer|service) (?:has|had|is|was|needs|gets)\b"
    # The day it happened ("on 14 May the v3 model was released").
    r"|\bon (?:\d{1,2}(?:st|nd|rd|th)? )?(?:january|february|march|april|may|june|july|august|"
    r"september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"(?: \d{1,2}(?:st|nd|rd|th)?)?\b(?! (?:be|have|not)\b)"
    # … or the day of the week, in a write-up ("I promoted v5 on Monday", "Tue evening I
    # pushed v3.2"), and the write-up itself ("Incident recap: …").
    r"|\bon (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b(?! (?:mornings|nights))"
    r"|\b(?:shipped|released|deployed|pushed|launched|promoted|rolled out|went live) (?:on |last |that )?"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    r"|\b(?:mon|tue|tues|wed|thu|thurs|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday) (?:morning|afternoon|evening|night)\b"
    r"|\bincident (?:recap|report|review|summary|writeup|write up|postmortem)\b(?! template)"
)
_TASK = re.compile(
    r"\bmy (?:job|task|role|goal|responsibility|mandate|assignment|brief) was\b"
    r"|\bi was (?:responsible|asked|tasked|in charge|the owner|on the hook|brought in)\b"
    r"|\b(?:we|i) (?:needed|had|wanted|were asked|was asked) to\b|\bthe (?:goal|task|ask|challenge|"
    r"problem|brief) was\b|\btask\b|\b(?:they|the business|product|marketing|the team) (?:wanted|needed|asked)\b"
)
# Outcome phrases. Every one starts at a word boundary, so the boundary is checked once per
# position, ahead of the alternatives (three times faster than a `\b` in each of them);
# "20%" and "3x" do not start at one and have a pattern of their own.
_RESULT = re.compile(
    r"\b(?:as a result\b|result(?:ed|s)?\b|outcome\b|impact was\b"
    r"|(?:cut|reduced|improved|increased|saved|dropped|lowered|raised|boosted|prevented|caught|"
    r"halved|doubled|tripled|eliminated|shortened|sped up|recovered|stabilized|stabilised|"
    r"avoided|restored|grew|fell|rose|won|unblocked|freed|lifted|beat|outperformed|fixed|"
    r"went up|went down|came down|shrank|climbed|jumped|declined|decreased|removed|replaced|"
    r"retired|unlocked|enabled|allowed|hit|met|exceeded|surfaced|flagged|detected|spotted|"
    r"uncovered|revealed|showed|paid off)\b"
    r"|by (?:about |around |roughly |~)?\d+|from \d+[a-z ]{0,12}? to [a-z ]{0,10}\d+"
    r"|went from\b|in the end\b|ended up\b|by the end\b|eventually\b"
    r"|(?:the team|they|stakeholders|marketing|we|users|customers|planners|analysts|the business)"
    r" (?:could|were able|trusted|now|stopped|started|got)\b"
    r"|(?:no|zero) (?:more |further )?(?:incidents?|outages?|pages|complaints|repeats?)\b"
    r"|(?:fewer|less|more|faster|cheaper) (?:incidents?|outages?|pages|complaints|repeats?|rollbacks?|"
    r"issues|errors|false alarms|tickets|manual)\b|since then\b|afterwards?\b"
    r"|(?:lesson|learned|takeaway)\b|within (?:a|one|two|three|\d+) (?:day|week|hour|minute)s?\b"
    r"|(?:fewer|less|more|faster|cheaper|lower|higher) [a-z ]{0,20}than before\b"
    r"|(?:was|were) (?:well received|a success|adopted|rolled out|happy)\b"
    r"|(?:haven't|have not|hasn't|has not|never) (?:had|seen|happened)\b"
    r"|before (?:any|a single) (?:customer|user)\b|which (?:meant|saved|cut|caught|let)\b"
    # An incident report's outcome: the fix shipped again, and what the harm was.
    r"|re-?(?:released|shipped|launched|deployed)\b|no (?:\w+ )?harm\b"
    r"|(?:back to|again) normal\b|normal again\b"
    r"|impact (?:was|no|none|limited|minimal|small)\b)"
)
_RESULT_NUMBER = re.compile(r"\d+ ?(?:%|percent|x|times)\b")
# Words one of which each pattern needs: a cheap test that skips most sentences.
_SITUATION_WORDS = frozenset(
    """
    my our we i ive weve last ago back once incident case example story practice previously
    lesson time situation background projects project job role company team startup internship
    client employer org organization organisation firm bank retailer capstone thesis hackathon
    bootcamp course lab contract gig position workplace insurer platform agency consultancy
    intern during when concrete real recent biggest side ours place scores forecasts predictions
    recommendations alerts rankings dockerfile config readme runbook manifest dag service how
    were worked
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday mon tue tues wed thu thurs fri sat sun
    """.split()
) | {str(year) for year in range(1990, 2040)}
_TASK_WORDS = frozenset(
    """
    task goal ask challenge problem brief responsible asked tasked charge owner hook brought
    needed had wanted job role responsibility mandate assignment were was
    """.split()
)
_ACTION_SUBJECTS = frozenset("i we ive weve team me action".split())
# Spoken-form "I'd"/"we'd" are "id"/"wed" once apostrophes are gone.
_HYPOTHETICAL = re.compile(
    r"^\s*(?:(?:i|we) (?:would|will|might|could|should)|id|wed)\b|\bif i were\b"
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
        if self.situation is not None or (self.action is not None and self.result is not None):
            return 1
        return 0

    @property
    def evidence(self) -> int | None:
        if self.level == 2:
            return self.result
        if self.situation is not None:
            return self.situation
        return self.action


def is_story_opening(sentence: Sentence) -> bool:
    """Whether a sentence sets a scene from experience ("At my last job we …")."""
    return _is_situation(sentence)


def _is_situation(s: Sentence) -> bool:
    return not _SITUATION_WORDS.isdisjoint(s.tokens) and bool(_SITUATION.search(s.norm))


def _is_task(s: Sentence) -> bool:
    return not _TASK_WORDS.isdisjoint(s.tokens) and bool(_TASK.search(s.norm))


def _is_action(s: Sentence) -> bool:
    if _ACTION_SUBJECTS.isdisjoint(s.tokens) or _HYPOTHETICAL.search(s.norm):
        return False
    return bool(_ACTION.search(s.norm) or _ACTION_WORD.search(s.norm))


def find_star(sentences: Sequence[Sentence]) -> StarParts:
    situation = next((s.index for s in sentences if _is_situation(s)), None)
    task = next((s.index for s in sentences if _is_task(s)), None)
    action = next((s.index for s in sentences if _is_action(s)), None)
    # A result follows the action; an outcome stated before anything was done is not one.
    # The clearest outcome is quoted: one that says what changed and by how much ("waste fell
    # 11%") before one that only names a number ("traffic is 5 times higher at lunch").
    result = None
    best = 0
    if action is not None:
        for s in sentences:
            if s.index < action:
                continue
            text = s.norm
            if s.index == action:
                # "I added a canary, which cut incidents by half": result after the action.
                m = _ACTION.search(text) or _ACTION_WORD.search(text)
                text = text[m.end() :] if m else text
            strength = 2 * bool(_RESULT.search(text)) + bool(_RESULT_NUMBER.search(text))
            if strength > best:
                result, best = s.index, strength
    return StarParts(situation, task, action, result)
