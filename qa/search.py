"""Passage retrieval: dense (MiniLM + FAISS) and BM25 fused, filtered by date/source/actor, weighted by time.

Two levels. Article level (the default): articles are ranked by BM25 over their whole text fused with the
cosine of their best chunk, and each article is represented by its best passage; a question is usually about
one story, and the whole article says more about which story it is than any one passage. Chunk level: chunks
are ranked directly (the retrievers' own rankings, kept for comparison and for RRF).

News questions are about what had just happened when they were asked: with an as_of date, later articles do
not exist, and a recency prior score x (1 + recency_amplitude x exp(-age_days / scale)), the age counted from
recency_grace days before as_of, favours articles shortly before it. Explicit dates in the question ("in March
2021") become a date range instead. Every tuning value is a field of RankingParams (qa.ranking).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from index.embed import Embedder
from index.interface import IndexStore
from index.reader import EPOCH, UNDATED, ChunkTable
from qa.ranking import Fusion, RankingParams, commentary_flags
from qa.timeparse import TimeIntent, parse_time

Mode = Literal["hybrid", "dense", "bm25"]
Level = Literal["article", "chunk"]
Recency = Literal["news", "simple"]


@dataclass(frozen=True)
class Query:
    text: str
    k: int = 10
    as_of: dt.date | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    source: str | None = None
    actor: str | None = None
    mode: Mode = "hybrid"
    time_aware: bool = True  # parse dates in the question and prefer recent articles
    prefer_reports: bool = True  # news reports over commentary, explainers and digests (commentary_prior)
    fusion: Fusion | None = None  # None: the searcher's params.fusion
    level: Level = "article"  # rank articles (each by its best passage) or chunks
    recency: Recency = "news"  # the recency prior: "news" (params.recency_*) or "simple", 1 + exp(-age / scale)


@dataclass(frozen=True)
class Hit:
    """A retrieved passage; text == article text[start:end]."""

    chunk_id: int
    article_id: str
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    text: str
    start: int
    end: int
    score: float
    dense_score: float = 0.0  # cosine to the question
    bm25_score: float = 0.0
    duplicates: list[str] = field(default_factory=list)  # other articles carrying the same passage

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("score", "dense_score", "bm25_score"):
            out[key] = round(out[key], 4)
        return out


class Searcher:
    def __init__(self, reader: IndexStore, embedder: Embedder, params: RankingParams | None = None) -> None:
        self.reader = reader
        self.embedder = embedder
        self.params = params or RankingParams()
        # the commentary flag of each article of the last table seen (a generation's table is replaced whole)
        self._commentary: tuple[weakref.ref[ChunkTable], np.ndarray] | None = None

    def embed_query(self, query: str) -> Any:
        return self.embedder.encode([query])[0]

    def search(self, query: str | Query, k: int = 10, query_vector: Any = None) -> list[Hit]:
        with self.reader.snapshot():  # one generation for the whole query, whatever a writer commits meanwhile
            return self._search(query, k, query_vector)

    def _search(self, query: str | Query, k: int, query_vector: Any) -> list[Hit]:
        q = query if isinstance(query, Query) else Query(query, k=k)
        vector = self.embed_query(q.text) if query_vector is None and q.mode != "bm25" else query_vector
        intent = parse_time(q.text, q.as_of) if q.time_aware else TimeIntent()
        articles = self.reader.articles_mentioning(q.actor) if q.actor else None
        until = min(d for d in (q.until, q.as_of) if d) if (q.until or q.as_of) else None
        hard = dict(since=q.since, until=until, sources=[q.source] if q.source else None, articles=articles)
        scored: dict[int, float] = {}
        if intent.since or intent.until:
            # A range read from the question narrows the hard filters; when nothing falls in it, it is dropped.
            narrowed = dict(hard, since=max(d for d in (q.since, intent.since) if d) if intent.since else q.since,
                            until=min(d for d in (until, intent.until) if d) if intent.until else until)
            scored, parts = self._fused(q, vector, self.reader.table.mask(**narrowed))
        if not scored:
            scored, parts = self._fused(q, vector, self.reader.table.mask(**hard))
            if intent.since or intent.until:
                intent = replace(intent, since=None, until=None, phrase=None)
        if q.time_aware:
            self._recency(scored, q.as_of, intent, q.recency)
        if q.prefer_reports:
            self._reports_first(scored)
        rows: dict[int, dict[str, Any]] = {}
        if q.actor is None:
            rows = self._actor_prior(scored, q.text, _shortlist(q.k))
        return self._hits(scored, parts, q.k, vector, rows)

    def next_passages(self, hit: Hit, question: str, vector: Any, n: int = 1) -> list[Hit]:
        """The n passages of hit's article that best match the question after hit's own (same fusion as
        the article's passage choice), each scored as the article's score x its match relative to hit's.
        An answer often sits a paragraph away from the passage that matched the question best."""
        table = self.reader.table
        article = table.article_position.get(hit.article_id)
        if article is None or vector is None or n <= 0:
            return []
        ids = table.article_chunks(article)
        if len(ids) < 2:
            return []
        cos = self.reader.cosines(vector, ids)
        lex = self.reader.lexical.scores(question, table.article == article)
        lex = lex[np.searchsorted(table.ids, ids)] if len(lex) else np.zeros(len(ids), dtype=np.float32)
        w = self.params.passage_dense_weight
        fused = w * np.maximum(cos, 0.0) + (1 - w) * lex / (float(lex.max()) or 1.0)
        own = fused[ids == hit.chunk_id]
        top = float(own[0]) if len(own) and own[0] > 0 else float(fused.max()) or 1.0
        order = [i for i in np.argsort(-fused, kind="stable") if ids[i] != hit.chunk_id][:n]
        rows = self.reader.chunks([int(ids[i]) for i in order])
        out = []
        for i in order:
            row = rows.get(int(ids[i]))
            if row is None:
                continue
            out.append(Hit(chunk_id=int(ids[i]), article_id=hit.article_id, title=row["title"], date=row["date"],
                           source=row["source"], url=row["url"], text=row["text"], start=row["start"],
                           end=row["end"], score=hit.score * min(1.0, float(fused[i]) / top),
                           dense_score=float(cos[i]), bm25_score=float(lex[i])))
        return out

    # -- scoring -----------------------------------------------------------------------------------------

    def _fused(self, q: Query, vector: Any, mask: np.ndarray | None
               ) -> tuple[dict[int, float], dict[str, dict[int, float]]]:
        """Fused score per chunk, and the retrievers' own scores ({"dense": ..., "bm25": ...})."""
        if q.level == "article" and (q.fusion or self.params.fusion) == "score":
            return self._by_article(q, vector, mask)
        n = self.params.candidates
        dense: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if q.mode in ("hybrid", "dense"):
            dense = self.reader.search(vector, n, mask)
        if q.mode in ("hybrid", "bm25"):
            scores = self.reader.lexical.scores(q.text, mask)
            if mask is not None:
                scores = np.where(mask, scores, 0.0)
            top = np.argpartition(-scores, min(n, len(scores) - 1))[:n] if len(scores) else []
            ids = self.reader.lexical.ids
            lexical = sorted(((int(ids[i]), float(scores[i])) for i in top if scores[i] > 0), key=lambda x: -x[1])
        parts = {"dense": dict(dense), "bm25": dict(lexical)}
        if q.mode == "dense":
            return dict(dense), parts
        if q.mode == "bm25":
            return dict(lexical), parts
        fused: dict[int, float] = {}
        if (q.fusion or self.params.fusion) == "rrf":
            for ranking in (dense, lexical):
                for rank, (chunk_id, _) in enumerate(ranking):
                    fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.params.rrf_k + rank + 1)
            return fused, parts
        # Score fusion: cosine as is, BM25 as the share of the whole query a passage matches (its score over
        # that of a passage holding every query word once), so one common word matched is not worth a full
        # match. A chunk found by dense only has BM25 0 here (below the cut); one found by BM25 only gets its
        # cosine computed.
        top_bm25 = self.reader.lexical.full_match_score(q.text) if self.params.bm25_scale == "query" else (
            lexical[0][1] if lexical else 1.0)
        cosines = dict(dense)
        for chunk_id, _ in lexical:
            if chunk_id not in cosines and vector is not None:
                cosines[chunk_id] = self.reader.cosine(vector, chunk_id)
        bm25 = dict(lexical)
        w = self.params.chunk_dense_weight
        for chunk_id, cosine in cosines.items():
            fused[chunk_id] = w * max(cosine, 0.0) + (1 - w) * min(1.0, bm25.get(chunk_id, 0.0) / top_bm25)
        parts["dense"] = cosines
        return fused, parts

    def _by_article(self, q: Query, vector: Any, mask: np.ndarray | None
                    ) -> tuple[dict[int, float], dict[str, dict[int, float]]]:
        """Article scores, each keyed by the article's best chunk: w x the best chunk's cosine + (1 - w) x (the
        article's BM25 over the best allowed article's, with chunk_bm25_share of it from its best passage's BM25
        over the best passage's). Candidates: the BM25 top articles and the articles of the dense top chunks."""
        table = self.reader.table
        n = self.params.candidates
        allowed = table.article_mask(mask)
        bm25_articles = (np.where(allowed, self.reader.article_scores(q.text, mask), 0.0) if q.mode != "dense"
                         else np.zeros(len(allowed), dtype=np.float32))
        top_articles = np.argpartition(-bm25_articles, min(n, len(allowed) - 1))[:n]
        candidates = sorted({int(a) for a in top_articles if bm25_articles[a] > 0})
        if q.mode != "bm25" and vector is not None:
            dense = self.reader.search(vector, n, mask)
            positions = np.searchsorted(table.ids, [c for c, _ in dense])
            candidates = sorted(set(candidates) | {int(a) for a in table.article[positions]})
        cands = np.array(candidates, dtype=np.int64)
        rows, group = table.articles_rows(cands)  # every chunk of the candidate articles, as table rows
        if mask is not None:
            rows, group = rows[mask[rows]], group[mask[rows]]
        all_ids = table.ids[rows]
        w = self.params.article_dense_weight if q.mode == "hybrid" else (1.0 if q.mode == "dense" else 0.0)
        pw = self.params.passage_dense_weight if q.mode == "hybrid" else w
        all_cos = (self.reader.cosines(vector, all_ids) if vector is not None and w > 0
                   else np.zeros(len(all_ids), dtype=np.float32))
        if q.mode != "dense":
            wanted = np.zeros(len(table.ids), dtype=bool)
            wanted[rows] = True  # only the candidates' chunks are read
            chunk_bm25 = self.reader.lexical.scores(q.text, wanted)
            all_bm25 = chunk_bm25[rows] if len(chunk_bm25) else np.zeros(len(all_ids), dtype=np.float32)
        else:
            all_bm25 = np.zeros(len(all_ids), dtype=np.float32)
        top_chunk_bm25 = float(all_bm25.max()) if len(all_bm25) and all_bm25.max() > 0 else 1.0
        top_bm25 = float(bm25_articles.max()) or 1.0
        scored: dict[int, float] = {}
        lexical: dict[int, float] = {}
        if len(rows):
            # the article's passage: the chunk that best matches the question, by cosine and chunk BM25 at
            # passage_dense_weight (the first such chunk on a tie); its score: the article's best cosine, the
            # article's BM25 and its best passage's BM25
            firsts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            fused = pw * all_cos + (1 - pw) * all_bm25 / top_chunk_bm25
            top = np.maximum.reduceat(fused, firsts)
            at_top = np.flatnonzero(fused == np.repeat(top, np.diff(np.r_[firsts, len(fused)])))
            best = at_top[np.unique(group[at_top], return_index=True)[1]]
            cos_max = np.maximum(np.maximum.reduceat(all_cos, firsts), 0.0).astype(np.float64)
            article_bm25 = bm25_articles[cands[group[firsts]]].astype(np.float64)
            chunk_max = np.maximum.reduceat(all_bm25, firsts).astype(np.float64) / top_chunk_bm25
            a = self.params.chunk_bm25_share if q.mode == "hybrid" else 0.0
            score = w * cos_max + (1 - w) * ((1 - a) * article_bm25 / top_bm25 + a * chunk_max)
            chunk_ids = all_ids[best].tolist()
            scored = dict(zip(chunk_ids, score.tolist(), strict=True))
            lexical = dict(zip(chunk_ids, all_bm25[best].tolist(), strict=True))
        return scored, {"dense": dict(zip(all_ids.tolist(), all_cos.tolist(), strict=True)), "bm25": lexical}

    def _recency(self, scored: dict[int, float], as_of: dt.date | None, intent: TimeIntent,
                 prior: Recency = "news") -> None:
        if intent.phrase and not intent.recent:
            return  # an explicit date range already says when
        if as_of is None:
            if not intent.recent:
                return
            as_of_day = int(self.reader.table.day.max())  # "recently" with no date: relative to the newest article
        else:
            as_of_day = (as_of - EPOCH).days
        if not scored:
            return
        ids = np.fromiter(scored, dtype=np.int64, count=len(scored))
        days = self.reader.table.days_of(ids)
        amplitude, grace = (self.params.recency_amplitude, self.params.recency_grace) if prior == "news" else (1.0, 0)
        age = np.maximum(0, as_of_day - grace - days)
        factor = np.where(days == UNDATED, 1.0, 1.0 + amplitude * np.exp(-age / intent.scale_days))
        for chunk_id, f in zip(ids.tolist(), factor.tolist(), strict=True):
            scored[chunk_id] *= f

    def _reports_first(self, scored: dict[int, float]) -> None:
        """Scale the passages of articles that are not reports (commentary, explainers, digests: by headline)
        by params.commentary_prior."""
        flags = self._commentary_flags()
        if not scored or not flags.any():
            return
        ids = np.fromiter(scored, dtype=np.int64, count=len(scored))
        articles = self.reader.table.articles_of(ids)
        for chunk_id in ids[(articles >= 0) & flags[articles]].tolist():
            scored[chunk_id] *= self.params.commentary_prior

    def _commentary_flags(self) -> np.ndarray:
        """Per article of the current table: its headline marks it as not a report (computed once a table)."""
        table = self.reader.table
        cached = self._commentary
        if cached is None or cached[0]() is not table:
            cached = (weakref.ref(table), commentary_flags(table.titles))
            self._commentary = cached  # one assignment: a thread reading meanwhile sees the old or the new pair
        return cached[1]

    def _actor_prior(self, scored: dict[int, float], text: str, limit: int) -> dict[int, dict[str, Any]]:
        """A question naming an actor favours passages that mention that actor (by any alias).

        Only passages that can still reach the top `limit` with the prior are read (a x1.1 prior cannot lift
        one below cutoff / 1.1 past the `limit` passages at or above the cutoff); their rows are returned.
        """
        mentions = _mention_test(_question_names(text))
        if mentions is None or not scored:
            return {}
        ordered = sorted(scored.values(), reverse=True)
        cutoff = ordered[limit - 1] / self.params.actor_prior if len(ordered) >= limit else -math.inf
        rows = self.reader.chunks([c for c, s in scored.items() if s >= cutoff])
        for chunk_id, row in rows.items():
            if mentions(f"{row['title'] or ''} {row['text']}"):
                scored[chunk_id] *= self.params.actor_prior
        return rows

    def _hits(self, scored: dict[int, float], parts: dict[str, dict[int, float]], k: int, vector: Any,
              known: dict[int, dict[str, Any]] | None = None) -> list[Hit]:
        ranked = sorted(scored.items(), key=lambda x: -x[1])[:_shortlist(k)]
        known = known or {}
        rows = {c: known[c] for c, _ in ranked if c in known}
        if len(rows) < len(ranked):
            rows |= self.reader.chunks([c for c, _ in ranked if c not in rows])
        hits: list[Hit] = []
        seen: dict[str, Hit] = {}
        kept_vectors: list[tuple[np.ndarray, Hit, str]] = []  # each kept hit with its vector and headline key
        dense, bm25 = parts["dense"], parts["bm25"]
        for chunk_id, score in ranked:
            row = rows.get(chunk_id)
            if row is None:
                continue  # removed by a writer between the vector search and this lookup
            key = _dup_key(row["text"])
            title_key = _dup_key(row["title"] or "")
            chunk_vector = self.reader.vector(chunk_id)
            # a copy: the same passage text, a near-identical passage, or another article with the same headline
            # (re-published wire stories keep it) whose passage was already kept
            first = seen.get(key) or next((h for v, h, t in kept_vectors if h.article_id != row["article_id"] and (
                (float(v @ chunk_vector) >= self.params.near_duplicate and _days_apart(h.date, row["date"]) <= 30)
                or _same_story(t, h.date, title_key, row["date"]))), None)
            if first is not None:
                if row["article_id"] != first.article_id and row["article_id"] not in first.duplicates:
                    first.duplicates.append(row["article_id"])  # a re-published copy: one hit naming both
                continue
            cosine = dense.get(chunk_id)
            if cosine is None and vector is not None:
                cosine = self.reader.cosine(vector, chunk_id)
            hit = Hit(chunk_id=chunk_id, article_id=row["article_id"], title=row["title"], date=row["date"],
                      source=row["source"], url=row["url"], text=row["text"], start=row["start"],
                      end=row["end"], score=score, dense_score=float(cosine or 0.0),
                      bm25_score=float(bm25.get(chunk_id, 0.0)))
            seen[key] = hit
            kept_vectors.append((chunk_vector, hit, title_key))
            hits.append(hit)
            if len(hits) >= k:
                break
        return hits


