"""Extractive answers: the sentences of the retrieved passages (and the best article's headline) that answer the
question, each cited, led by a short answer (a name, amount, date or phrase inside the first quoted sentence).

Which sentences and which short answer are chosen is learned (qa.model, trained by qa.train): candidate sentences
(qa.candidates) are described by features (qa.features) and scored; the best ones are embedded and rescored;
names, amounts and dates inside the best sentences (qa.spans) are scored for the short answer. The archive "does
not say" when the best sentence's calibrated probability is low.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from corpus.entities import entity_spans, main_actors
from index.actor_reader import ActorIndex
from qa.candidates import Candidate, cut, headline_candidate, sentence_candidates
from qa.features import semantic_features, sentence_features, shortlist_of
from qa.model import AnswerModel
from qa.question import Question
from qa.search import Hit, Query, Searcher
from qa.spans import Span, span_features, spans_of

NO_ANSWER = "The archive does not say."


@dataclass(frozen=True)
class AnswerParams:
    """How answers are put together; what is scored how is the model's (qa.model)."""

    max_chars: int = 400  # quoted text in an answer, "…" and markers aside
    max_sentences: int = 3
    more_passages_of: int = 3  # the best articles whose next passage is read too (answers sit a paragraph away)
    semantic_words: int = 25  # a sentence's first words are embedded: its subject and claim come first
    span_sentences: int = 3  # sentences searched for a short answer (entity recognition is ~10 ms a sentence)
    cut_min_chars: int = 100  # a further sentence that does not fit may be cut at a word, keeping at least this
    cut_min_share: float = 0.5  # ... and this share of it
    quote_min_score: float = 0.2  # "what did X say about Y": a quote this far from Y (cosine) is not about it


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
class ShortAnswer:
    text: str  # == the citation's quote[start:end]
    citation: int  # the n of the citation whose quote holds it
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citation": self.citation, "start": self.start, "end": self.end,
                "score": round(self.score, 4)}


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    citations: list[Citation]
    abstained: bool = False
    nearest: list[dict[str, Any]] = field(default_factory=list)  # when abstaining: the closest articles
    actors: list[dict[str, Any]] = field(default_factory=list)  # main actors of the cited articles
    short_answers: list[ShortAnswer] = field(default_factory=list)  # one per thing asked, best first
    confidence: float = 0.0  # the model's probability that the lead sentence answers the question

    @property
    def short_answer(self) -> ShortAnswer | None:
        return self.short_answers[0] if self.short_answers else None

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer,
                "short_answer": self.short_answer.to_dict() if self.short_answer else None,
                "short_answers": [s.to_dict() for s in self.short_answers],
                "citations": [c.to_dict() for c in self.citations], "abstained": self.abstained,
                "confidence": round(self.confidence, 4), "nearest": self.nearest, "actors": self.actors}


@dataclass
class Scored:
    """A question's candidates with everything the model said about them (also what qa.train records)."""

    question: Question
    hits: list[Hit]
    candidates: list[Candidate]
    features: np.ndarray  # SENTENCE_FEATURES per candidate
    shortlist: list[int]  # indices into candidates, best first by the shortlist model
    semantic: np.ndarray  # SEMANTIC_FEATURES per shortlisted candidate
    probability: np.ndarray  # sentence model's probability per shortlisted candidate
    spans: list[Span]  # Span.sentence indexes the shortlist
    span_features: np.ndarray
    span_probability: np.ndarray


def choose_short_answers(question: Question, spans: list[Span], probability: np.ndarray, threshold: float
                         ) -> list[int]:
    """Indices of the short answers: the best span, and for a question that asks two things the best span of the
    other kind too; each above threshold."""
    chosen: list[int] = []
    order = [int(i) for i in np.argsort(-probability, kind="stable") if probability[i] >= threshold]
    for labels in question.parts:
        for i in order:
            if i in chosen or any(spans[i].text.lower() == spans[j].text.lower() for j in chosen):
                continue
            if len(question.parts) > 1 and labels and spans[i].label not in labels:
                continue
            chosen.append(i)
            break
    return chosen


