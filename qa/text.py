"""Word-level helpers shared by sentence scoring: terms, stopwords, answer types."""

from __future__ import annotations

import re

from corpus.sentences import split_sentences

STOPWORDS = frozenset("""
a an the and or but if of at by for with about against between into through during before after above below
to from up down in out on off over under again further then once here there when where why how all any both
each few more most other some such no nor not only own same so than too very s t can will just don should now
is are was were be been being have has had having do does did doing i me my we our you your he him his she her
it its they them their what which who whom this that these those am would could also said says say tell told
recently latest new news week year month day today last ago did does according many much
""".split())
# Capitalised but not names: a question saying "in December" is still about what the archive knows.
CALENDAR_WORDS = frozenset("january february march april may june july august september october november "
                           "december monday tuesday wednesday thursday friday saturday sunday".split())
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_SUFFIXES = ("ing", "ed", "es", "s")


def stem(word: str) -> str:
    word = word.lower().strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Content-word stems of text, in order."""
    return [stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 1]


def _sentences(text: str) -> list[str]:
    """text's sentences, not broken after an initial or abbreviation ("J. K. Rowling", "the U.S. Open",
    "Roe v. Wade"): a question cut there loses its question word ("Rowling get in a Twitter row with?")."""
    text = text.strip()
    return [text[s:e] for s, e in split_sentences(text)]


def focus_sentence(question: str) -> str:
    """The asking sentence of a question that first gives background; the whole question otherwise."""
    sentences = _sentences(question)
    if len(sentences) < 2:
        return question
    asking = [s for s in sentences if s.endswith("?")]
    return asking[-1] if asking else sentences[-1]


def names(text: str) -> set[str]:
    """Lower-cased capitalised words that do not start a sentence: a cheap stand-in for named entities."""
    out = set()
    for sentence in _sentences(text):
        for word in _WORD.findall(sentence)[1:]:
            if word[0].isupper():
                out.add(re.sub(r"['’]s$", "", word).lower())
    return out


_WHO = re.compile(r"^\s*(?:\w+\s+)?(who|whom|whose|which \w+|what(?:'s| is| was)? the name)\b", re.IGNORECASE)
_WHEN = re.compile(r"^\s*(when|what (day|date|month|year|time))\b", re.IGNORECASE)
_HOW_MUCH = re.compile(r"\bhow (much|many|long|far|big|large|high|old)\b|\bwhat (percent|percentage|amount|"
                       r"number|share|rate|price|sum)\b", re.IGNORECASE)
_WHERE = re.compile(r"^\s*where\b|\bwhich (city|town|country|place|region|port|state)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|"
                     r"billion|dozen)\b", re.IGNORECASE)
_NUMBER_TOKEN = re.compile(r"\d[\d,.\-]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|"
                           r"thousand|million|billion|dozen)\b", re.IGNORECASE)
_DATE = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|"
                   r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|\d{4}|yesterday|"
                   r"today|tomorrow|last (week|month|year))\b", re.IGNORECASE)


_PERSON, _ORG, _PLACE = {"PERSON", "NORP"}, {"ORG"}, {"GPE", "LOC", "FAC"}
_WORK, _TIME = {"WORK_OF_ART", "ORG", "PRODUCT"}, {"DATE", "TIME"}
_AMOUNT = {"MONEY", "QUANTITY", "CARDINAL", "PERCENT"}
AMOUNT_LABELS = frozenset(_AMOUNT)  # what answers "how much" or "how many"
WANTED_LABELS = (
    (re.compile(r"\bhow (much|many)\b|\bwhat (percent|percentage|amount|number|share|rate|price|sum)\b", re.I),
     _AMOUNT),
    (re.compile(r"^\s*(?:\w+\s+)?(when|what (day|date|month|year|time))\b", re.I), _TIME),
    (re.compile(r"^\s*where\b|\bwhich (city|town|country|place|region|state|nation)\b", re.I), _PLACE),
    (re.compile(r"^\s*(?:\w+\s+)?(who|whom|whose)\b", re.I), _PERSON | _ORG),
    (re.compile(r"\bwhich (company|firm|organi[sz]ation|group|team|club|party|agency|bank)\b", re.I), _ORG),
)
# The noun after "which"/"what" says what kind of thing is asked for ("which major airline" -> an organisation).
# spaCy's labels, by the nouns that ask for them.
_HEAD_NOUNS: dict[str, set[str]] = {word: labels for words, labels in (
    ("person man woman singer actor actress rapper star player athlete president leader minister politician senator "
     "governor lawmaker judge ceo founder billionaire musician artist author writer comedian host celebrity candidate "
     "official head member king queen prince princess pope coach director journalist anchor legend icon "
     "designer", _PERSON),
    ("company firm airline automaker carmaker retailer brand network bank agency organization organisation group "
     "team club party university college school league union chain restaurant corporation manufacturer startup "
     "platform app outlet newspaper magazine studio label", _ORG),
    ("country nation state city town island region continent province county capital territory area place port "
     "park location border village neighborhood", _PLACE),
    ("show movie film series song album book novel play musical documentary sitcom drama game franchise award "
     "awards", _WORK),
    ("product device phone car vehicle model drug vaccine", {"PRODUCT", "ORG"}),
    ("event festival tournament championship race storm hurricane war", {"EVENT"}),
    ("law bill act", {"LAW"}),
    ("language", {"LANGUAGE", "NORP"}),
    ("year month day date decade", _TIME),
    ("percent percentage amount number price sum figure total magnitude age temperature", _AMOUNT),
) for word in words.split()}
# "which" reaches its noun across two modifiers ("which wildly popular show", "which British pop star") but not past
# a verb or preposition ("which measure did lawmakers leave out", "what animal over 600 years ago")
_PHRASE_END = frozenset("""is are was were be been did does do has have had will would can could may might should
in on at over by for to from with into about after before since during than as owned""".split())
_WH_NOUN = re.compile(r"\b(?:which|what)\s+((?:[\w.\-]+\s+){0,4}[\w.\-]+)", re.IGNORECASE)


def wanted_labels(question: str) -> set[str]:
    """Entity labels that would answer the question: who -> PERSON/ORG, where -> GPE/LOC, "which airline" -> ORG.

    Quiz questions often give background first ("... died this week. Who was ...?"): the asking sentence decides."""
    asking = focus_sentence(question)
    for pattern, labels in WANTED_LABELS:
        if pattern.search(asking):
            return labels
    if re.search(r"\b(who|whom|whose)\b", asking, re.IGNORECASE):
        return _PERSON | _ORG
    if re.search(r"\bwhere\b", asking, re.IGNORECASE):
        return _PLACE
    if re.search(r"\bwhen\b", asking, re.IGNORECASE):
        return _TIME
    if re.search(r"\bhow (long|old|soon)\b", asking, re.IGNORECASE):
        return _TIME | _AMOUNT
    for match in _WH_NOUN.finditer(asking):
        words = match.group(1).split()
        if words[0].lower() == "of":  # "which of these shows"
            words = words[2:]
        for word in words[:3]:
            key = word.lower().strip(".,?:")
            labels = _HEAD_NOUNS.get(key) or (_HEAD_NOUNS.get(key[:-1]) if key.endswith("s") else None)
            if labels:
                return labels
            if key in _PHRASE_END:
                break
    if re.search(r"\btitled:?\s*$|\bwhat is it (?:called|titled)\b", asking, re.IGNORECASE):
        return _WORK
    return set()


def answer_type_match(question: str, sentence: str, labels: set[str] | None = None) -> float:
    """1.0 when the sentence holds the kind of thing the question asks for, 0.0 when it clearly does not.

    labels: entity labels known to occur in the sentence (from ingest-time NER), if any."""
    wanted = wanted_labels(question)
    if labels and wanted:
        return 1.0 if labels & wanted else 0.2
    if _HOW_MUCH.search(question):
        asked = set(_NUMBER_TOKEN.findall(question))
        return 1.0 if set(_NUMBER_TOKEN.findall(sentence)) - asked else 0.0
    if _WHEN.search(question):
        return 1.0 if _DATE.search(sentence) else 0.0
    if _WHO.search(question) or _WHERE.search(question):
        new_names = names(" " + sentence) - {t for t in terms(question)} - names(" " + question)
        return 1.0 if new_names else 0.3
    return 0.5