def _shortlist(k: int) -> int:
    """Passages considered for the k hits: copies of one another collapse, so some more than k."""
    return max(k * 3, k + 10)


def _same_story(title_key: str, date: str | None, other_key: str, other_date: str | None) -> bool:
    """Same headline (_dup_key of each title) within a week: a re-published copy (a follow-up report a year
    later is not one)."""
    if len(title_key) <= 20 or title_key != other_key:
        return False
    return _days_apart(date, other_date) <= 7


def _days_apart(a: str | None, b: str | None) -> int:
    """Days between two ISO dates; 0 when either is unknown (no evidence against being copies)."""
    if not a or not b:
        return 0
    try:
        return abs((dt.date.fromisoformat(a[:10]) - dt.date.fromisoformat(b[:10])).days)
    except ValueError:
        return 0


_WORD = re.compile(r"[a-z0-9]+")


def _dup_key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))[:400]


_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w'’\-]+(?:\s+[A-Z][\w'’\-]+)*)")


def _question_names(text: str) -> list[str]:
    return [m.group(1) for m in _NAME.finditer(text.strip()) if len(m.group(1)) > 2]


def _mention_test(names: list[str]) -> Callable[[str], bool] | None:
    """A test of whether a text mentions any of the names (by its last word, as a whole word); None: no names.

    One pattern for all names, tried only on texts that contain one of the words at all: a pattern that
    starts with a look-behind is tried at every position of the text (dev: the test 1.1 -> 0.2 ms per query).
    """
    if not names:
        return None
    lasts = [name.split()[-1].removesuffix("'s").removesuffix("’s") for name in names]
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(last) for last in lasts) + r")(?!\w)")
    return lambda text: any(last in text for last in lasts) and pattern.search(text) is not None
