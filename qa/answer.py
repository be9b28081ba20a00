"""Extractive answers: the sentences of the retrieved passages (and the best article's headline) that best
answer the question, each cited.

Without a reader model offline, a sentence is scored by its meaning (cosine to the question), its words
(share of the question's content terms it contains, and of the asking sentence's in particular), whether it
holds the kind of answer asked for (a number for "how much", a name for "who"), whether it says anything the
question does not already say, and the rank of its passage.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from corpus.article import is_commentary_or_digest
from corpus.clean import credit_prefix, dateline_prefix, is_credit, is_promo
from corpus.entities import main_actors
from corpus.sentences import split_sentences
from index.lexical import query_tokens
from qa.search import Hit, Query, Searcher
from qa.text import AMOUNT_LABELS, CALENDAR_WORDS, answer_type_match, focus_sentence, names, terms, wanted_labels

NO_ANSWER = "The archive does not say."
MIN_PASSAGE_SCORE = 0.25  # cosine of the best passage; below it nothing retrieved is about the question
MIN_SENTENCE_SCORE = 0.35
RUNNER_UP_RATIO = 0.6  # further sentences must score this close to the best one
# Embedding sentences is most of an answer's cost (~7 ms a sentence on 2 cores). Measured on the RealTime QA dev
# questions: 4 embedded sentences answer as well as 12 (coverage 0.434 both), none loses 0.007.
SEMANTIC_SHORTLIST = 4  # candidate sentences embedded per answer
# ...and only their first words are embedded: a sentence's subject and claim come first, and a scraped
# "sentence" is often several run together. Dev coverage 0.436 / wrong 0.081 with 25 words vs 0.434 / 0.083
# whole (15, 20 and 40 words: 0.427-0.431), at half the cost (answer p50 94 -> 66 ms in-process).
SEMANTIC_WORDS = 25
# The answer is often a paragraph away from the passage that matched the question best: the next passage of each
# of the best articles is read too (dev coverage 0.434 vs 0.423; 2 passages or 5 articles measured no better).
MORE_PASSAGES_OF = 3  # articles among the top hits whose next passages are read
MORE_PASSAGES = 1  # next passages of each
# A news headline states its story's event in the fewest words ("Ford recalls 2.9M vehicles ..."), and the words
# a quiz or a reader asks for are often there rather than in any one sentence of the body: the best article's
# headline is a candidate too, favoured by this much. Dev (459 questions), before the rule below: coverage
# 0.434 -> 0.479, wrong-choice 0.081 -> 0.065 (bonus 0.1: 0.460, 0.2: 0.462, 0.5: 0.479; the headlines of the
# best 2 or 3 articles: 0.471, 0.458).
HEADLINE_BONUS = 0.3
# ... but one that a quoted sentence already says is dropped for another sentence: on the demo questions (which ask
# for details a few sentences in) headlines cost 9 of 74 answers without this rule, 2 with it; dev coverage 0.460
# (0.479 without it, 0.451 / 0.473 when a third / 60% of the headline's words count as said).
HEADLINE_REPEATED = 0.5
# A headline says more than its words when it names what the sentences only describe ("China data leak: ..." over
# "... one billion Chinese citizens ..."): it is not said until the quoted sentences also hold every name it adds
# to the question. Names are its capitalised words. In a Title Case headline (this share of its 4+ letter words
# capitalised) capitals mark nothing by themselves, so there only the words that the candidate sentences also
# capitalise mid-sentence and never write in lower case are names ("J.K. Rowling and Joanne Harris in Death
# Threat Row": Joanne, Harris; not Death, Threat, Row). Dev coverage 0.466 -> 0.473 with names (taking every
# capital of a Title Case headline as a name: 0.479, but demo 58 -> 51 of 74), 0.477 -> 0.482 with the Title Case
# names (demo 58). When the question asks how much or how many, the headline's numbers count as names too
# ("Instagram fined $400 million over children's data" beside "... 405 million euros ($402 million) ..."):
# 0.482 -> 0.486, demo 57 (its one loss: a headline's "4,200 residents" kept beside a question on homes).
TITLE_CASE = 0.6
MIN_HEADLINE_CHARS = 20
# A sentence that no longer fits the 400 characters may be quoted up to a word boundary, marked "…", when at least
# CUT_MIN_SHARE of it and CUT_MIN_CHARS fit; it then competes at its score x (share kept) ** CUT_PENALTY with the
# whole sentences that still fit. Detail questions' answers sit in long sentences after a long first one: demo
# 57 -> 60 of 74, dev coverage 0.486 -> 0.490 (penalty 0: demo 64 but dev 0.481; 1 and 2: demo 59/58, dev 0.486;
# share 0.3 / 0.7 and 60 characters: the same within a question).
CUT_MIN_SHARE = 0.5
CUT_MIN_CHARS = 100
CUT_PENALTY = 0.5


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    quote: str  # == article text[start:end], or title[start:end] when field == "title"
    start: int
    end: int
    chunk_id: int
    score: float
    field: str = "text"  # which of the article's fields the quote is from: "text" or "title" (its headline)
    cut: bool = False  # the quote is the start of a longer sentence, shown with "…"

    @property
    def shown(self) -> str:
        """The quote as the answer shows it."""
        return f"{self.quote}…" if self.cut else self.quote

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = round(self.score, 4)
        return out


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    citations: list[Citation]
    abstained: bool = False
    nearest: list[dict[str, Any]] = field(default_factory=list)  # when abstaining: the closest articles
    actors: list[dict[str, Any]] = field(default_factory=list)  # main actors of the cited articles

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer,
                "citations": [c.to_dict() for c in self.citations], "abstained": self.abstained,
                "nearest": self.nearest, "actors": self.actors}


@dataclass
class _Candidate:
    hit: Hit
    start: int  # in article text (in its title for a headline)
    end: int
    text: str
    field: str = "text"
    score: float = 0.0
    semantic: float = 0.0
    lexical: float = 0.0
    cut: bool = False


class _Words:
    """A sentence's term stems, matched exactly or by a shared prefix of 5+ letters ("direct" ~ "director").

    The prefix test is a binary search plus a few set lookups rather than a scan of every word: scoring asks
    it for every question term against every candidate sentence.
    """

    __slots__ = ("words", "ordered")

    def __init__(self, words: set[str] | list[str]) -> None:
        self.words = set(words)
        self.ordered = sorted(self.words)

    def __len__(self) -> int:
        return len(self.words)

    def __or__(self, other: _Words) -> _Words:
        return _Words(self.words | other.words)

    def has(self, term: str) -> bool:
        if term in self.words:
            return True
        if len(term) < 5:
            return False
        i = bisect.bisect_left(self.ordered, term)  # words starting with term sort right after it
        if i < len(self.ordered) and self.ordered[i].startswith(term):
            return True
        return any(term[:n] in self.words for n in range(5, len(term)))  # a 5+ letter word term starts with


_FRAGMENT = re.compile(r"[a-z]+(?![\w'’]*[A-Z])")  # a lower-case first word, not "iPhone" or "eBay"


def _quotable(sentence: str) -> bool:
    """Not a question (subheadings and FAQs ask: "Who can get boosted?"), a photo credit, or a fragment: a scraped
    text broken mid-sentence starts in lower case ("time the central bank has raised rates ..."; "iPhone" does not
    count)."""
    if _FRAGMENT.match(sentence):
        return False
    return not sentence.rstrip("\"'”’) ").endswith("?") and not is_credit(sentence) and not is_promo(sentence)


_TOKEN = re.compile(r"[\w'’]+(?:\.\d+)*")  # "BA.5" is one word: a sentence about BA.4 does not say it
_CAPITALISED = re.compile(r"\b[A-Z][\w'’]*(?:\.\d+)*")
_MID_SENTENCE_CAPITAL = re.compile(r"(?<=[\w,;'’\"] )[A-Z][\w'’]*")  # after a word, not at a sentence's start
_NUMBER = re.compile(r"\d+(?:[,.]\d+)*")


def _repeats(headline: str, sentences: list[str], question: str, context: list[str]) -> bool:
    """Whether the quoted sentences already say the headline: one holds HEADLINE_REPEATED of its terms, and
    together they hold every name it adds to the question (and every number, when the question asks for one).
    context: the candidate sentences, which tell names from words in a Title Case headline."""
    words = set(terms(headline))
    if not any(len(words & set(terms(s))) >= HEADLINE_REPEATED * len(words) for s in sentences):
        return False
    asked = {_bare(w) for w in _TOKEN.findall(question)}
    said = {_bare(w) for s in sentences for w in _TOKEN.findall(s)}
    if wanted_labels(question) & AMOUNT_LABELS:
        numbers = {n for s in [*sentences, question] for n in _NUMBER.findall(s)}
        if any(n not in numbers for n in _NUMBER.findall(headline)):
            return False
    capitalised = _CAPITALISED.findall(headline)
    long = [w for w in _TOKEN.findall(headline) if len(w) > 3]
    if sum(w[0].isupper() for w in long) >= TITLE_CASE * max(1, len(long)):
        lower = {w.lower() for s in context for w in _TOKEN.findall(s) if w[0].islower()}
        named = {_bare(w) for s in context for w in _MID_SENTENCE_CAPITAL.findall(s)}
        capitalised = [w for w in capitalised if _bare(w) in named and w.lower() not in lower]
    return all(_bare(w) in said for w in capitalised if _bare(w) not in asked)


def _bare(word: str) -> str:
    return re.sub(r"['’]s$", "", word.lower())


_TITLE_TAIL = re.compile(r"\s+[|\-–—]\s*([^|\-–—]{1,40})$")


def headline_end(title: str, source: str | None) -> int:
    """Where a title's headline ends: before a trailing site name ("... | CNN Politics", "... - The Week UK",
    "... | The ..."), recognised as the source's own name."""
    match = _TITLE_TAIL.search(title)
    if not match or not source or len(match.group(1).split()) > 4:
        return len(title)
    label = re.sub(r"[^a-z]", "", re.sub(r"^www\.", "", source.lower()).split(".")[0])
    tail = re.sub(r"[^a-z]", "", match.group(1).lower())
    truncated = match.group(1).rstrip().endswith(("...", "…"))
    if label and tail and (tail.startswith(label) or (truncated and label.startswith(tail))):
        return match.start()
    return len(title)


