"""Follow-up questions: "What did he deny?" after a question about a person is asked about that person.

Pronouns are resolved to the most recent fitting actor of the earlier turns (people for he/she, organisations
and places for it/its, either for they); a follow-up without any name of its own ("And in 2023?") borrows the
names of the previous question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.text import CALENDAR_WORDS, names

PERSONAL = {"he": "PERSON", "him": "PERSON", "his": "PERSON", "she": "PERSON", "her": "PERSON", "hers": "PERSON"}
IMPERSONAL = {"it": "THING", "its": "THING", "they": "ANY", "them": "ANY", "their": "ANY"}
_PRONOUN = re.compile(r"\b(" + "|".join(list(PERSONAL) + list(IMPERSONAL)) + r")\b", re.IGNORECASE)
THING_LABELS = {"ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "NORP", "WORK_OF_ART", "LAW"}


TypeOf = Callable[[str], str | None]


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


def _actors(text: str, type_of: TypeOf | None = None) -> list[tuple[str, str]]:
    """(name, label) of the people, organisations and places in text, in order of appearance; with type_of, an
    actor the archive knows gets the type its mentions across articles give it (the small model calls cities
    and companies people in a single sentence)."""
    from corpus.entities import entity_spans
    from corpus.names import strip_possessive

    clean = re.sub(r"\[\d+\]", "", text)[:2000]
    out = []
    for start, end, label in entity_spans([clean])[0]:
        name = strip_possessive(clean[start:end].strip())
        known = type_of(name) if type_of is not None and name else None
        label = known or label
        if name and (label == "PERSON" or label in THING_LABELS):
            out.append((name, label))
    return out


def resolve(question: str, history: Sequence[Turn], type_of: TypeOf | None = None) -> str:
    """The question with pronouns replaced by the actors they refer to in the history (unchanged without one).
    type_of: the archive's type of an actor's name (index.actor_reader.ActorIndex.type_of), when known."""
    if not history:
        return question
    earlier_users = [t.content for t in history if t.role == "user"]
    # The user's own questions name the subject of the conversation; answers name many side actors (and the
    # small NER model labels them less reliably), so they are only a fallback. Later turns come first.
    turns = list(history[-6:])
    ordered = [t for t in reversed(turns) if t.role == "user"] + [t for t in reversed(turns) if t.role != "user"]
    candidates = [actors[::-1] for actors in (_actors(t.content, type_of) for t in ordered)]

    def pick(kind: str) -> str | None:
        for actors in candidates:
            for name, label in actors:
                if kind == "PERSON" and label == "PERSON":
                    return name
                if kind == "THING" and label in THING_LABELS:
                    return name
                if kind == "ANY":
                    return name
        return None

    def replace(match: re.Match[str]) -> str:
        word = match.group(1).lower()
        kind = PERSONAL.get(word) or IMPERSONAL[word]
        name = pick(kind)
        if name is None:
            return match.group(0)
        possessive = word in ("his", "its", "their", "hers") or (word == "her" and _is_possessive(match))
        return f"{name}'s" if possessive else name

    resolved = _PRONOUN.sub(replace, question)
    if resolved == question and not names(" " + question) - CALENDAR_WORDS and earlier_users:
        # elliptical follow-up ("And the year before?"): carry the previous question's subject along
        subject = ", ".join(name for name, _ in _actors(earlier_users[-1], type_of))
        if subject:
            resolved = f"{question} ({subject})"
    return resolved


def _is_possessive(match: re.Match[str]) -> bool:
    after = match.string[match.end():].lstrip()
    next_word = re.match(r"[A-Za-z]+", after)
    # "her lawyer" is possessive, "told her" / "her." is not
    return bool(next_word) and next_word.group(0).lower() not in {"to", "that", "in", "on", "at", "for", "and",
                                                                  "with", "about", "from", "as", "by"}
