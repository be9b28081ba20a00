"""Read side of the Milvus engine: the store interface (index.interface.IndexStore) from Milvus alone.

Nothing is read from local files, so any number of stateless processes can answer from one Milvus. Per
published generation the reader holds the chunk table (ids, article, date, source of every chunk, for filters
and time-aware ranking) and article metadata in memory; everything else is a Milvus request.

What differs from the embedded engine (index.reader), and why:
- BM25 scores are Milvus's, for the top NEWSQA_MILVUS_BM25_TOP chunks (and articles) among those the caller's
  mask allows; the rest score 0 (the embedded engine scores every chunk). The article ranking asks for the
  chunks of its candidate articles only, so those scores are exact whenever the candidates have no more
  chunks than that. Terms are the same stemmed ones (see index.milvus); document statistics (IDF, average
  length) are Milvus's.
- full_match_score (used only with bm25_scale="query") is the query's best BM25 score: Milvus does not expose
  document frequencies.
- Filters: a mask that is a date range (since, until, as of) becomes a `day` expression, a small one a list of
  ids (<= MAX_FILTER_IDS) or articles; any other (a source filter over a large archive) makes the vector search
  look through more and more of the nearest chunks (up to Milvus's limit, 16,384) and keep those it allows,
  and BM25 score the top chunks of the whole archive before the mask applies.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corpus.entities import Entity, name_matches, normalize_name
from index import lexical
from index.manifest import IndexNotFound, Manifest
from index.milvus import MilvusConfig, connect, iterate, load, quoted, read_published
from index.reader import UNDATED, ChunkTable

log = logging.getLogger(__name__)

MAX_FILTER_IDS = 4096  # allowed chunk ids sent in a filter expression; more: search wider and filter here
MAX_LIMIT = 16_384  # Milvus's largest top-k
VECTOR_CACHE = 50_000  # chunk vectors kept (chunk ids are never reused: a cached vector never goes stale)


@dataclass(frozen=True)
class ArticleInfo:
    key: str
    title: str | None
    date: str | None
    source: str | None


@dataclass
class MilvusGeneration:
    """One published generation as this reader holds it; replaced whole, never changed in place."""

    manifest: Manifest
    floor: int  # rows of older generations are not part of this one (written again by a rebuild)
    table: ChunkTable
    articles: dict[str, ArticleInfo]
    gone_keys: frozenset[str]  # article rows this generation removed, deleted by the next publish
    gone_chunks: frozenset[int]  # ... and chunk rows
    lexical: MilvusLexical = field(init=False)

    @property
    def visible(self) -> str:
        """Rows of this generation: not those of a generation being published, nor those a rebuild replaced."""
        return visible(self.manifest.generation, self.floor)

    def chunk_filter(self) -> str:
        """visible, and not removed by this generation (when few enough to name)."""
        if self.gone_chunks and len(self.gone_chunks) <= MAX_FILTER_IDS:
            return f"{self.visible} and id not in {quoted(sorted(self.gone_chunks))}"
        return self.visible


def visible(generation: int, floor: int) -> str:
    return f"gen >= {floor} and gen <= {generation}"


class MilvusLexical:
    """Chunk-level BM25 of one generation from Milvus's full-text search (top `top` chunks; 0 for the rest)."""

    def __init__(self, reader: MilvusReader, generation: MilvusGeneration) -> None:
        self.reader = reader
        self.generation = generation
        self.ids = generation.table.ids
        self._last: tuple[tuple[str, str | None], np.ndarray] | None = None

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of each chunk (aligned with ids): the top bm25_top among those mask allows (all when the
        mask allows at most that many and Milvus can name them), 0 for the rest."""
        where = self.reader._chunk_filter(mask, self.generation)
        key = (query, where)
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        out = np.zeros(len(self.ids), dtype=np.float32)
        hits = self.reader._bm25("chunks", query, self.generation, where)
        if hits:
            rows = self.reader._rows(np.array([int(c) for c, _ in hits], dtype=np.int64), self.generation)
            scores = np.array([s for _, s in hits], dtype=np.float32)
            out[rows[rows >= 0]] = scores[rows >= 0]
        out.flags.writeable = False
        self._last = (key, out)
        return out

    def full_match_score(self, query: str) -> float:
        scores = self.scores(query)
        return float(scores.max()) if len(scores) and scores.max() > 0 else 1.0


def _none(value: str | None) -> str | None:
    return value or None


class MilvusReader:
    """The store interface over Milvus (see the module doc); thread-safe, one generation per snapshot."""

    def __init__(self, config: MilvusConfig, bm25_top: int = 1000) -> None:
        self.config = config
        self.bm25_top = max(1, min(bm25_top, MAX_LIMIT))
        self.client = connect(config)
        load(self.client, config)
        self._local = threading.local()
        self._swap = threading.Lock()
        self._current: MilvusGeneration | None = None
        self._vectors: dict[int, np.ndarray] = {}
        if not self.refresh():
            raise IndexNotFound(f"{config.where} holds an empty newsqa index. Ingest with: NEWSQA_STORE=milvus "
                                f"newsqa ingest PATH")

    # -- generations ----------------------------------------------------------------------------------------

    @property
    def generation(self) -> MilvusGeneration:
        current = getattr(self._local, "pinned", None) or self._current
        assert current is not None
        return current

    @property
    def manifest(self) -> Manifest:
        return self.generation.manifest

    @property
    def table(self) -> ChunkTable:
        return self.generation.table

    @property
    def lexical(self) -> MilvusLexical:
        return self.generation.lexical

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[MilvusGeneration]:
        """Pin this thread to the newest published generation until the block ends (re-entrant)."""
        pinned = getattr(self._local, "pinned", None)
        if pinned is not None:
            yield pinned
            return
        self.refresh()
        self._local.pinned = self._current
        try:
            yield self._local.pinned
        finally:
            self._local.pinned = None

    def refresh(self) -> bool:
        """Load the published generation if it changed; False when nothing is published."""
        published = read_published(self.client, self.config)
        if published is None:
            return False
        manifest, floor = published
        current = self._current
        if current is not None and manifest.generation == current.manifest.generation:
            return True
        with self._swap:
            current = self._current
            if current is None or manifest.generation != current.manifest.generation:
                self._current = self._load(manifest, floor)
                log.info("loaded Milvus generation %d: %d articles, %d chunks", manifest.generation,
                         manifest.articles, manifest.chunks)
        return True

    def _load(self, manifest: Manifest, floor: int) -> MilvusGeneration:
        cfg = self.config
        gone = {r["key"] for r in iterate(self.client, cfg.name("gone"), f"gen <= {manifest.generation}", ["key"])}
        rows_of = visible(manifest.generation, floor)
        gone_chunks = {int(k[2:]) for k in gone if k.startswith("c:")}
        gone_keys = frozenset(k[2:] for k in gone if k.startswith("a:"))
        articles: dict[str, ArticleInfo] = {}
        for r in iterate(self.client, cfg.name("articles"), rows_of, ["key", "article", "title", "date", "source"]):
            if r["key"] not in gone_keys:
                articles[r["article"]] = ArticleInfo(r["key"], _none(r["title"]), _none(r["date"]),
                                                     _none(r["source"]))
        rows = [(int(r["id"]), r["article"], _none(r["date"]), _none(r["source"]))
                for r in iterate(self.client, cfg.name("chunks"), rows_of, ["id", "article", "date", "source"])
                if int(r["id"]) not in gone_chunks and r["article"] in articles]
        rows.sort(key=lambda r: r[0])
        table = ChunkTable(rows, {a: info.title for a, info in articles.items()})
        generation = MilvusGeneration(manifest, floor, table, articles, gone_keys, frozenset(gone_chunks))
        generation.lexical = MilvusLexical(self, generation)
        return generation

    # -- scores -----------------------------------------------------------------------------------------------

    def _bm25(self, kind: str, query: str, generation: MilvusGeneration, where: str | None
              ) -> list[tuple[Any, float]]:
        """(id, BM25 score) of the top documents among those `where` selects (None: every visible one); Milvus
        returns BM25 scores as negative distances."""
        terms = lexical.query_tokens(query)
        if not terms or not len(generation.table.ids):
            return []
        if where is None:
            where = generation.chunk_filter() if kind == "chunks" else generation.visible
        [hits] = self.client.search(self.config.name(kind), data=[" ".join(terms)], anns_field="sparse",
                                    limit=self.bm25_top, filter=where,
                                    output_fields=["article", "key"] if kind == "articles" else [],
                                    search_params={"metric_type": "BM25"})
        if kind == "articles":
            return [(h["entity"]["article"], -float(h["distance"])) for h in hits
                    if generation.articles.get(h["entity"]["article"], None) is not None
                    and generation.articles[h["entity"]["article"]].key == h["entity"]["key"]]
        return [(h["id"], -float(h["distance"])) for h in hits]

    def article_scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """Article-level BM25 score of each article, aligned with table.article_names: the top bm25_top among
        the articles with a chunk the mask allows, 0 for the rest."""
        generation = self.generation
        table = generation.table
        out = np.zeros(len(table.article_names), dtype=np.float32)
        for article, score in self._bm25("articles", query, generation, self._article_filter(mask, generation)):
            position = table.article_position.get(article)
            if position is not None:
                out[position] = score
        return out

    @staticmethod
    def _day_range(mask: np.ndarray, table: ChunkTable) -> tuple[int, int] | None:
        """(first, last day) when the mask allows exactly the dated chunks of a date range (NEWSQA's since/until
        and as-of filters), else None."""
        days = table.day[mask]
        if not len(days) or days.min() == UNDATED:
            return None
        lo, hi = int(days.min()), int(days.max())
        return (lo, hi) if np.array_equal(mask, (table.day >= lo) & (table.day <= hi)) else None

    def _chunk_filter(self, mask: np.ndarray | None, generation: MilvusGeneration) -> str | None:
        """A Milvus expression selecting exactly the chunks the mask allows, or None when there is none short
        enough (callers then filter Milvus's answers themselves)."""
        if mask is None:
            return generation.chunk_filter()
        table = generation.table
        allowed = table.ids[mask]
        if len(allowed) <= MAX_FILTER_IDS:
            return f"id in {quoted(allowed.tolist())}" if len(allowed) else "id < 0"
        days = self._day_range(mask, table)
        return f"{generation.chunk_filter()} and day >= {days[0]} and day <= {days[1]}" if days else None

    def _article_filter(self, mask: np.ndarray | None, generation: MilvusGeneration) -> str | None:
        """A Milvus expression selecting the current rows of the articles with a chunk the mask allows (None:
        every visible article, when no expression is short enough)."""
        if mask is None:
            return None
        table = generation.table
        days = self._day_range(mask, table)
        if days is not None:
            return f"{generation.visible} and day >= {days[0]} and day <= {days[1]}"
        allowed = np.flatnonzero(table.article_mask(mask))
        if len(allowed) <= MAX_FILTER_IDS // 4:
            names = [table.article_names[i] for i in allowed]
            return f"{generation.visible} and article in {quoted(names)}" if names else "gen < 0"
        return None

    def _rows(self, chunk_ids: np.ndarray, generation: MilvusGeneration | None = None) -> np.ndarray:
        ids = (generation or self.generation).table.ids
        if not len(ids):
            return np.full(len(chunk_ids), -1, dtype=np.int64)
        rows = np.minimum(np.searchsorted(ids, chunk_ids), len(ids) - 1)
        return np.where(ids[rows] == chunk_ids, rows, -1)

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the k nearest chunks; with a mask, among the chunks it allows."""
        generation = self.generation
        ids = generation.table.ids
        allowed = ids if mask is None else ids[mask]
        k = min(k, len(allowed))
        if k <= 0:
            return []
        expr, limit = self._chunk_filter(mask, generation), k
        if expr is None:  # a filter Milvus cannot be told: search wider, keep what the mask allows
            expr, limit = generation.chunk_filter(), min(MAX_LIMIT, k * 4)
        while True:
            [hits] = self.client.search(self.config.name("chunks"), data=[np.asarray(query, np.float32).tolist()],
                                        anns_field="vector", limit=min(MAX_LIMIT, limit + 16), filter=expr,
                                        output_fields=[], search_params={"metric_type": "IP"})
            found = np.array([int(h["id"]) for h in hits], dtype=np.int64)
            rows = self._rows(found, generation)
            keep = (rows >= 0) & (mask[np.maximum(rows, 0)] if mask is not None else True)
            out = [(int(found[i]), float(hits[i]["distance"])) for i in np.flatnonzero(keep)][:k]
            if len(out) >= k or len(hits) < limit or limit >= MAX_LIMIT:
                return out
            limit = min(MAX_LIMIT, limit * 4)  # a wide filter: look further

    def _fetch_vectors(self, chunk_ids: list[int]) -> None:
        missing = [c for c in dict.fromkeys(chunk_ids) if c not in self._vectors]
        if not missing:
            return
        if len(self._vectors) + len(missing) > VECTOR_CACHE:
            self._vectors = {}  # replaced whole: other threads keep reading the old dict
        cache = self._vectors
        for start in range(0, len(missing), 4096):
            batch = missing[start:start + 4096]
            for r in self.client.query(self.config.name("chunks"), filter=f"id in {quoted(batch)}",
                                       output_fields=["id", "vector"]):
                cache[int(r["id"])] = np.asarray(r["vector"], dtype=np.float32)

    def vector(self, chunk_id: int) -> np.ndarray:
        self._fetch_vectors([int(chunk_id)])
        found = self._vectors.get(int(chunk_id))
        return found.copy() if found is not None else np.zeros(self.manifest.dim, dtype=np.float32)

    def cosines(self, query: np.ndarray, chunk_ids: np.ndarray) -> np.ndarray:
        """Cosine of each chunk to the query (normalised vectors: inner product = cosine); 0 for unknown ids."""
        if not len(chunk_ids):
            return np.zeros(0, dtype=np.float32)
        wanted = [int(c) for c in chunk_ids]
        self._fetch_vectors(wanted)
        cache, zero = self._vectors, np.zeros(self.manifest.dim, dtype=np.float32)
        matrix = np.stack([cache.get(c, zero) for c in wanted])
        return (matrix @ np.asarray(query, dtype=np.float32)).astype(np.float32)

    def cosine(self, query: np.ndarray, chunk_id: int) -> float:
        return float(self.cosines(query, np.array([chunk_id], dtype=np.int64))[0])

    # -- rows ---------------------------------------------------------------------------------------------------

    def chunks(self, chunk_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Chunk id -> chunk span, its text and its article's metadata (as index.store.chunk_rows)."""
        out: dict[int, dict[str, Any]] = {}
        fields = ["id", "article", "ordinal", "start", "end", "title", "date", "source", "url", "text"]
        ids = [int(c) for c in chunk_ids]
        for start in range(0, len(ids), 4096):
            for r in self.client.query(self.config.name("chunks"), filter=f"id in {quoted(ids[start:start + 4096])}",
                                       output_fields=fields):
                out[int(r["id"])] = {"chunk_id": int(r["id"]), "article_id": r["article"], "ordinal": r["ordinal"],
                                     "start": r["start"], "end": r["end"], "title": _none(r["title"]),
                                     "date": _none(r["date"]), "source": _none(r["source"]), "url": _none(r["url"]),
                                     "text": r["text"]}
        return out

    def _article_rows(self, article_ids: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        """The current row of each of these articles (this generation's version)."""
        generation = self.generation
        out: dict[str, dict[str, Any]] = {}
        ids = sorted(set(article_ids))
        for start in range(0, len(ids), 1024):
            for r in self.client.query(self.config.name("articles"), output_fields=["key", "article", *fields],
                                       filter=f"article in {quoted(ids[start:start + 1024])} and "
                                              f"{generation.visible}"):
                info = generation.articles.get(r["article"])
                if info is not None and info.key == r["key"]:
                    out[r["article"]] = r
        return out

    def article(self, article_id: str) -> dict[str, Any] | None:
        fields = ["title", "date", "source", "url", "authors", "parts"]
        r = self._article_rows([article_id], fields).get(article_id)
        if r is None:
            return None
        return {"id": article_id, "title": _none(r["title"]), "date": _none(r["date"]),
                "source": _none(r["source"]), "url": _none(r["url"]), "authors": list(r["authors"] or []),
                "text": "".join(r["parts"])}

    def article_texts(self, article_ids: list[str]) -> dict[str, str]:
        return {a: "".join(r["parts"]) for a, r in self._article_rows(list(article_ids), ["parts"]).items()}

    def entities(self, article_ids: list[str]) -> dict[str, list[Entity]]:
        rows = self._article_rows(list(article_ids), ["entities"])
        return {a: [Entity(str(n), str(label), int(m)) for n, label, m in r["entities"] or []]
                for a, r in rows.items() if r["entities"]}

    def articles_mentioning(self, name: str) -> set[str]:
        """Articles with an entity matching name, aliases included (as index.store.articles_mentioning)."""
        key = normalize_name(name)
        if not key:
            return set()
        generation = self.generation
        last = key.split()[-1]
        pattern = json.dumps(f"%{last}%")
        found: set[str] = set()
        for r in iterate(self.client, self.config.name("articles"), f"norms like {pattern} and {generation.visible}",
                         ["key", "article", "norms"]):
            info = generation.articles.get(r["article"])
            if info is not None and info.key == r["key"] and any(
                    last in norm and name_matches(name, norm) for norm in r["norms"].split("|") if norm):
                found.add(r["article"])
        return found

    # Stories are grouped in the local index the writer keeps (index.stories) and not published to Milvus yet:
    # this engine answers without story ids, story lists or copy folding from stories.
    def story_ids(self, article_ids: list[str]) -> dict[str, str]:
        return {}

    def stories(self, story_ids: list[str] | None = None, *, since: str | None = None, until: str | None = None,
                limit: int = 50) -> list[dict[str, Any]]:
        return []

    def story_articles(self, story_id: str) -> list[dict[str, Any]]:
        return []

    def copy_origins(self, article_ids: list[str]) -> dict[str, str]:
        return {}

    def stats(self) -> dict[str, Any]:
        generation = self.generation
        infos = list(generation.articles.values())
        dates = sorted(i.date for i in infos if i.date)
        sources = Counter(i.source or "(unknown)" for i in infos)
        manifest = generation.manifest
        return {"articles": len(infos), "chunks": len(generation.table.ids),
                "first_date": dates[0] if dates else None, "last_date": dates[-1] if dates else None,
                "undated_articles": sum(1 for i in infos if not i.date), "sources": dict(sources.most_common()),
                "last_run": {"finished_at": manifest.updated_at}, "runs": [], "model": manifest.model,
                "backend": manifest.backend, "vector_index": f"Milvus (exact, FLAT) at {self.config.uri}",
                "generation": manifest.generation, "chunk_tokens": manifest.chunk_tokens, "index_bytes": 0,
                "store": "milvus"}

    def close(self) -> None:
        self.client.close()
