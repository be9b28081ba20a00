"""A question, read once: its terms, names, numbers, asking sentence and the kind of answer it wants.

Search and every stage of the answer share this one object instead of re-deriving these from the raw string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text import AMOUNT_LABELS, CALENDAR_WORDS, focus_sentence, names, terms, wanted_labels

_NUMBER = re.compile(r"\d+(?:[,.]\d+)*")
# A second thing asked in the same sentence: "Who won the election, and with what share of the vote?"
_SECOND_ASK = re.compile(r",?\s+and\s+(?=(?:with\s+|by\s+|in\s+|at\s+|for\s+)?(?:what|which|how|who|whom|when|where)"
                         r"\b)", re.IGNORECASE)
QTYPES = ("who", "where", "when", "amount", "thing", "other")
_WH = re.compile(r"\b(?:who|whom|whose|what|which|where|when|how)\b", re.IGNORECASE)
# the noun a which/what question asks about: "which Babyshambles guitarist" -> guitarist, "to what level" -> level
_HEAD = re.compile(r"\b(?:[Ww]hich|[Ww]hat|[Hh]ow (?:much|many))\s+((?:[\w'’\-]+\s+){0,2}?)([a-z][\w\-]*)\b"
                   r"(?=\s+(?:is|are|was|were|did|does|do|"
                   r"has|have|had|will|would|can|could|of|in|on|at|for|to|from|by|with|that|[a-z]+ed|[a-z]+s)\b)")


@dataclass(frozen=True)
class Question:
    text: str
    focus: str  # the asking sentence ("... died this week. Who was she?" -> "Who was she?")
    terms: tuple[str, ...]  # content-word stems, in order
    focus_terms: frozenset[str]
    names: frozenset[str]  # lower-cased capitalised words (not sentence-initial, not calendar words)
    numbers: frozenset[str]
    wanted: frozenset[str]  # spaCy labels that would answer it (empty: any)
    parts: tuple[frozenset[str], ...]  # the labels wanted by each thing asked ("who ..., and with what share?")
    ask_terms: frozenset[str] = frozenset()  # terms from the last question word on: what is asked, not the setting
    head: str | None = None  # the stem of the noun a which/what question asks for ("which guitarist")

    @classmethod
    def parse(cls, text: str) -> Question:
        text = " ".join(text.split())
        focus = focus_sentence(text)
        pieces = _SECOND_ASK.split(focus)
        parts: list[frozenset[str]] = []
        for piece in pieces if len(pieces) > 1 else []:
            labels = frozenset(wanted_labels(piece if piece.rstrip().endswith("?") else piece + "?"))
            if labels and labels not in parts:
                parts.append(labels)
        wanted = frozenset(wanted_labels(text))
        if wanted and wanted not in parts:
            parts.insert(0, wanted)
        wh = list(_WH.finditer(focus))
        ask = focus[wh[-1].start():] if wh else focus
        head = _HEAD.search(focus)
        head_terms = terms(head.group(2)) if head else []
        return cls(text=text, focus=focus, terms=tuple(terms(text)), focus_terms=frozenset(terms(focus)),
                   names=frozenset(names(" " + text) - CALENDAR_WORDS), numbers=frozenset(_NUMBER.findall(text)),
                   wanted=wanted, parts=tuple(parts) or (frozenset(),), ask_terms=frozenset(terms(ask)),
                   head=head_terms[0] if head_terms else None)

    @property
    def term_set(self) -> frozenset[str]:
        return frozenset(self.terms)

    @property
    def qtype(self) -> str:
        """A coarse kind of question, for features: who / where / when / amount / thing / other."""
        labels = self.wanted
        if not labels:
            return "other"
        if labels & AMOUNT_LABELS and not labels & {"PERSON", "GPE"}:
            return "amount"
        if "PERSON" in labels:
            return "who"
        if "GPE" in labels:
            return "where"
        if "DATE" in labels:
            return "when"
        return "thing"
