"""BM25 (bm25s; English stopwords, Snowball stemmer), saved per generation beside the vectors.

Two indexes: one over chunks (title + chunk text: which passage) and one over whole articles (title + the
whole cleaned text: which article is about the question; on real news questions this finds the right article
more often than the best chunk does). Exact names and rare words are where dense retrieval is weakest; BM25
catches them. bm25s tokenises (stopwords, stemmer); the index itself is in segments (index.segments), so an
update indexes only the texts it adds and marks the rows it replaces dead. A generation's list of segments is
written under its name before the metadata commit, like the FAISS file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from index import segments

_STEMMER: Any = None


@cache
def _bm25s() -> ModuleType:
    """bm25s, keeping the level the application gave its logger: bm25s sets it to DEBUG when imported, which put
    its "Building index" lines in a `newsqa -q` run."""
    logger = logging.getLogger("bm25s")
    level, fresh = logger.level, "bm25s" not in sys.modules
    import bm25s

    if fresh:
        logger.setLevel(level)
    return bm25s


def _stemmer() -> Any:
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    return _STEMMER


def _stopwords() -> list[str]:
    # The 179-word list, not Lucene's 33: questions are full of "what", "did", "which", "who".
    _bm25s()
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return list(STOPWORDS_EN_PLUS)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Stemmed terms of each text, stopwords out."""
    bm25s = _bm25s()
    return bm25s.tokenize(list(texts), stopwords=_stopwords(), stemmer=_stemmer(), show_progress=False,
                          return_ids=False)


@lru_cache(maxsize=1024)
def query_tokens(text: str) -> tuple[str, ...]:
    """A query's terms. Cached: a search scores one question against both indexes, and bm25s builds its
    stopword set and (disabled) progress bars on every call, 0.5 ms for one question."""
    bm25s = _bm25s()
    return tuple(bm25s.tokenize([text], stopwords=_stopwords(), stemmer=_stemmer(), show_progress=False,
                                return_ids=False)[0])


class TermStore(Protocol):
    def get(self, keys: Sequence[str]) -> dict[str, str]: ...
    def put(self, entries: dict[str, str]) -> None: ...


@cache
def _tokenizer_id() -> str:
    """What the terms depend on besides the text: a new bm25s or stopword list makes older cached terms unused."""
    bm25s = _bm25s()
    return f"bm25s {getattr(bm25s, '__version__', '?')}, {len(_stopwords())} stopwords, snowball english\0"


def term_key(text: str) -> str:
    return hashlib.sha1((_tokenizer_id() + text).encode("utf-8")).hexdigest()


def cached_terms(texts: Sequence[str], cache: TermStore) -> list[list[str]]:
    """Stemmed terms of each text: read from the cache when this text was tokenised before, else tokenised
    (and added to the cache). Terms never hold spaces (they are \\w+ runs), so a space joins them."""
    bm25s = _bm25s()
    keys = [term_key(t) for t in texts]
    known = cache.get(keys)
    missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
    if missing:
        fresh = bm25s.tokenize(list(missing.values()), stopwords=_stopwords(), stemmer=_stemmer(),
                               show_progress=False, return_ids=False)
        new = {k: " ".join(terms) for k, terms in zip(missing, fresh, strict=True)}
        cache.put(new)
        known = {**known, **new}
    return [known[k].split() for k in keys]


CHUNKS = "bm25"  # directory prefixes: bm25-<generation> (chunks), bm25a-<generation> (articles)
ARTICLES = "bm25a"
_LIST = "segments.json"


def _terms(texts: Sequence[str], cache: TermStore | None) -> list[list[str]]:
    if cache is not None:
        return cached_terms(texts, cache)
    return [list(t) for t in tokenize(texts)]


