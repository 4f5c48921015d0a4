"""Is this answer in English? Grading is English-only for now.

Function words give a language away in a sentence or two, so this counts the most
common ones of English and of the languages people here are likeliest to answer in.
Technical words (model, pipeline, Kubernetes) are English in every language, so they
are not counted at all. Short replies are always taken as English: too little to judge.
"""

from __future__ import annotations

import re

MIN_WORDS = 12
SAMPLE_CHARS = 3000  # enough to tell; a 40,000-character answer need not be read whole
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

_ENGLISH = frozenset(
    """the a an and or but of to in on at for with from by is are was were be been it its this that
    these those we i you they he she our my your their not no do does did have has had will would
    can could should so if then than when what which who how because about into as also just""".split()
)
_OTHERS: dict[str, frozenset[str]] = {
    "Spanish": frozenset(
        """el la los las un una unos unas y o pero de del al en con por para es son fue ser está
        están que se lo le les su sus nuestro nuestra nosotros yo tú usted como cuando porque
        también muy más sin sobre entre hay cada este esta estos estas eso esa ese""".split()
    ),
    "Portuguese": frozenset(
        """o a os as um uma e ou mas de do da dos das em no na nos nas com por para é são foi ser
        está estão que se lhe seu sua nosso nossa nós eu você como quando porque também muito
        mais sem sobre entre há cada este esta isso essa esse""".split()
    ),
    "French": frozenset(
        """le la les un une des et ou mais de du au aux en dans avec par pour est sont était être
        que qui se ce cette ces son sa ses notre nous je vous il elle ils comme quand parce aussi
        très plus sans sur entre chaque on pas ne""".split()
    ),
    "German": frozenset(
        """der die das ein eine einen dem den des und oder aber von zu im in mit für ist sind war
        sein dass wir ich sie er es unser unsere wie wenn weil auch sehr mehr ohne über zwischen
        jede nicht kein keine wird werden auf""".split()
    ),
    "Italian": frozenset(
        """il lo la i gli le un una e o ma di del della in nel con per è sono era essere che si
        suo sua nostro nostra noi io tu come quando perché anche molto più senza sopra tra ogni
        questo questa non""".split()
    ),
}


def detect_other_language(text: str) -> str | None:
    """The language an answer is written in, if it is clearly not English; else None."""
    words = [w.lower() for w in _WORD.findall(text[:SAMPLE_CHARS])]
    if len(words) < MIN_WORDS:
        return None
    english = sum(w in _ENGLISH for w in words)
    best, best_count = None, 0
    for language, vocabulary in _OTHERS.items():
        count = sum(w in vocabulary for w in words)
        if count > best_count:
            best, best_count = language, count
    # Many languages share a few short words with English ("a", "in", "no"): the other
    # language must clearly outnumber English and be a real share of the text.
    if best is not None and best_count >= 0.2 * len(words) and best_count > 2 * english:
        return best
    return None
