"""Names as written in news text, reduced to the name itself: titles and roles before a person's name
("Deputy Mayor", "Gov.", "lead prosecutor"), possessives, leading articles.

General English word lists only: no outlet's or archive's names.
"""

from __future__ import annotations

import re

# Words that stand before a person's name as a title or role (lower case, without a final period).
TITLES = frozenset("""
mr mrs ms miss dr prof professor sec mp mep sir dame lord lady madam rev reverend father sister brother
president vice prime premier minister secretary chancellor governor gov lieutenant lt mayor deputy
senator sen representative rep congressman congresswoman councillor councilor councilman councilwoman alderman
speaker leader chairman chairwoman chair chief ceo cfo coo founder director commissioner ambassador envoy
attorney general gen judge justice magistrate prosecutor lawyer spokesman spokeswoman spokesperson
king queen prince princess emperor empress pope cardinal archbishop bishop sheikh crown
colonel col captain capt major maj sergeant sgt officer detective inspector constable admiral commander
coach manager correspondent reporter editor historian columnist anchor host
striker midfielder defender goalkeeper forward guard quarterback pitcher
former late acting interim incoming outgoing then lead top executive managing head
""".split())
_ARTICLES = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s?$")


def strip_possessive(name: str) -> str:
    """ "the Aldermark Centre Party's" -> "Aldermark Centre Party"."""
    name = _ARTICLES.sub("", " ".join(name.split()).strip(" ,.;:!?\"“”()[]"))
    if name.endswith(("'s", "’s")) or (name.endswith(("s'", "s’")) and len(name) > 3):
        name = _POSSESSIVE.sub("", name)
    return name.strip()


def strip_titles(name: str) -> str:
    """ "Deputy Mayor Matthias Kellerby" -> "Matthias Kellerby"; "Corvenna Mayor Elspeth Grainger" -> "Elspeth
    Grainger": what follows the last title word, when a capitalised name follows it."""
    tokens = name.split()
    last = -1
    for i, token in enumerate(tokens[:-1]):
        if token.lower().rstrip(".") in TITLES:
            last = i
    rest = tokens[last + 1:]
    if last >= 0 and rest and all(t[:1].isupper() for t in rest):
        return " ".join(rest)
    return name


def person_name(name: str) -> str:
    """A person's name as written, without article, possessive or title."""
    return strip_titles(strip_possessive(name))