def choose_sentences(probability: np.ndarray, lengths: list[int], keys: list[Any], headline: list[bool],
                     required: list[int], params: AnswerParams, runner_up: float) -> list[tuple[int, bool]]:
    """(index, cut) of the sentences to quote, lead first: the sentences holding the short answers, then the most
    probable others (at least runner_up x the lead's probability) within params' room. A headline is quoted only
    as the lead: it names a story, and among body sentences it answers nothing that they do not."""
    order = [int(i) for i in np.argsort(-probability, kind="stable")]
    lead = required[0] if required else order[0]
    chosen: list[tuple[int, bool]] = [(lead, False)]
    used = lengths[lead]
    for i in [*required[1:], *order]:
        if len(chosen) >= params.max_sentences or any(i == j or keys[i] == keys[j] for j, _ in chosen):
            continue
        if headline[i] or (i not in required and probability[i] < runner_up * probability[lead]):
            continue
        if used + lengths[i] <= params.max_chars:
            chosen.append((i, False))
            used += lengths[i] + 5
        elif params.max_chars - used >= max(params.cut_min_chars, params.cut_min_share * lengths[i]):
            chosen.append((i, True))
            used = params.max_chars
    return chosen


_SAID = re.compile(r"^\s*what\s+(?:did|does|has|have)\s+(?P<who>.+?)\s+(?:say|said|tell|told|write|wrote)"
                   r"(?:\s+(?:about|on|of|regarding|concerning)\s+(?P<topic>.+?))?\s*\??\s*$", re.IGNORECASE)


# speech verbs that read well as "X <verb>: “…”"; the others as found ("told", "asked", "according to",
# "saying", "reads") read as "said"
_SHOWN_VERBS = frozenset("""said added wrote warned argued insisted explained noted continued replied responded
tweeted posted recalled admitted acknowledged conceded announced claimed urged cautioned predicted testified
concluded countered complained joked pleaded vowed promised stressed observed remarked suggested exclaimed shouted
agreed maintained lamented quipped reiterated affirmed boasted mused declared stated emphasized emphasised
denied confirmed revealed""".split())


def _shown_verb(verb: str) -> str:
    return verb if verb in _SHOWN_VERBS else "said"


def said_question(text: str) -> tuple[str, str | None] | None:
    """(speaker, topic) of "What did X say about Y?" (topic None for "What did X say?"), else None."""
    m = _SAID.match(text)
    if m is None:
        return None
    who = re.sub(r"^(?:the\s+)", "", m.group("who").strip(), flags=re.IGNORECASE)
    return who, (m.group("topic") or None)


