"""Features of candidate sentences, for the learned answer model (qa.model).

Every feature means the same on any archive: how much of the question a sentence says, whether it holds the kind
of thing asked for, what it adds, where its passage ranked, where it sits in its article, how old its article is.
None names an outlet, a phrase of one site, or a question.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from collections.abc import Sequence

import numpy as np

from corpus.entities import Entity
from qa.candidates import Candidate
from qa.question import Question
from qa.search import Hit
from qa.text import AMOUNT_LABELS, names, terms

SENTENCE_FEATURES = (
    "lexical", "lexical_context", "focus", "ask", "head", "type_match", "has_type", "adds_name", "adds_number",
    "novelty", "restates", "article_rank", "passage_score", "passage_cosine", "passage_bm25", "position", "lead",
    "headline", "further_passage", "length", "age", "undated", "quotation", "said_x_quotation", "amount_x_number",
)
# The question-sentence cosine of the shortlist is recorded for training (qa.train) but not a feature: measured
# cross-validated it added nothing (RealTime QA coverage 0.462 with it, 0.466 without; news-dev the same) and
# embedding six sentences cost ~85 ms of a ~140 ms answer.
SEMANTIC_FEATURES: tuple[str, ...] = ()
_SAID = re.compile(r"\b(say|said|says|tell|told|call(?:ed)?|describ\w+|den(?:y|ied|ies)|claim\w*|warn\w*|"
                   r"announc\w+|react\w*|respond\w*)\b", re.IGNORECASE)
_QUOTE = re.compile(r"[\"“”]")
_NUMBER = re.compile(r"\d+(?:[,.]\d+)*")
_DATE_WORD = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
                        r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|"
                        r"(?:19|20)\d\d)\b")
_DATE_LABELS = frozenset({"DATE", "TIME"})


class Words:
    """A sentence's term stems, matched exactly or by a shared prefix of 5+ letters ("direct" ~ "director")."""

    __slots__ = ("words", "ordered")

    def __init__(self, words: set[str] | list[str] | tuple[str, ...]) -> None:
        self.words = set(words)
        self.ordered = sorted(self.words)

    def __len__(self) -> int:
        return len(self.words)

    def __or__(self, other: Words) -> Words:
        return Words(self.words | other.words)

    def has(self, term: str) -> bool:
        if term in self.words:
            return True
        if len(term) < 5:
            return False
        i = bisect.bisect_left(self.ordered, term)  # words starting with term sort right after it
        if i < len(self.ordered) and self.ordered[i].startswith(term):
            return True
        return any(term[:n] in self.words for n in range(5, len(term)))


def labels_in(text: str, entities: Sequence[Entity], question: Question) -> set[str]:
    """Labels of the things a sentence names that the question does not: known entities of its article found in
    it, numbers and dates."""
    found = {e.label for e in entities if e.name in text and e.name.lower() not in question.names
             and e.name.lower() not in question.text.lower()}
    if set(_NUMBER.findall(text)) - question.numbers:
        found |= {"CARDINAL", "MONEY", "PERCENT", "QUANTITY"}
    if _DATE_WORD.search(text):
        found |= _DATE_LABELS
    return found


def _days(date: str | None, as_of: dt.date | None) -> float | None:
    if not date or as_of is None:
        return None
    try:
        return float((as_of - dt.date.fromisoformat(date[:10])).days)
    except ValueError:
        return None


