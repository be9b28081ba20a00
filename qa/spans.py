"""Candidate short answers: the names, amounts, dates and quoted titles inside candidate sentences, and their
features for the learned span model (qa.model)."""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.candidates import Candidate
from qa.question import Question
from qa.text import AMOUNT_LABELS, STOPWORDS

GROUPS = {
    "person": {"PERSON"}, "org": {"ORG"}, "place": {"GPE", "LOC", "FAC"}, "date": {"DATE", "TIME"},
    "amount": {"MONEY", "QUANTITY", "CARDINAL", "PERCENT", "ORDINAL"},
    "work": {"WORK_OF_ART", "PRODUCT", "EVENT", "LAW", "QUOTED"}, "name": {"NORP", "LANGUAGE", "NAME"},
}
# What a span is, where it sits and what it repeats of the question: known once its sentence is.
STATIC_FEATURES = ("type_match", "has_type", *(f"is_{g}" for g in GROUPS), "in_question", "near", "near_head", "words",
                   "sentence_start", "amount_x_digit", "headline")
# How good its sentence is and how many of the best sentences repeat it: known once sentences are scored.
DYNAMIC_FEATURES = ("sentence", "best_sentence", "sentence_rank", "support")
SPAN_FEATURES = STATIC_FEATURES + DYNAMIC_FEATURES
SUPPORT_OF = 5  # the best sentences in which a span's repetition is counted
_QUOTED = re.compile(r"[“\"]([^“”\"]{2,60})[”\"]")
_CAPITALISED_RUN = re.compile(r"(?<=[\w,;:)] )(?:[A-Z][\w'’.\-]*\s?){1,5}")
_WORD = re.compile(r"[\w'’]+")


@dataclass(frozen=True)
class Span:
    sentence: int  # index of its candidate sentence
    start: int  # in the sentence
    end: int
    text: str
    label: str  # spaCy's label, QUOTED (a quoted title) or NAME (a capitalised run spaCy missed)


def spans_of(index: int, sentence: str, entities: Sequence[tuple[int, int, str]]) -> list[Span]:
    """A sentence's candidate short answers: its entities, its quoted phrases of up to 8 words, and runs of
    capitalised words that no entity covers."""
    out: list[Span] = []
    taken: list[tuple[int, int]] = []
    for start, end, label in entities:
        text = sentence[start:end]
        lead = re.match(r"(?i)the\s+", text) if label not in GROUPS["amount"] | GROUPS["date"] else None
        if lead:
            start += lead.end()
        out.append(Span(index, start, end, sentence[start:end], label))
        taken.append((start, end))
    for match in _QUOTED.finditer(sentence):
        if len(match.group(1).split()) <= 8:
            out.append(Span(index, match.start(1), match.end(1), match.group(1), "QUOTED"))
    for match in _CAPITALISED_RUN.finditer(sentence):
        start, end = match.start(), match.end()
        text = sentence[start:end].rstrip(" .")
        end = start + len(text)
        if any(s < end and start < e for s, e in taken) or text.lower() in STOPWORDS or len(text) < 2:
            continue
        out.append(Span(index, start, end, text, "NAME"))
    return [s for s in out if s.text.strip()]


def _group(label: str) -> str | None:
    return next((g for g, labels in GROUPS.items() if label in labels), None)


def static_features(question: Question, span: Span, sentence: str, headline: bool) -> np.ndarray:
    """STATIC_FEATURES of a span in its sentence."""
    wanted = frozenset().union(*question.parts)
    asked = {w.lower() for w in _WORD.findall(question.text)}
    content = {w for w in asked if w not in STOPWORDS}
    words = [w.lower() for w in _WORD.findall(span.text)]
    # distance in words from the span to the nearest question word of its sentence
    tokens = [(m.start(), m.group().lower()) for m in _WORD.finditer(sentence)]
    starts = [s for s, _ in tokens]
    here = bisect.bisect_left(starts, span.start)
    near = [abs(bisect.bisect_left(starts, pos) - here) for pos, w in tokens
            if w in content and not (span.start <= pos < span.end)]
    heads = [abs(bisect.bisect_left(starts, pos) - here) for pos, w in tokens
             if question.head and w.startswith(question.head) and not (span.start <= pos < span.end)]
    group = _group(span.label)
    named = span.label in ("NAME", "QUOTED") and bool(wanted - AMOUNT_LABELS - {"DATE", "TIME"})
    return np.array([
        1.0 if span.label in wanted or named else 0.0,
        1.0 if wanted else 0.0,
        *[1.0 if group == g else 0.0 for g in GROUPS],
        sum(1 for w in words if w in asked) / max(1, len(words)),
        math.exp(-min(near) / 6) if near else 0.0,
        math.exp(-min(heads) / 3) if heads else 0.0,
        min(len(words), 10) / 5,
        1.0 if span.start < 3 else 0.0,
        (1.0 if re.search(r"\d", span.text) else 0.0) if wanted & AMOUNT_LABELS else 0.0,
        1.0 if headline else 0.0,
    ], dtype=np.float32)


def repeated_in(span: Span, sentences: Sequence[str]) -> list[int]:
    """Indices of the sentences that hold the span's text (case aside)."""
    needle = span.text.lower()
    return [i for i, s in enumerate(sentences) if needle in s.lower()]


def dynamic_features(sentence: int, repeats: Sequence[int], probability: Sequence[float]) -> np.ndarray:
    """DYNAMIC_FEATURES of a span in sentence (an index into probability, the sentence model's output), repeated
    in the sentences repeats."""
    order = sorted(range(len(probability)), key=lambda i: -probability[i])
    top = set(order[:SUPPORT_OF])
    return np.array([
        probability[sentence],
        1.0 if order and order[0] == sentence else 0.0,
        1.0 / (1 + order.index(sentence)),
        sum(1 for i in repeats if i in top) / max(1, min(SUPPORT_OF, len(order))),
    ], dtype=np.float32)


def span_features(question: Question, spans: Sequence[Span], candidates: Sequence[Candidate],
                  probability: Sequence[float]) -> np.ndarray:
    """One row of SPAN_FEATURES per span; Span.sentence and probability index candidates."""
    texts = [c.text for c in candidates]
    rows = [np.concatenate([static_features(question, s, texts[s.sentence], candidates[s.sentence].field == "title"),
                            dynamic_features(s.sentence, repeated_in(s, texts), probability)]) for s in spans]
    return np.stack(rows) if rows else np.zeros((0, len(SPAN_FEATURES)), dtype=np.float32)
