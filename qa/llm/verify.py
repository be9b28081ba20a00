"""Every generated sentence checked against the passages it cites, before anyone sees it.

A sentence stays when (1) it cites passages that were given, (2) its numbers, month and weekday names and
names of people, organisations and places all occur in those passages (normalised: case, thousands
separators, number words, possessives), and (3) one sentence of those passages supports it: the best-matching
one by support score = (cosine of the two MiniLM vectors + share of the claim's content terms found in it) / 2,
at least VerifyParams.threshold (calibrated on the demo archive by bench/calibrate_verify.py; see
docs/decisions.md). The supporting sentence becomes its citation, quoted exactly with its offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from corpus.entities import entity_spans
from corpus.sentences import split_sentences
from index.embed import Embedder
from qa.llm.context import Passage
from qa.text import CALENDAR_WORDS, STOPWORDS, names, terms


@dataclass(frozen=True)
class VerifyParams:
    threshold: float = 0.6  # support score a sentence needs (bench/calibrate_verify.py)
    min_terms: int = 2  # a sentence with fewer content terms states nothing checkable ("Yes [1].")


@dataclass(frozen=True)
class Claim:
    """A generated sentence without its markers, and the passage numbers it cites."""

    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Supported:
    claim: Claim
    passage: Passage
    start: int  # in the article text
    end: int
    quote: str  # == article text[start:end]
    score: float


@dataclass(frozen=True)
class Unsupported:
    text: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "reason": self.reason}


_MARKER = re.compile(r"\[\s*(?:passages?\s*)?(\d{1,3}(?:\s*(?:,|;|and|-|–)\s*\d{1,3})*)\s*\]", re.IGNORECASE)
_LEADING_MARKERS = re.compile(rf"^(?:\s*{_MARKER.pattern})+", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_NAME_LABELS = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def claims(text: str) -> list[Claim]:
    """The sentences of a model's answer, each with the [n] markers that follow it (a marker after the full stop
    belongs to the sentence before)."""
    text = re.sub(r"(?m)^\s*(?:[-*•]|\d+[.)])\s+", "", text.replace("**", ""))
    out: list[tuple[str, list[int]]] = []
    for s, e in split_sentences(text):
        piece = text[s:e]
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1][1].extend(_numbers_in(lead.group(0)))
            piece = piece[lead.end():]
        cited = _numbers_in(piece)
        body = re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", piece)).strip()
        if body:
            out.append((body, cited))
        elif cited and out:
            out[-1][1].extend(cited)
    return [Claim(t, tuple(dict.fromkeys(c))) for t, c in out]


def _numbers_in(text: str) -> list[int]:
    out: list[int] = []
    for match in _MARKER.finditer(text):
        parts = [int(x) for x in re.findall(r"\d+", match.group(1))]
        if re.search(r"[-–]", match.group(1)) and len(parts) == 2 and 0 <= parts[1] - parts[0] <= 10:
            parts = list(range(parts[0], parts[1] + 1))
        out += parts
    return out


def normalise(text: str) -> str:
    """Lower case, number words as digits, thousands separators and possessives dropped, one space between words."""
    text = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1).lower()], text.lower())
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"['’]s\b", "", text)
    return " " + " ".join(re.findall(r"[a-z0-9][a-z0-9.%$£€\-]*[a-z0-9%]|[a-z0-9]", text)) + " "


def _numbers(text: str) -> set[str]:
    out = set()
    for match in _NUMBER.finditer(_NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1).lower()], text)):
        number = match.group(0).rstrip(".,").replace(",", "")
        out.add(re.sub(r"\.0+$", "", number))
    return out


def missing_facts(claim: str, entities: list[tuple[int, int, str]], passages_text: str) -> str | None:
    """Why claim is not borne out by passages_text, or None: a number, a month or weekday, or a name of it that
    does not occur there."""
    where = normalise(passages_text)
    numbers = _numbers(passages_text)
    for number in sorted(_numbers(claim)):
        if number not in numbers:
            return f"the number {number} is not in the cited passages"
    for word in _WORD.findall(claim):
        if word.lower() in CALENDAR_WORDS and f" {word.lower()} " not in where:
            return f"the date '{word}' is not in the cited passages"
    for s, e, label in entities:
        name = re.sub(r"^the\s+", "", claim[s:e], flags=re.IGNORECASE)
        if label in _NAME_LABELS and normalise(name).strip() and normalise(name) not in where:
            return f"the name '{claim[s:e]}' is not in the cited passages"
    for word in sorted(names(claim)):
        if word not in CALENDAR_WORDS and word not in STOPWORDS and normalise(word) not in where:
            return f"the name '{word}' is not in the cited passages"
    return None


def _overlap(claim_terms: set[str], sentence: str) -> float:
    return len(claim_terms & set(terms(sentence))) / len(claim_terms) if claim_terms else 0.0


def verify(text: str, passages: list[Passage], embedder: Embedder, params: VerifyParams | None = None
           ) -> tuple[list[Supported], list[Unsupported]]:
    """The model's sentences that the passages they cite support (each with its supporting quote), and the rest
    with the reason each was removed."""
    params = params or VerifyParams()
    by_n = {p.n: p for p in passages}
    found = claims(text)
    sentences = {p.n: [(s, e) for s, e in split_sentences(p.text)] for p in passages}
    cited_ns = sorted({n for c in found for n in c.cited if n in by_n})
    pool = [(n, s, e) for n in cited_ns for s, e in sentences[n]]
    vectors = embedder.encode([c.text for c in found] + [by_n[n].text[s:e] for n, s, e in pool]) if found else None
    entities = entity_spans([c.text for c in found])
    supported: list[Supported] = []
    unsupported: list[Unsupported] = []
    for i, claim in enumerate(found):
        given = [n for n in claim.cited if n in by_n]
        if not claim.cited:
            unsupported.append(Unsupported(claim.text, "it cites no passage"))
            continue
        if not given:
            unsupported.append(Unsupported(claim.text, f"it cites [{', '.join(map(str, claim.cited))}], which is "
                                                       "not one of the passages given"))
            continue
        claim_terms = set(terms(claim.text))
        if len(claim_terms) < params.min_terms:
            unsupported.append(Unsupported(claim.text, "it states nothing that can be checked"))
            continue
        reason = missing_facts(claim.text, entities[i], "\n".join(by_n[n].text + "\n" + (by_n[n].hit.title or "")
                                                                  for n in given))
        if reason:
            unsupported.append(Unsupported(claim.text, reason))
            continue
        assert vectors is not None
        best: tuple[float, int] = (-1.0, -1)
        for j, (n, s, e) in enumerate(pool):
            if n in given:
                cosine = float(vectors[i] @ vectors[len(found) + j])
                score = (max(cosine, 0.0) + _overlap(claim_terms, by_n[n].text[s:e])) / 2
                best = max(best, (score, j))
        score, j = best
        if j < 0 or score < params.threshold:
            unsupported.append(Unsupported(claim.text, f"no sentence of the cited passages supports it (best "
                                                       f"match {max(score, 0.0):.2f} < {params.threshold:.2f})"))
            continue
        n, s, e = pool[j]
        p = by_n[n]
        supported.append(Supported(claim, p, p.start + s, p.start + e, p.text[s:e], score))
    return supported, unsupported


def support_scores(claim: str, sentences: list[str], embedder: Embedder) -> np.ndarray:
    """Support score of claim against each sentence (for calibration)."""
    vectors = embedder.encode([claim, *sentences])
    claim_terms = set(terms(claim))
    return np.array([(max(float(vectors[0] @ v), 0.0) + _overlap(claim_terms, s)) / 2
                     for v, s in zip(vectors[1:], sentences, strict=True)])