def sentence_features(question: Question, candidates: Sequence[Candidate], hits: Sequence[Hit],
                      entities: dict[str, list[Entity]], as_of: dt.date | None) -> np.ndarray:
    """One row of SENTENCE_FEATURES per candidate."""
    out = np.zeros((len(candidates), len(SENTENCE_FEATURES)), dtype=np.float32)
    if not candidates:
        return out
    have = [Words(terms(c.text)) for c in candidates]
    # A question word in every candidate tells sentences apart less than one in a few: weight by rarity.
    weight = {t: math.log(1 + len(candidates) / (1 + sum(1 for h in have if h.has(t)))) for t in question.term_set}
    total = sum(weight.values()) or 1.0
    ask_total = sum(w for t, w in weight.items() if t in question.ask_terms) or 1.0
    asked = Words(question.terms)
    best_score = max((h.score for h in hits), default=0.0) or 1.0
    best_bm25 = max((h.bm25_score for h in hits), default=0.0) or 1.0
    titles: dict[str, Words] = {}
    said_question = bool(_SAID.search(question.focus))
    amount_question = bool(question.wanted & AMOUNT_LABELS)
    for i, (cand, words) in enumerate(zip(candidates, have, strict=True)):
        hit = cand.hit
        previous = have[i - 1] if i and candidates[i - 1].hit.article_id == hit.article_id else Words(())
        if hit.article_id not in titles:
            titles[hit.article_id] = Words(terms(hit.title or ""))
        context = previous | titles[hit.article_id]
        lexical = sum(w for t, w in weight.items() if words.has(t)) / total
        lexical_context = sum(w if words.has(t) else 0.5 * w if context.has(t) else 0.0
                              for t, w in weight.items()) / total
        focus = sum(1 for t in question.focus_terms if words.has(t)) / max(1, len(question.focus_terms))
        ask = sum(w for t, w in weight.items() if t in question.ask_terms and words.has(t)) / ask_total
        labels = labels_in(cand.text, entities.get(hit.article_id, []), question)
        new_names = names(" " + cand.text) - question.names - question.term_set
        new_numbers = set(_NUMBER.findall(cand.text)) - question.numbers
        novelty = sum(1 for w in words.words if not asked.has(w)) / max(1, len(words))
        days = _days(hit.date, as_of)
        quotation = 1.0 if _QUOTE.search(cand.text) else 0.0
        out[i] = (
            lexical, lexical_context, focus, ask, 1.0 if question.head and words.has(question.head) else 0.0,
            1.0 if question.wanted and labels & question.wanted else 0.0,
            1.0 if question.wanted else 0.0,
            1.0 if new_names else 0.0,
            1.0 if new_numbers else 0.0,
            novelty,
            1.0 if words and all(asked.has(w) for w in words.words) else 0.0,
            1.0 / (1 + cand.rank),
            hit.score / best_score,
            hit.dense_score,
            hit.bm25_score / best_bm25,
            math.exp(-cand.start / 1500) if cand.field == "text" else 1.0,
            1.0 if cand.field == "text" and cand.start < 400 else 0.0,
            1.0 if cand.field == "title" else 0.0,
            1.0 if cand.extra else 0.0,
            min(len(cand.text), 400) / 200,
            math.log1p(max(0.0, days)) / 5 if days is not None else 0.0,
            1.0 if days is None else 0.0,
            quotation,
            quotation if said_question else 0.0,
            (1.0 if new_numbers else 0.0) if amount_question else 0.0,
        )
    return out


def restating_headlines(x: np.ndarray) -> np.ndarray:
    """Which rows of SENTENCE_FEATURES are headlines with no word beyond the question's: such a headline only
    names the story the question already names, so it cannot hold the answer and is never quoted."""
    if not len(x):
        return np.zeros(0, dtype=bool)
    return (x[:, SENTENCE_FEATURES.index("headline")] > 0) & (x[:, SENTENCE_FEATURES.index("restates")] > 0)


def shortlist_of(logits: np.ndarray, x: np.ndarray, size: int) -> list[int]:
    """The size best candidates by logits, restating headlines left out."""
    excluded = restating_headlines(x)
    return [int(i) for i in np.argsort(-logits, kind="stable") if not excluded[i]][:size]


def semantic_features(cosines: np.ndarray) -> np.ndarray:
    """SEMANTIC_FEATURES of a shortlist from its question-sentence cosines (none at present)."""
    return np.zeros((len(cosines), len(SEMANTIC_FEATURES)), dtype=np.float32)
