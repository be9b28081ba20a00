"""BM25 in immutable segments: an update adds one small segment and marks replaced rows dead; it never
re-indexes the rest of the archive.

A segment holds raw term frequencies (term-major postings) and document lengths, never precomputed scores, so
the collection statistics (document count, document frequencies, average length) are computed over the live
rows of all segments at query time: the scores are exactly those of one BM25 index built over the live
documents (Lucene's formula, as bm25s computes it), however the archive was split into segments. When there
are MERGE_FACTOR segments of one size class, they are merged into one (their postings, not their texts: no
tokenising), so a typical update merges only small segments. A segment with more dead rows than live is
rewritten.

Files: `segments/<name>/` (ids, lengths, terms, postings; written once, then only read) shared by the
generations that use them; each generation lists its segments and their dead rows (bm25-<generation>/).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from pathlib import Path
from threading import Lock

import numpy as np

K1, B = 1.5, 0.75  # bm25s's defaults
MERGE_FACTOR = 8
SMALLEST = 64  # documents: segments up to this size are one class; then classes grow MERGE_FACTOR-fold
SEGMENTS_DIR = "segments"


@dataclass(frozen=True)
class Segment:
    name: str
    ids: np.ndarray  # document ids (chunk ids, or article ids)
    lengths: np.ndarray  # terms per document
    indptr: np.ndarray  # postings of term i: docs[indptr[i]:indptr[i + 1]]
    docs: np.ndarray  # document (row in this segment) of each posting
    tf: np.ndarray  # the term's count in it (uint16)
    given_terms: tuple[str, ...] | None = None  # term of each postings row (None: read from path when needed)
    path: Path | None = None

    @cached_property
    def terms(self) -> tuple[str, ...]:
        if self.given_terms is not None:
            return self.given_terms
        assert self.path is not None
        terms = tuple(json.loads((self.path / "terms.json").read_text(encoding="utf-8")))
        if len(self.indptr) != len(terms) + 1:
            raise ValueError(f"BM25 segment {self.path} is inconsistent")
        return terms

    @cached_property
    def vocab(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.terms)}

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        i = self.vocab.get(term)
        if i is None:
            return None
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        return self.docs[lo:hi], self.tf[lo:hi]


def build(name: str, ids: np.ndarray, term_lists: Sequence[Sequence[str]]) -> Segment:
    """A segment over documents ids[i] with the given terms."""
    vocab: dict[str, int] = {}
    lengths = np.fromiter((len(t) for t in term_lists), dtype=np.int32, count=len(term_lists))
    total = int(lengths.sum())
    term_ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in chain.from_iterable(term_lists)),
                           dtype=np.int64, count=total)
    doc = np.repeat(np.arange(len(term_lists), dtype=np.int64), lengths)
    return _from_pairs(name, np.asarray(ids), lengths, tuple(vocab), term_ids, doc, np.ones(total, np.int64))


def _from_pairs(name: str, ids: np.ndarray, lengths: np.ndarray, terms: tuple[str, ...], term_ids: np.ndarray,
                doc: np.ndarray, count: np.ndarray) -> Segment:
    """A segment from (term, document, count) triples, in any order and with repeats."""
    n = max(1, len(ids))
    key, where = np.unique(term_ids * n + doc, return_inverse=True)
    # 16 bits: a quarter less memory than 32 at 10^6 chunks (counts past 65,535 in one text are clipped: BM25 has
    # long saturated there)
    tf = np.minimum(np.bincount(where, weights=count, minlength=len(key)), np.iinfo(np.uint16).max).astype(np.uint16)
    term, docs = key // n, (key % n).astype(np.int32)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(term, minlength=len(terms)))]).astype(np.int64)
    return Segment(name, ids, lengths.astype(np.int32), indptr, docs, tf, terms)


def merge(name: str, segments: Sequence[Segment], dead: Sequence[np.ndarray]) -> Segment:
    """One segment holding the live rows of segments (dead[i]: the dead rows of segments[i])."""
    vocab: dict[str, int] = {}
    ids, lengths, term_ids, docs, counts = [], [], [], [], []
    offset = 0
    for seg, gone in zip(segments, dead, strict=True):
        alive = np.ones(len(seg.ids), dtype=bool)
        alive[gone] = False
        new_row = np.cumsum(alive) - 1 + offset
        mapping = np.fromiter((vocab.setdefault(t, len(vocab)) for t in seg.terms), dtype=np.int64,
                              count=len(seg.terms))
        term = np.repeat(mapping, np.diff(seg.indptr))
        keep = alive[seg.docs]
        term_ids.append(term[keep])
        docs.append(new_row[seg.docs[keep]])
        counts.append(seg.tf[keep].astype(np.int64))
        ids.append(seg.ids[alive])
        lengths.append(seg.lengths[alive])
        offset += int(alive.sum())
    return _from_pairs(name, np.concatenate(ids), np.concatenate(lengths), tuple(vocab), np.concatenate(term_ids),
                       np.concatenate(docs), np.concatenate(counts))


class SegmentedBM25:
    """BM25 over the live rows of some segments; row i of the scores is document ids[i] (ids sorted)."""

    def __init__(self, segments: Sequence[Segment], dead: Sequence[np.ndarray]) -> None:
        self.segments = list(segments)
        self.dead = [np.asarray(d, dtype=np.int64) for d in dead]
        live_ids, self._live = [], []
        for seg, gone in zip(self.segments, self.dead, strict=True):
            alive = np.ones(len(seg.ids), dtype=bool)
            alive[gone] = False
            self._live.append(alive)
            live_ids.append(seg.ids[alive])
        joined = np.concatenate(live_ids) if live_ids else np.zeros(0, dtype=np.int64)
        self.ids = np.sort(joined, kind="stable")
        if len(self.ids) > 1 and bool(np.any(self.ids[1:] == self.ids[:-1])):  # sorted: a repeat is adjacent
            raise ValueError("a document is live in two BM25 segments")
        # global row of each segment row (-1: dead)
        self._rows = []
        for seg, alive in zip(self.segments, self._live, strict=True):
            rows = np.full(len(seg.ids), -1, dtype=np.int64)
            rows[alive] = np.searchsorted(self.ids, seg.ids[alive])
            self._rows.append(rows)
        total = sum(int(seg.lengths[alive].sum()) for seg, alive in zip(self.segments, self._live, strict=True))
        self.avg_length = total / len(self.ids) if len(self.ids) else 1.0

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def _norms(self) -> list[np.ndarray]:
        """Per segment row, BM25's length normalisation k1 (1 - b + b len / avg len): fixed for a generation, so
        computed once, not per posting of every query."""
        return [(K1 * (1 - B + B * seg.lengths / self.avg_length)).astype(np.float32) for seg in self.segments]

    def _live_postings(self, term: str) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """(segment, global rows, counts, segment rows) of the live documents holding term, per segment."""
        out = []
        for i, (seg, rows, alive) in enumerate(zip(self.segments, self._rows, self._live, strict=True)):
            found = seg.postings(term)
            if found is None:
                continue
            docs, tf = found
            at = rows[docs]
            if len(alive) and not alive.all():  # most segments have no dead row: no mask to apply
                keep = at >= 0
                at, tf, docs = at[keep], tf[keep], docs[keep]
            if len(at):
                out.append((i, at, tf, docs))
        return out

    def idf(self, df: int) -> float:
        n = len(self.ids)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))  # Lucene's, as bm25s computes it

    def document_frequency(self, term: str) -> int:
        return sum(len(rows) for _, rows, _, _ in self._live_postings(term))

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every live document for the query tokens (a repeated token counts again, as in bm25s)."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        for term, times in Counter(tokens).items():
            postings = self._live_postings(term)
            df = sum(len(rows) for _, rows, _, _ in postings)
            if not df:
                continue
            idf = np.float32(self.idf(df) * times)
            for i, rows, tf, docs in postings:
                weight = tf.astype(np.float32)
                weight /= self._norms[i][docs] + weight
                weight *= idf
                # a term's rows are distinct within a segment, so a plain scatter-add is exact; in place and in
                # float32 it is a quarter faster than concatenating every posting for one float64 bincount
                out[rows] += weight
        return out

    def updated(self, remove: Sequence[object], add: Segment | None, merged_name: str) -> SegmentedBM25:
        """The next generation: rows of remove dead, add appended, segments merged as _merge_policy says."""
        doomed = np.asarray(list(remove)) if len(remove) else None
        segments, dead = [], []
        for seg, alive, gone in zip(self.segments, self._live, self.dead, strict=True):
            if doomed is not None and len(seg.ids):
                hit = np.flatnonzero(alive & np.isin(seg.ids, doomed))
                gone = np.union1d(gone, hit) if len(hit) else gone
            if len(gone) < len(seg.ids):  # a segment with no live row is dropped
                segments.append(seg)
                dead.append(gone)
        if add is not None and len(add.ids):
            segments.append(add)
            dead.append(np.zeros(0, dtype=np.int64))
        return SegmentedBM25(*_merge_policy(segments, dead, merged_name))


def _level(live: int) -> int:
    """A segment's size class: segments of a class are merged MERGE_FACTOR at a time (log-structured, as
    Lucene's LogMergePolicy), so each document is re-merged about log(archive) times in all and a typical update
    merges only small segments."""
    return int(math.log(max(live, 1) / SMALLEST) / math.log(MERGE_FACTOR)) if live > SMALLEST else 0


def _merge_policy(segments: list[Segment], dead: list[np.ndarray], name: str
                  ) -> tuple[list[Segment], list[np.ndarray]]:
    """Merge the segments of the smallest size class that holds MERGE_FACTOR of them, and rewrite a segment
    more dead than alive; once per update (the merged one is named name)."""
    live = [len(s.ids) - len(d) for s, d in zip(segments, dead, strict=True)]
    levels: dict[int, list[int]] = {}
    for i, n in enumerate(live):
        levels.setdefault(_level(n), []).append(i)
    full = [lv for lv, members in sorted(levels.items()) if len(members) >= MERGE_FACTOR]
    chosen = set(levels[full[0]]) if full else set()
    if not chosen:
        mostly_dead = [i for i, (s, d) in enumerate(zip(segments, dead, strict=True)) if len(d) > len(s.ids) / 2]
        chosen = set(mostly_dead[:1])
    if not chosen:
        return segments, dead
    picked = sorted(chosen)
    merged = merge(name, [segments[i] for i in picked], [dead[i] for i in picked])
    keep = [i for i in range(len(segments)) if i not in chosen]
    return [*(segments[i] for i in keep), merged], [*(dead[i] for i in keep), np.zeros(0, dtype=np.int64)]


# -- files ---------------------------------------------------------------------------------------------------

_ARRAYS = ("ids", "lengths", "indptr", "docs", "tf")
_LOADED: OrderedDict[tuple[str, str], Segment] = OrderedDict()  # segments never change once written
_LOADED_LOCK = Lock()
_KEEP_LOADED = 64


def segment_dir(index_dir: Path, name: str) -> Path:
    return Path(index_dir) / SEGMENTS_DIR / name


def publish(tmp: Path, final: Path) -> None:
    """Make a folder written under a temporary name final: its files fsynced, then one rename (a leftover of a
    writer killed before its generation committed is replaced)."""
    for path in tmp.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def save_segment(segment: Segment, index_dir: Path, replace: bool = False) -> Path:
    """Write a segment's files (fsynced; under a temporary name, then renamed) unless already written (replace:
    write anyway, over what a writer killed before its commit left)."""
    final = segment_dir(index_dir, segment.name)
    if (final / "terms.json").is_file() and not replace:
        return final
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for key in _ARRAYS:
        np.save(tmp / f"{key}.npy", getattr(segment, key))
    (tmp / "terms.json").write_text(json.dumps(list(segment.terms)), encoding="utf-8")
    publish(tmp, final)
    with _LOADED_LOCK:
        _LOADED.pop((str(Path(index_dir).resolve()), segment.name), None)
    return final


def load_segment(index_dir: Path, name: str) -> Segment:
    key = (str(Path(index_dir).resolve()), name)
    with _LOADED_LOCK:
        if key in _LOADED:
            _LOADED.move_to_end(key)
            return _LOADED[key]
    path = segment_dir(index_dir, name)
    arrays = {k: np.load(path / f"{k}.npy", mmap_mode="r" if k in ("docs", "tf") else None) for k in _ARRAYS}
    if len(arrays["docs"]) != len(arrays["tf"]) or len(arrays["ids"]) != len(arrays["lengths"]):
        raise ValueError(f"BM25 segment {path} is inconsistent")
    segment = Segment(name, arrays["ids"], arrays["lengths"], arrays["indptr"], arrays["docs"], arrays["tf"],
                      path=path)
    with _LOADED_LOCK:
        _LOADED[key] = segment
        while len(_LOADED) > _KEEP_LOADED:
            _LOADED.popitem(last=False)
    return segment


def remove_unused_segments(index_dir: Path, used: set[str]) -> None:
    root = Path(index_dir) / SEGMENTS_DIR
    if root.is_dir():
        for path in root.iterdir():
            if path.name not in used:
                shutil.rmtree(path, ignore_errors=True)