class Lexical:
    """BM25 scores for every document; row i of the scores is document ids[i] (chunk ids, or article ids,
    sorted)."""

    def __init__(self, index: segments.SegmentedBM25) -> None:
        self.index = index
        self.ids = index.ids
        # the last query's scores: answering asks for one question's scores several times (the search, then
        # further passages of the best articles); a tuple is replaced whole, so threads never see half of one
        self._last: tuple[str, np.ndarray] | None = None

    @classmethod
    def build(cls, ids: np.ndarray, texts: Sequence[str], cache: TermStore | None = None,
              name: str = "memory") -> Lexical:
        """One segment over all the documents."""
        ids = np.asarray(ids) if len(ids) else np.zeros(0, dtype=np.int64)
        segment = segments.build(name, ids, _terms(texts, cache) if len(texts) else [])
        return cls(segments.SegmentedBM25([segment], [np.zeros(0, dtype=np.int64)]))

    def updated(self, remove: Sequence[Any], ids: np.ndarray, texts: Sequence[str], cache: TermStore | None,
                name: str) -> Lexical:
        """The next generation's index: documents remove gone, documents ids (texts) added as one new segment
        (named name-0; a merge of small segments is named name-m)."""
        add = segments.build(f"{name}-0", np.asarray(ids), _terms(texts, cache)) if len(ids) else None
        return Lexical(self.index.updated(remove, add, f"{name}-m"))

    def full_match_score(self, query: str) -> float:
        """BM25 score of a document of average length holding each known query word once: what a passage
        scores when it matches the whole query, so that score / this = how much of the query it matches."""
        if not len(self.ids):
            return 1.0
        total = 0.0
        for token in set(query_tokens(query)):
            df = self.index.document_frequency(token)
            if df:
                total += self.index.idf(df)
        return total / (1 + segments.K1) if total else 1.0

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of each document (aligned with self.ids); zeros when no query word is known. Every
        document is scored: mask (the documents the caller keeps; another engine may score only those) is
        not needed here."""
        if not len(self.ids):
            return np.zeros(0, dtype=np.float32)
        last = self._last
        if last is not None and last[0] == query:
            return last[1]
        scores = self.index.scores(query_tokens(query))
        scores.flags.writeable = False  # shared between callers
        self._last = (query, scores)
        return scores


def lexical_path(index_dir: Path, generation: int, kind: str = CHUNKS) -> Path:
    return Path(index_dir) / f"{kind}-{generation}"


def save_lexical(lexical: Lexical, index_dir: Path, generation: int, kind: str = CHUNKS) -> list[Path]:
    """Write the generation's segment list (and the segments it adds) before its commit; returns the paths
    written (segments written by earlier generations are not written again)."""
    written = []
    for segment in lexical.index.segments:
        new = segment.name.startswith(f"{kind}-{generation}-")
        path = segments.segment_dir(index_dir, segment.name)
        if new or not (path / "terms.json").is_file():
            written.append(segments.save_segment(segment, index_dir, replace=True))
    final = lexical_path(index_dir, generation, kind)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    names = [s.name for s in lexical.index.segments]
    (tmp / _LIST).write_text(json.dumps({"segments": names}), encoding="utf-8")
    for i, dead in enumerate(lexical.index.dead):
        np.save(tmp / f"dead-{i}.npy", dead)
    np.save(tmp / "ids.npy", lexical.ids)
    segments.publish(tmp, final)
    return [final, *written]


def segment_names(index_dir: Path, generation: int, kind: str = CHUNKS) -> list[str]:
    return list(json.loads((lexical_path(index_dir, generation, kind) / _LIST).read_text("utf-8"))["segments"])


def load_lexical(index_dir: Path, generation: int, kind: str = CHUNKS, terms: bool = True) -> Lexical:
    """A generation's BM25 (FileNotFoundError for an index written before segments: rebuild it). terms=False:
    the segments' vocabularies are read when first needed (a writer adding a segment needs none)."""
    path = lexical_path(index_dir, generation, kind)
    names = segment_names(index_dir, generation, kind)
    loaded = [segments.load_segment(index_dir, name) for name in names]
    for segment in loaded if terms else ():
        _ = segment.terms
    dead = [np.load(path / f"dead-{i}.npy") for i in range(len(names))]
    lexical = Lexical(segments.SegmentedBM25(loaded, dead))
    if not np.array_equal(lexical.ids, np.load(path / "ids.npy")):
        raise ValueError(f"BM25 segments of {path} do not give its documents")
    return lexical


def remove_stale_lexical(index_dir: Path, keep: set[int]) -> None:
    """Remove the segment lists of generations not in keep, and the segments no kept generation uses."""
    used: set[str] = set()
    for kind in (CHUNKS, ARTICLES):
        for path in Path(index_dir).glob(f"{kind}-*"):
            name = path.name.split(".tmp-")[0]
            gen = name.removeprefix(f"{kind}-")
            if ".tmp-" in path.name or not gen.isdigit() or int(gen) not in keep:
                shutil.rmtree(path, ignore_errors=True)
            elif (path / _LIST).is_file():
                used.update(segment_names(index_dir, int(gen), kind))
    segments.remove_unused_segments(index_dir, used)