class Answerer:
    def __init__(self, searcher: Searcher, model: AnswerModel | None = None, params: AnswerParams | None = None,
                 actors: ActorIndex | None = None) -> None:
        self.searcher = searcher
        self._model = model
        self.params = params or AnswerParams()
        self.actors = actors  # canonical actors and quotes (index.actor_reader), when the index has them

    @property
    def model(self) -> AnswerModel:
        if self._model is None:
            self._model = AnswerModel.load()  # the packaged model, on first use
        return self._model

    def warm_up(self) -> None:
        """Load the answer model and the entity recogniser now rather than on the first question."""
        _ = self.model
        entity_spans(["Newsqa is ready."])

    @property
    def max_chars(self) -> int:
        return self.params.max_chars

    def answer(self, question: str | Query, k: int = 5) -> Answer:
        with self.searcher.reader.snapshot():  # passages, sentences and citations all from one generation
            query = question if isinstance(question, Query) else Query(question, k=k)
            said = self._quoted(query)
            if said is not None:
                return said
            scored = self.score(query)
            return self._compose(scored)

    def _quoted(self, query: Query) -> Answer | None:
        """ "What did X say about Y?": X's own words from the stored quotes, cited; None when the question is not
        of that kind or X has no quote within the question's dates (then it is answered as any other)."""
        if self.actors is None:
            return None
        asked = said_question(query.text)
        if asked is None:
            return None
        speaker, topic = asked
        since = query.since.isoformat() if query.since else None
        until = (query.until or query.as_of)
        found = self.actors.quotes(speaker, None, since, until.isoformat() if until else None, limit=200)
        if not found:
            return None
        if topic:
            vector = self.searcher.embed_query(topic)
            scores = self.searcher.embedder.encode([q["quote"] for q in found]) @ vector
            words = set(re.findall(r"\w{4,}", topic.lower()))
            scores = scores + 0.1 * np.array([len(words & set(re.findall(r"\w{4,}", q["quote"].lower())))
                                              for q in found])
            order = [int(i) for i in np.argsort(-scores, kind="stable")]
            if float(scores[order[0]]) < self.params.quote_min_score:
                return None
        else:
            scores, order = np.ones(len(found)), list(range(len(found)))
        citations: list[Citation] = []
        used = 0
        for i in order:
            q = found[i]
            if used + len(q["quote"]) > self.params.max_chars and citations:
                break
            article = self.searcher.reader.article(q["article_id"]) or {}
            chunk = self._chunk_of(q["article_id"], q["start"])
            citations.append(Citation(n=len(citations) + 1, article_id=q["article_id"], title=q["title"],
                                      date=q["date"], source=article.get("source"), url=article.get("url"),
                                      quote=q["quote"], start=q["start"], end=q["end"], chunk_id=chunk,
                                      score=float(scores[i])))
            used += len(q["quote"]) + 5
            if len(citations) >= self.params.max_sentences:
                break
        name = found[0]["speaker"]["name"]
        text = " ".join(f"{name} {_shown_verb(found[order[c.n - 1]]['verb'])}: “{c.quote}” [{c.n}]" for c in citations)
        return Answer(query.text, text, citations, actors=self._actors(citations), confidence=float(max(scores)))

    def _chunk_of(self, article_id: str, start: int) -> int:
        """The chunk of an article holding a character offset (0 when none does)."""
        table = self.searcher.reader.table
        position = table.article_position.get(article_id)
        if position is None:
            return 0
        ids = [int(i) for i in table.article_chunks(position)]
        rows = self.searcher.reader.chunks(ids)
        for chunk_id in ids:
            row = rows.get(chunk_id)
            if row and row["start"] <= start < row["end"]:
                return chunk_id
        return ids[0] if ids else 0

    def candidates(self, query: Query) -> tuple[Question, np.ndarray, list[Hit], list[Candidate], np.ndarray]:
        """The question read once, its vector, the retrieved passages, the candidate sentences and their
        SENTENCE_FEATURES."""
        question = Question.parse(query.text)
        vector = self.searcher.embed_query(query.text)
        hits = self.searcher.search(query, query_vector=vector)
        more = [p for hit in hits[:self.params.more_passages_of]
                for p in self.searcher.next_passages(hit, query.text, vector, 1)]
        candidates = sentence_candidates(hits, more) + (headline_candidate(hits[0]) if hits else [])
        entities = self.searcher.reader.entities(sorted({c.hit.article_id for c in candidates}))
        return question, vector, hits, candidates, sentence_features(question, candidates, hits, entities,
                                                                      query.as_of)

    def embed_sentences(self, texts: list[str], vector: np.ndarray) -> np.ndarray:
        """Cosine of each text's first words to the question vector."""
        words = self.params.semantic_words
        if not texts:
            return np.zeros(0, dtype=np.float32)
        return self.searcher.embedder.encode([" ".join(t.split()[:words]) for t in texts]) @ vector

    def score(self, query: Query) -> Scored:
        """Retrieve and score candidate sentences and short answers for query."""
        question, vector, hits, candidates, features = self.candidates(query)
        first = self.model.shortlist.logits(features)
        shortlist = shortlist_of(first, features, self.model.shortlist_size)
        semantic = semantic_features(np.zeros(len(shortlist)))  # no cosine feature: see qa.features
        probability = self.model.sentence.probabilities(np.hstack([features[shortlist], semantic])
                                                        if shortlist else np.zeros((0, 1)))
        best = [int(i) for i in np.argsort(-probability, kind="stable")[:self.params.span_sentences]]
        spans: list[Span] = []
        for i, ents in zip(best, entity_spans([candidates[shortlist[i]].text for i in best]), strict=True):
            spans += spans_of(i, candidates[shortlist[i]].text, ents)
        shortlisted = [candidates[i] for i in shortlist]
        span_x = span_features(question, spans, shortlisted, list(probability))
        return Scored(question, hits, candidates, features, shortlist, semantic, probability, spans, span_x,
                      self.model.span.probabilities(span_x))

    def _compose(self, s: Scored) -> Answer:
        if not s.shortlist or float(s.probability.max()) < self.model.abstain_below:
            return self._abstain(s.question.text, s.hits)
        shortlisted = [s.candidates[i] for i in s.shortlist]
        picks = choose_short_answers(s.question, s.spans, s.span_probability, self.model.answer_below)
        required = list(dict.fromkeys(s.spans[i].sentence for i in picks))
        chosen = choose_sentences(s.probability, [len(c.text) for c in shortlisted], [c.text for c in shortlisted],
                                  [c.field == "title" for c in shortlisted], required, self.params,
                                  self.model.runner_up)
        citations, number = [], {}
        for n, (i, shortened) in enumerate(chosen, start=1):
            cand = shortlisted[i]
            if shortened:
                cand = cut(cand, self.params.max_chars - sum(len(c.quote) + 5 for c in citations) - 1,
                           self.params.cut_min_chars, self.params.cut_min_share) or cand
            number[i] = n
            citations.append(Citation(n=n, article_id=cand.hit.article_id, title=cand.hit.title, date=cand.hit.date,
                                      source=cand.hit.source, url=cand.hit.url, quote=cand.text, start=cand.start,
                                      end=cand.end, chunk_id=cand.hit.chunk_id, score=float(s.probability[i]),
                                      field=cand.field, cut=cand.cut))
        shorts = []
        for i in picks:
            span = s.spans[i]
            n = number.get(span.sentence)
            if n is not None and span.end <= len(citations[n - 1].quote):
                shorts.append(ShortAnswer(span.text, n, span.start, span.end, float(s.span_probability[i])))
        text = " ".join(f"{c.shown} [{c.n}]" for c in citations)
        return Answer(s.question.text, text, citations, actors=self._actors(citations), short_answers=shorts,
                      confidence=float(s.probability[chosen[0][0]]))

    def _actors(self, citations: list[Citation]) -> list[dict[str, Any]]:
        """Main actors of the cited articles: the most mentioned people, organisations and places (canonical
        actors when the index has them: aliases merged, headline fragments and possessives gone)."""
        if self.actors is not None:
            return self.actors.of_articles(list(dict.fromkeys(c.article_id for c in citations)))
        totals: dict[str, tuple[str, str, int]] = {}
        for entities in self.searcher.reader.entities([c.article_id for c in citations]).values():
            for entity in main_actors(entities, n=8):
                name, label, count = totals.get(entity.key, (entity.name, entity.label, 0))
                totals[entity.key] = (name, label, count + entity.mentions)
        ranked = sorted(totals.values(), key=lambda x: -x[2])[:6]
        return [{"name": n, "label": label, "mentions": m} for n, label, m in ranked]

    def _abstain(self, question: str, hits: list[Hit]) -> Answer:
        nearest, seen = [], set()
        for hit in hits:
            if hit.article_id not in seen:
                seen.add(hit.article_id)
                nearest.append({"article_id": hit.article_id, "title": hit.title, "date": hit.date,
                                "source": hit.source, "url": hit.url, "score": round(hit.score, 4)})
        return Answer(question, NO_ANSWER, [], abstained=True, nearest=nearest[:3])