class Answerer:
    def __init__(self, searcher: Searcher, max_chars: int = 400, max_sentences: int = 3) -> None:
        self.searcher = searcher
        self.max_chars = max_chars
        self.max_sentences = max_sentences

    def answer(self, question: str | Query, k: int = 5) -> Answer:
        with self.searcher.reader.snapshot():  # passages, sentences and citations all from one generation
            return self._answer(question, k)

    def _answer(self, question: str | Query, k: int) -> Answer:
        query = question if isinstance(question, Query) else Query(question, k=k)
        question = query.text
        query_vector = self.searcher.embed_query(question)
        hits = self.searcher.search(query, query_vector=query_vector)
        if not hits or max(h.dense_score for h in hits) < MIN_PASSAGE_SCORE:
            return self._abstain(question, hits)
        if self._missing_names(question, hits):
            return self._abstain(question, hits)
        more = [p for hit in hits[:MORE_PASSAGES_OF] for p in self.searcher.next_passages(
            hit, question, query_vector, MORE_PASSAGES)] if MORE_PASSAGES else []
        candidates = self._candidates(hits + more) + self._headline(hits[0], question)
        self._score(question, query_vector, candidates, hits)
        chosen = self._select(candidates, question)
        if not chosen or chosen[0].score < MIN_SENTENCE_SCORE:
            return self._abstain(question, hits)
        citations = [Citation(n=n, article_id=cand.hit.article_id, title=cand.hit.title, date=cand.hit.date,
                              source=cand.hit.source, url=cand.hit.url, quote=cand.text, start=cand.start,
                              end=cand.end, chunk_id=cand.hit.chunk_id, score=cand.score, field=cand.field,
                              cut=cand.cut)
                     for n, cand in enumerate(chosen, start=1)]
        parts = [f"{c.shown} [{c.n}]" for c in citations]
        return Answer(question, " ".join(parts), citations, actors=self._actors(citations))

    def _actors(self, citations: list[Citation]) -> list[dict[str, Any]]:
        """Main actors of the cited articles: the most mentioned people, organisations and places."""
        totals: dict[str, tuple[str, str, int]] = {}
        for entities in self.searcher.reader.entities([c.article_id for c in citations]).values():
            for entity in main_actors(entities, n=8):
                name, label, count = totals.get(entity.key, (entity.name, entity.label, 0))
                totals[entity.key] = (name, label, count + entity.mentions)
        ranked = sorted(totals.values(), key=lambda x: -x[2])[:6]
        return [{"name": n, "label": label, "mentions": m} for n, label, m in ranked]

    def _missing_names(self, question: str, hits: list[Hit]) -> list[str]:
        """Names in the question that the archive never mentions anywhere: it is about something else
        ("Mars rover" when it only knows a solar observatory), so quoting the nearest passage would mislead."""
        known = self.searcher.reader.lexical.model.vocab_dict
        missing = []
        for name in names(question) - CALENDAR_WORDS:
            tokens = query_tokens(name)
            if tokens and not any(t in known for t in tokens):
                missing.append(name)
        return missing

    def _candidates(self, hits: list[Hit]) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        out = []
        for hit in hits:
            for s, e in split_sentences(hit.text):
                # quote a caption without the photo credit glued before it, a report's lead without its dateline
                s += credit_prefix(hit.text[s:e])
                s += dateline_prefix(hit.text[s:e])
                key = (hit.article_id, hit.start + s)
                if key in seen or len(hit.text[s:e]) < 20 or not _quotable(hit.text[s:e]):
                    continue  # overlapping chunks repeat sentences; fragments, questions and credits answer nothing
                seen.add(key)
                out.append(_Candidate(hit, hit.start + s, hit.start + e, hit.text[s:e]))
        return out

    @staticmethod
    def _headline(hit: Hit, question: str) -> list[_Candidate]:
        if not hit.title:
            return []
        if is_commentary_or_digest(hit.title):
            return []  # a digest's headline lists topics; an opinion's states a view, not what happened
        end = headline_end(hit.title, hit.source)
        text = hit.title[:end]
        if len(text) < MIN_HEADLINE_CHARS or not _quotable(text):
            return []
        asked = _Words(terms(question))
        if all(asked.has(w) for w in terms(text)):
            # it only restates the question ("KFC just rolled out a new menu item to attract a younger crowd" for
            # "Which menu item did KFC roll out ...?"): quoting it would answer nothing. Dev: 3 answers change,
            # coverage 229 -> 230 of 459, wrong-choice 44 -> 44; demo 61 -> 61 of 74.
            return []
        return [_Candidate(hit, 0, end, text, field="title")]

    def _score(self, question: str, query_vector: np.ndarray, candidates: list[_Candidate], hits: list[Hit]
               ) -> None:
        if not candidates:
            return
        wanted = set(terms(question))
        have = [_Words(terms(c.text)) for c in candidates]
        empty = _Words(())
        previous = {id(c): have[i - 1] if i and candidates[i - 1].hit is c.hit and c.field == "text" else empty
                    for i, c in enumerate(candidates)}
        # A question word found in every candidate ("Kellerby") tells sentences apart less than one found
        # in a few ("crowd", "confiscated"): weight words by their rarity among the candidates.
        weight = {t: math.log(1 + len(candidates) / (1 + sum(1 for h in have if h.has(t)))) for t in wanted}
        total = sum(weight.values()) or 1.0
        best_passage = hits[0].score
        known = self.searcher.reader.entities([c.hit.article_id for c in candidates])
        question_names = {n.lower() for n in names(" " + question)}
        # News-quiz questions give background, then ask ("... made history this week. Whose seat is she
        # filling?"): the asking sentence's words say what the answer sentence is about.
        focus = set(terms(focus_sentence(question)))
        question_terms = set(terms(question))
        asked = _Words(question_terms)
        titles: dict[int, _Words] = {}
        for cand, words in zip(candidates, have, strict=True):
            # labels of the article's entities named in this sentence, except those the question already names
            labels = {e.label for e in known.get(cand.hit.article_id, [])
                      if e.name in cand.text and e.name.lower() not in question_names}
            # The sentence before and the title give context ("The company's chief executive" follows a
            # sentence naming the company): their matches count half.
            title = titles.get(id(cand.hit))
            if title is None:
                title = titles[id(cand.hit)] = _Words(terms(cand.hit.title or ""))
            context = previous[id(cand)] | title
            lexical = sum(w if words.has(t) else 0.5 * w if context.has(t) else 0.0
                          for t, w in weight.items()) / total
            passage = cand.hit.score / best_passage if best_passage > 0 else 0.0
            focused = sum(1 for t in focus if words.has(t)) / max(1, len(focus))
            # A sentence that only restates the question answers nothing: favour one that adds words, and
            # names or numbers the question does not have.
            novelty = sum(1 for w in words.words if not asked.has(w)) / max(1, len(words))
            adds = 1.0 if (names(" " + cand.text) - question_names - question_terms
                           or re.search(r"\d", cand.text)) else 0.0
            cand.lexical = lexical
            # Weights chosen on the demo questions (tests/data) and the RealTime QA dev questions (newsqa eval).
            cand.score = (0.2 * lexical + 0.4 * passage + 0.2 * answer_type_match(question, cand.text, labels)
                          + 0.2 * focused + 0.1 * novelty + 0.2 * adds
                          + (HEADLINE_BONUS if cand.field == "title" else 0.0))
        # Embedding sentences is most of an answer's cost: only the best candidates by every other signal are
        # embedded, and their meaning decides among them (the rest keep a semantic score of 0).
        # (A headline is not embedded: its meaning is its article's, which retrieval has already weighed.)
        shortlist = sorted((c for c in candidates if c.field == "text"), key=lambda c: c.score,
                           reverse=True)[:SEMANTIC_SHORTLIST]
        semantic = self.searcher.embedder.encode([" ".join(c.text.split()[:SEMANTIC_WORDS]) for c in shortlist]
                                                 ) @ query_vector
        for cand, sem in zip(shortlist, semantic, strict=True):
            cand.semantic = float(sem)
            cand.score += 0.2 * float(sem)

    def _select(self, candidates: list[_Candidate], question: str) -> list[_Candidate]:
        chosen = self._greedy(candidates)
        headline = next((c for c in chosen if c.field == "title"), None)
        said = [c.text for c in chosen if c.field == "text"]
        if headline is not None and _repeats(headline.text, said, question,
                                             [c.text for c in candidates if c.field == "text"]):
            # the sentence says it in context, and the room goes to another sentence (a detail question's answer
            # is rarely the lead)
            chosen = self._greedy([c for c in candidates if c.field == "text"])
        return chosen

    def _greedy(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """Up to max_sentences candidates, best first, within max_chars: at each step the best-scoring one that
        fits whole, or cut (CUT_*) at a discount."""
        pool = sorted(candidates, key=lambda c: c.score, reverse=True)
        chosen: list[_Candidate] = []
        used = 0
        while pool and len(chosen) < self.max_sentences:
            best: tuple[float, _Candidate, _Candidate] | None = None
            for cand in pool:
                if best is not None and cand.score <= best[0]:
                    break  # sorted: neither this nor any later one can score more
                if any(c.text == cand.text for c in chosen):
                    continue  # the same sentence in a re-published copy
                if not chosen or used + len(cand.text) <= self.max_chars:
                    best = (cand.score, cand, cand)
                    continue
                version = self._cut(cand, self.max_chars - used - 1)  # 1: the "…"
                if version is not None:
                    score = cand.score * (len(version.text) / len(cand.text)) ** CUT_PENALTY
                    if best is None or score > best[0]:
                        best = (score, cand, version)
            if best is None or (chosen and best[0] < RUNNER_UP_RATIO * chosen[0].score):
                break
            pool.remove(best[1])
            chosen.append(best[2])
            used += len(best[2].text) + 5
        if chosen and len(chosen[0].text) > self.max_chars:
            chosen = chosen[:1]  # one long sentence is still quoted whole
        return chosen

    @staticmethod
    def _cut(cand: _Candidate, room: int) -> _Candidate | None:
        """The candidate's sentence up to the last word boundary within room characters; None when that keeps
        too little of it (or it is a headline, which is short)."""
        if cand.field != "text" or room < CUT_MIN_CHARS or room < CUT_MIN_SHARE * len(cand.text):
            return None
        end = cand.text.rfind(" ", 0, room + 1)
        text = cand.text[:end].rstrip(" ,;:—–-") if end > 0 else ""
        if not text:
            return None
        return replace(cand, text=text, end=cand.start + len(text), cut=True)

    def _abstain(self, question: str, hits: list[Hit]) -> Answer:
        nearest, seen = [], set()
        for hit in hits:
            if hit.article_id not in seen:
                seen.add(hit.article_id)
                nearest.append({"article_id": hit.article_id, "title": hit.title, "date": hit.date,
                                "source": hit.source, "url": hit.url, "score": round(hit.score, 4)})
        return Answer(question, NO_ANSWER, [], abstained=True, nearest=nearest[:3])
