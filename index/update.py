"""Incremental, atomic index updates: ingest new or changed articles, remove articles, rebuild.

Order of work, chosen so that a kill at any moment leaves the previous index intact:
1. chunk what is new or changed, and embed only texts whose vectors are not cached yet; cached vectors are
   committed batch by batch (they are not part of what readers see, so a rerun resumes instead of restarting);
2. write the next generation's FAISS file under a temporary name, fsync, rename;
3. one SQLite transaction swaps articles, chunks and the manifest (generation + 1).
Until 3 commits, readers and a restarted writer see the old generation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corpus.article import Article
from corpus.chunk import Chunk, Chunker, embedding_text
from corpus.entities import Entity, extract_entities
from corpus.readers import Skipped
from index import actors, integrity, lexical, segments, store, stories, vectors
from index.embed import Embedder, backend_of, hash_key
from index.lock import write_lock
from index.manifest import BackendMismatch, IndexCorrupt, Manifest
from index.report import UpdateReport, log_run

log = logging.getLogger(__name__)

ENTITY_BATCH = 64  # articles per spaCy call: how soon the entity thread notices a failed update

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Plan:
    """One update's work: what to write and what to remove, and the chunks to add."""

    articles: list[Article]  # new or changed, written whole
    remove_ids: list[str]  # articles whose rows go: old versions, removed ones (all of them in a rebuild)
    chunks: list[tuple[Chunk, str]]  # each with the hash of its embedding text
    texts: dict[str, str]  # embedding text by hash: identical chunks are embedded once
    fresh: bool = False  # a rebuild: start from an empty vector index, not the current one


@dataclass(frozen=True)
class Changes:
    """The rows an update removed and added, for the BM25 indexes to follow."""

    chunks_removed: np.ndarray
    chunks_added: np.ndarray
    articles_removed: list[str]
    articles_added: list[str]
    removed_texts: list[str]  # their cached BM25 terms go
    fresh: bool


def embed_hash(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\0{text}".encode()).hexdigest()


class Writer:
    """Holds the write lock and the store connection for one update."""

    def __init__(self, index_dir: Path, model: str, chunker: Chunker,
                 get_embedder: Callable[[], Embedder], *, progress: bool = False, batch_size: int = 256,
                 for_rebuild: bool = False, with_entities: bool = True,
                 on_progress: Callable[[str, int, int], None] | None = None, backend: str = "torch",
                 ann_threshold: int = vectors.DEFAULT_ANN_THRESHOLD, nprobe: int = vectors.DEFAULT_NPROBE,
                 known_entities: Mapping[str, Sequence[Entity]] | None = None,
                 publish: Callable[[sqlite3.Connection, Changes, Manifest], None] | None = None,
                 story_params: stories.StoryParams | None = None) -> None:
        self.story_params = story_params or stories.StoryParams()  # how articles are grouped into stories
        # Entities found elsewhere (a Ray ingest finds them on the cluster), by article content hash; read when
        # each update runs, so the caller may fill it batch by batch. Articles not in it go through spaCy here.
        self.known_entities: Mapping[str, Sequence[Entity]] = known_entities if known_entities is not None else {}
        self.publish = publish  # after each commit: copy the generation to another engine (index.milvus)
        self.backend = backend  # "auto" = the index's own (torch for a new index)
        self.ann_threshold = ann_threshold  # past this many chunks the vector index is IVF,SQ8
        self.nprobe = nprobe
        self.on_progress = on_progress  # (stage, done, total), for jobs that report progress
        self.with_entities = with_entities  # spaCy NER at ingest (NEWSQA_ENTITIES)
        self.index_dir = Path(index_dir)
        self.for_rebuild = for_rebuild  # a rebuild may change the model and the chunker
        self.model = model
        self.chunker = chunker
        self._get_embedder = get_embedder
        self._embedder: Embedder | None = None
        self.progress = progress
        self.batch_size = batch_size
        self.conn: sqlite3.Connection
        self.manifest: Manifest | None = None
        self._generation = 0  # generation to continue from when the manifest is being replaced (rebuild)

    def __enter__(self) -> Writer:
        self._lock = write_lock(self.index_dir)
        self._lock.__enter__()
        self._started = store.now()
        try:
            self.conn = store.connect(self.index_dir)
            self.conn.isolation_level = None  # explicit BEGIN/COMMIT below
            self.manifest = store.read_manifest(self.conn)
            if not store.has_articles(self.conn):
                actors.mark_quotes_current(self.conn)  # an empty index: its quotes will be this extractor's
            if self.backend == "auto":
                self.backend = self.manifest.backend if self.manifest is not None else "torch"
            if self.manifest is not None and not self.for_rebuild:
                self.manifest.check_model(self.model, str(self.index_dir))
                self.manifest.check_backend(self.backend, str(self.index_dir))
                if (self.manifest.chunk_tokens, self.manifest.chunk_overlap) != (
                        self.chunker.max_tokens, self.chunker.overlap_tokens):
                    log.warning("the index chunks at %d/%d tokens; keeping that (newsqa rebuild applies new "
                                "settings)", self.manifest.chunk_tokens, self.manifest.chunk_overlap)
                    self.chunker = Chunker(self.manifest.chunk_tokens, self.manifest.chunk_overlap,
                                           self.manifest.encoding)
            self._checksum = self.manifest.backend_checksum if self.manifest is not None else ""
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.close()
        finally:
            self._lock.__exit__(None, None, None)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            embedder = self._get_embedder()  # loaded only when something needs embedding
            if backend_of(embedder) != self.backend:
                raise BackendMismatch(f"the embedder runs the '{backend_of(embedder)}' backend but this update "
                                      f"of {self.index_dir} needs '{self.backend}'")
            self._embedder = embedder
            self._checksum = str(getattr(embedder, "checksum", ""))
        return self._embedder

    @property
    def hash_key(self) -> str:
        return hash_key(self.model, self.backend)

    # -- public operations -------------------------------------------------------------------------------

    def ingest(self, articles: Sequence[Article], skipped: Sequence[Skipped] = (), inputs: Sequence[str] = (),
               *, replace_all: bool = False) -> UpdateReport:
        """Add new and changed articles; with replace_all, articles not in the input are removed too."""
        return self.ingest_batches([(articles, skipped)], inputs, replace_all=replace_all)

    def ingest_batches(self, batches: Iterable[tuple[Sequence[Article], Sequence[Skipped]]],
                       inputs: Sequence[str] = (), *, replace_all: bool = False) -> UpdateReport:
        """Ingest batch after batch, each one atomic update: memory holds one batch, whatever the input size.

        A kill leaves the index at the last committed batch; a rerun skips what is already in (unchanged).
        """
        total = UpdateReport()
        seen: set[str] = set()
        for articles, skipped in batches:
            total.absorb(self._ingest_batch(articles, skipped))
            seen.update(a.id for a in articles)
        if replace_all:
            gone = sorted(set(store.article_hashes(self.conn)) - seen)
            if gone:
                report = UpdateReport(removed=gone)
                self._apply([], remove_ids=gone, report=report)
                total.absorb(report)
        self.upgrade(total)
        total.generation = self.manifest.generation if self.manifest else 0
        log_run(self.conn, "rebuild" if replace_all else "ingest", self._started, inputs, total)
        return total

    def upgrade(self, report: UpdateReport | None = None) -> bool:
        """Link actors and group stories of an index written before they existed, and extract its quotes again
        when an earlier extractor made them, when no update has done it yet (an ingest that finds every article
        unchanged writes nothing, so an older archive would otherwise wait for its next new article). One
        transaction of its own; readers see the tables, not a new generation."""
        linked = self.conn.execute("SELECT 1 FROM meta WHERE key = 'actors_linked'").fetchone() is not None
        if (linked and stories.grouped_before(self.conn) and actors.quotes_current(self.conn)
                or not store.has_articles(self.conn)):
            return False
        started = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            n = actors.backfill(self.conn)
            requoted = 0 if actors.quotes_current(self.conn) else actors.requote(self.conn)
            done = stories.update_stories(self.conn, [], {}, self.story_params)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        log.info("upgrade: %d stored articles linked to actors, quotes extracted again from %d, %d grouped into "
                 "stories in %.1f s", n, requoted, done.grouped, time.perf_counter() - started)
        if report is not None:
            report.stories_touched += len(done.touched)
        return True

    def _ingest_batch(self, articles: Sequence[Article], skipped: Sequence[Skipped]) -> UpdateReport:
        report = UpdateReport(skipped=list(skipped))
        started = time.perf_counter()
        existing = store.article_hashes(self.conn, {a.id for a in articles})
        latest: dict[str, Article] = {}
        for article in articles:
            previous = latest.get(article.id)
            if previous is not None:
                if previous.content_hash == article.content_hash:
                    report.duplicates += 1
                    continue
                report.skipped.append(Skipped(previous.origin, f"superseded by a later record with the same id "
                                                               f"'{article.id}' at {article.origin}"))
            latest[article.id] = article
        todo: list[Article] = []
        for article in latest.values():
            old = existing.get(article.id)
            if old == article.content_hash:
                report.unchanged += 1
            else:
                (report.updated if old else report.new).append(article.id)
                todo.append(article)
        report.seconds["compare"] = time.perf_counter() - started
        if todo:
            self._apply(todo, remove_ids=report.updated, report=report)
        return report

    def remove(self, article_ids: Sequence[str]) -> UpdateReport:
        report = UpdateReport()
        existing = store.article_hashes(self.conn, article_ids)
        report.removed = [a for a in dict.fromkeys(article_ids) if a in existing]
        report.not_found = [a for a in dict.fromkeys(article_ids) if a not in existing]
        if report.removed:
            self._apply([], remove_ids=report.removed, report=report)
        log_run(self.conn, "remove", self._started, list(article_ids), report)
        return report

    def rebuild(self) -> UpdateReport:
        """Re-chunk and re-embed every stored article with the configured model and chunker."""
        rows = self.conn.execute("SELECT id, title, date, source, url, authors, text, origin FROM articles"
                                 ).fetchall()
        articles = [Article(id=r["id"], text=r["text"], title=r["title"], date=r["date"], source=r["source"],
                            url=r["url"], authors=tuple(json.loads(r["authors"])), origin=r["origin"] or "")
                    for r in rows]
        self._generation = self.manifest.generation if self.manifest else 0  # numbering goes on
        self.manifest = None  # start from an empty vector index under the new settings
        report = UpdateReport()
        self._apply(articles, remove_ids=[a.id for a in articles], report=report, fresh=True)
        report.updated = [a.id for a in articles]
        log_run(self.conn, "rebuild", self._started, [], report)
        return report

    # -- the update itself: plan -> embed -> commit ----------------------------------------------------------

    def _apply(self, todo: list[Article], remove_ids: list[str], report: UpdateReport, fresh: bool = False
               ) -> None:
        """One atomic update: nothing readers see changes before _commit's transaction commits."""
        t0 = time.perf_counter()
        plan = self._plan(todo, remove_ids, fresh)
        report.seconds["chunk"] = time.perf_counter() - t0
        entities = self._embed(plan, report)
        self._commit(plan, entities, report)

    def _plan(self, todo: list[Article], remove_ids: list[str], fresh: bool) -> Plan:
        """Chunk the articles; each chunk gets the hash of its embedding text, each distinct text is kept once."""
        log.info("update: chunking %d articles", len(todo))
        self._progress("chunking", 0, len(todo))
        planned: list[tuple[Chunk, str]] = []
        texts: dict[str, str] = {}
        for article in todo:
            for chunk in self.chunker.split(article):
                text = embedding_text(article, chunk)
                digest = embed_hash(self.hash_key, text)
                texts.setdefault(digest, text)
                planned.append((chunk, digest))
        self._progress("chunking", len(todo), len(todo))
        return Plan(articles=todo, remove_ids=remove_ids, chunks=planned, texts=texts, fresh=fresh)

    def _embed(self, plan: Plan, report: UpdateReport) -> list[list[Any]]:
        """Cache the vectors of the plan's texts; return each article's entities, found meanwhile."""
        # Entities (spaCy, mostly one core) are extracted in a thread beside the embedding: on 2 cores the model
        # alone leaves part of a core idle, and NER run before it added ~17 % to an int8 ingest.
        stop = threading.Event()
        log.info("update: extracting entities and embedding")
        pool = ThreadPoolExecutor(1, thread_name_prefix="entities")
        known = self.known_entities if self.with_entities else {}
        digests = [a.content_hash for a in plan.articles]
        unknown = [a for a, digest in zip(plan.articles, digests, strict=True) if digest not in known]
        try:
            wanted = self.with_entities and unknown
            pending = pool.submit(_timed_entities, unknown, stop) if wanted else None
            t1 = time.perf_counter()
            self._embed_missing(plan.texts, report)
            report.reused += len(plan.chunks) - report.embedded
            report.seconds["embed"] = time.perf_counter() - t1
            t0 = time.perf_counter()
            found, entity_seconds = pending.result() if pending is not None else ([[]] * len(unknown), 0.0)
        finally:
            stop.set()
            pool.shutdown(wait=True)  # at most one small batch of NER after a failure
        found_by = dict(zip((a.content_hash for a in unknown), found, strict=True))
        entities = [list(known[d]) if d in known else found_by[d] for d in digests]
        report.seconds["entities_wait"] = time.perf_counter() - t0  # after the embedding was done
        report.seconds["entities"] = entity_seconds  # the thread's own time, mostly beside the embedding
        return entities

    def _commit(self, plan: Plan, entities: list[list[Any]], report: UpdateReport) -> None:
        """Make the plan the next generation (see module doc), then remove files no reader can still need."""
        t2 = time.perf_counter()
        dim = self.manifest.dim if self.manifest else (self.embedder.dim if plan.chunks else 0)
        generation = (self.manifest.generation if self.manifest else self._generation) + 1
        log.info("update: writing metadata of generation %d", generation)
        self._progress("writing", 0, 1)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            changes = self._write_rows(plan, entities, report)
            added = store.vectors_for(self.conn, [h for _, h in plan.chunks], dim)
            self._group_stories(plan, added, report)
            manifest = self._write_generation(dim, generation, report, changes, added)
            log.info("update: committing generation %d", generation)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        previous, self.manifest = self.manifest, manifest
        report.generation = generation
        self._progress("writing", 1, 1)
        log.info("update: committed generation %d; removing files of older generations", generation)
        _write_json(self.index_dir / MANIFEST_NAME, manifest.to_dict())
        # readers may still hold generation - 1, whose vectors may be a delta over an older base
        keep = {generation, generation - 1, manifest.vector_base, previous.vector_base if previous else 0}
        vectors.remove_stale(self.index_dir, keep=keep)
        lexical.remove_stale_lexical(self.index_dir, keep={generation, generation - 1})
        report.seconds["write"] = (time.perf_counter() - t2 - report.seconds["bm25"]
                                   - report.seconds.get("stories", 0.0) - report.seconds.get("actors", 0.0))
        if self.publish is not None:
            t4 = time.perf_counter()
            self.publish(self.conn, changes, manifest)
            report.seconds["publish"] = time.perf_counter() - t4

    def _write_rows(self, plan: Plan, entities: list[list[Any]], report: UpdateReport) -> Changes:
        """In the open transaction: swap the articles, entities and chunks."""
        old_chunk_ids = store.chunk_ids_of(self.conn, plan.remove_ids)
        report.chunks_removed = len(old_chunk_ids)
        # the texts going out, whose cached BM25 terms go with them (a rebuild prunes the whole cache instead)
        removed_texts = [] if plan.fresh else [*store.chunk_texts(self.conn, old_chunk_ids)[1],
                                               *store.article_docs(self.conn, plan.remove_ids)[1]]
        removed_hashes = None if plan.fresh else store.embed_hashes_of(self.conn, old_chunk_ids)
        actors.forget_articles(self.conn, plan.remove_ids)
        store.delete_articles(self.conn, plan.remove_ids)
        if not plan.fresh:
            actors.backfill(self.conn)  # an index written before actors: its stored articles, once
        for article, found in zip(plan.articles, entities, strict=True):
            store.insert_article(self.conn, article)
            store.insert_entities(self.conn, article.id, found)
        t_actors = time.perf_counter()
        actors.link_articles(self.conn, plan.articles, entities)  # only this update's mentions
        report.seconds["actors"] = time.perf_counter() - t_actors
        store.count_lines(self.conn, (a.raw_lines for a in plan.articles if a.raw_lines is not None))
        new_ids = np.array([store.insert_chunk(self.conn, c, h) for c, h in plan.chunks], dtype=np.int64)
        report.chunks_added = len(plan.chunks)
        store.prune_embeddings(self.conn, removed_hashes)
        return Changes(np.array(old_chunk_ids, dtype=np.int64), new_ids, list(plan.remove_ids),
                       [a.id for a in plan.articles], removed_texts, plan.fresh)

    def _group_stories(self, plan: Plan, added: np.ndarray, report: UpdateReport) -> None:
        """In the open transaction: the articles removed leave their stories, the new ones join or start one."""
        started = time.perf_counter()
        rows: dict[str, list[int]] = {}
        for row, (chunk, _) in enumerate(plan.chunks):
            rows.setdefault(chunk.article_id, []).append(row)
        means = {a: stories.mean_vector(added[r]) for a, r in rows.items()}
        done = stories.update_stories(self.conn, plan.remove_ids, means, self.story_params)
        report.stories_touched += len(done.touched) + len(done.deleted)
        report.seconds["stories"] = time.perf_counter() - started
        log.info("update: %d articles grouped, %d stories touched (%d stored articles compared)", done.grouped,
                 len(done.touched) + len(done.deleted), done.compared)

    def _write_generation(self, dim: int, generation: int, report: UpdateReport, changes: Changes,
                          added: np.ndarray) -> Manifest:
        """In the open transaction: the generation's BM25 and vector files, then the manifest row that names them."""
        n_articles, n_chunks = store.counts(self.conn)
        t3 = time.perf_counter()
        log.info("update: writing BM25 of generation %d", generation)
        written, used = self._write_lexical(generation, changes)  # before the commit, as vectors
        report.seconds["bm25"] = time.perf_counter() - t3
        log.info("update: writing vectors of generation %d", generation)
        vector_files, base, approximate = self._write_vectors(dim, generation, changes, added, n_chunks)
        written += vector_files
        files = integrity.digests(self.index_dir, written)
        previous = self.manifest.files if self.manifest else {}
        for name, digest in previous.items():  # files kept as they were: segments, the vectors' base
            kept_segment = name.startswith(f"{segments.SEGMENTS_DIR}/") and name.split("/")[1] in used
            if (kept_segment or name == vectors.vectors_path(Path(), base).name) and name not in files:
                files[name] = digest
        manifest = Manifest(model=self.model, dim=dim, chunk_tokens=self.chunker.max_tokens,
                            chunk_overlap=self.chunker.overlap_tokens, encoding=self.chunker.encoding,
                            generation=generation, articles=n_articles, chunks=n_chunks,
                            updated_at=store.now(), backend=self.backend,
                            backend_checksum=self._checksum if self.backend != "torch" else "", files=files,
                            vector_base=base if base != generation else 0, vector_approximate=approximate)
        store.write_manifest(self.conn, manifest)
        return manifest

    def _write_vectors(self, dim: int, generation: int, changes: Changes, added: np.ndarray, n_chunks: int
                       ) -> tuple[list[Path], int, bool]:
        """The generation's vectors: a delta over the current base file holding just what this update added and
        removed, or a whole new file (a rebuild, a first update, a delta grown past DELTA_FRACTION of its base,
        or an index that must change kind). Returns (files written, base generation, base is approximate)."""
        delta = None if changes.fresh else self._current_delta(dim)
        if delta is not None:
            delta = delta.updated(changes.chunks_removed, changes.chunks_added, added)
            if delta.count != n_chunks:
                raise RuntimeError(f"vector count {delta.count} != chunk count {n_chunks}")
            approximate = bool(self.manifest and self.manifest.vector_approximate)
            same_kind = vectors.kind_fits(approximate, delta.count, self.ann_threshold)
            if same_kind and not delta.outgrown():
                return [vectors.save_delta(delta, self.index_dir, generation)], delta.base, approximate
        log.info("update: writing the whole vector index of generation %d", generation)
        if changes.fresh:
            index = vectors.new_index(dim)
            vectors.add(index, changes.chunks_added, added)
        else:
            index = self._current_vectors(dim)
            if index is None:  # lost or unreadable: the stored vectors, already holding this update's rows
                index = vectors.new_index(dim)
                vectors.add(index, *store.all_chunk_vectors(self.conn, dim))
            else:
                vectors.remove(index, changes.chunks_removed.tolist())
                vectors.add(index, changes.chunks_added, added)
        index = vectors.fit_to_size(index, self.ann_threshold, lambda: store.all_chunk_vectors(self.conn, dim),
                                    self.nprobe)
        if index.ntotal != n_chunks:
            raise RuntimeError(f"vector count {index.ntotal} != chunk count {n_chunks}")
        path = vectors.save_vectors(index, self.index_dir, generation)  # see module doc
        return [path], generation, vectors.is_approximate(index)

    def _write_lexical(self, generation: int, changes: Changes) -> tuple[list[Path], set[str]]:
        """In the open transaction: both BM25 indexes of the generation. An update adds one segment of what it
        added and marks what it removed; a rebuild, or an index written before segments, indexes everything."""
        terms = store.TermCache(self.conn)  # in this transaction: kept only with the generation it built
        previous = None if changes.fresh else self._previous_lexical()
        parts = ((lexical.CHUNKS, store.chunk_texts, changes.chunks_removed, changes.chunks_added),
                 (lexical.ARTICLES, store.article_docs, changes.articles_removed,
                  np.array(changes.articles_added, dtype=str)))
        written, used = [], set()
        for kind, docs, removed, added in parts:
            name = f"{kind}-{generation}"
            if previous is None:
                bm25 = lexical.Lexical.build(*docs(self.conn), cache=terms, name=f"{name}-0")
            else:
                ids, texts = docs(self.conn, added)  # in id order, which need not be the order given
                bm25 = previous[kind].updated(removed, ids, texts, terms, name)
            written += lexical.save_lexical(bm25, self.index_dir, generation, kind)
            used.update(segment.name for segment in bm25.index.segments)
        if previous is None:
            terms.prune()
        else:
            terms.forget(lexical.term_key(t) for t in changes.removed_texts)
        return written, used

    def _previous_lexical(self) -> dict[str, lexical.Lexical] | None:
        """The current generation's BM25 indexes, or None when this update indexes everything."""
        if self.manifest is None or not self.manifest.generation:
            return None
        try:
            return {kind: lexical.load_lexical(self.index_dir, self.manifest.generation, kind, terms=False)
                    for kind in (lexical.CHUNKS, lexical.ARTICLES)}
        except (FileNotFoundError, OSError, ValueError) as exc:
            log.info("update: indexing all texts for BM25 (%s)", exc)
            return None

    def _progress(self, stage: str, done: int, total: int) -> None:
        """Tell on_progress (a job's status) where the update is: chunking, embedding, writing."""
        if self.on_progress:
            self.on_progress(stage, done, total)

    def _embed_missing(self, texts: dict[str, str], report: UpdateReport) -> None:
        """Vectors for the texts not cached yet; progress counts every text, the cached ones as done."""
        cached = store.cached_hashes(self.conn, list(texts))
        missing = sorted((h for h in texts if h not in cached), key=lambda h: len(texts[h]))
        self._progress("embedding", len(texts) - len(missing), len(texts))
        if not missing:
            return
        log.info("update: embedding %d texts (%d cached)", len(missing), len(texts) - len(missing))
        bar = _progress(len(missing), "embedding", self.progress)
        try:
            for i in range(0, len(missing), self.batch_size):
                batch = missing[i:i + self.batch_size]
                vecs = self.embedder.encode([texts[h] for h in batch])
                self.conn.execute("BEGIN IMMEDIATE")
                store.cache_vectors(self.conn, batch, vecs)
                self.conn.execute("COMMIT")  # kept across a crash: a rerun embeds only the rest
                report.embedded += len(batch)
                bar.update(len(batch))
                self._progress("embedding", len(texts) - len(missing) + i + len(batch), len(texts))
        finally:
            bar.close()

    def _current_delta(self, dim: int) -> vectors.Delta | None:
        """The current generation's vectors as a delta over its base file (empty when it is its own base); None
        when there is no index yet or the delta cannot be read (then the update writes the whole index)."""
        manifest = self.manifest
        if manifest is None or not manifest.generation:
            return None
        base = manifest.vector_base or manifest.generation
        try:
            # the base file is checked (0.3 s per 400 MB), so that a damaged one is replaced, not built upon
            integrity.verify(self.index_dir, manifest.files, vectors.vectors_path(Path(), base).name)
            if base == manifest.generation:
                return vectors.Delta.empty(base, manifest.chunks, dim)
            integrity.verify(self.index_dir, manifest.files, vectors.delta_path(Path(), manifest.generation).name)
            return vectors.load_delta(self.index_dir, manifest.generation)
        except (OSError, ValueError, KeyError, IndexCorrupt) as exc:
            log.warning("vector files of generation %d unreadable (%s): writing the whole vector index",
                        manifest.generation, exc)
            return None

    def _current_vectors(self, dim: int) -> Any:
        """The current generation's whole vector index (its base file with its delta applied); None when a file
        is missing, unreadable or disagrees with the store (the caller rebuilds it from the stored vectors)."""
        if self.manifest is None:
            return vectors.new_index(dim)
        manifest = self.manifest
        base = manifest.vector_base or manifest.generation
        try:
            for name in {vectors.vectors_path(Path(), base).name,
                         vectors.delta_path(Path(), manifest.generation).name if base != manifest.generation else ""}:
                if name:
                    integrity.verify(self.index_dir, manifest.files, name)
            index = vectors.load_generation(self.index_dir, manifest.generation, base)
            if index.ntotal == manifest.chunks:
                return index
            log.warning("vector files have %d vectors, the store %d chunks: rebuilding them from the store",
                        index.ntotal, manifest.chunks)
        except (RuntimeError, OSError, ValueError, KeyError) as exc:  # faiss or numpy: missing or unreadable file
            log.warning("vector files unreadable (%s): rebuilding them from the stored vectors", exc)
        return None


def _timed_entities(articles: list[Article], stop: threading.Event) -> tuple[list[list[Any]], float]:
    """Each article's entities, batch by batch, and the time it took; stops early once told to."""
    started = time.perf_counter()
    found: list[list[Any]] = []
    for i in range(0, len(articles), ENTITY_BATCH):
        if stop.is_set():  # the embedding failed or was interrupted: nothing will be written
            break
        found += extract_entities([(a.title, a.text) for a in articles[i:i + ENTITY_BATCH]])
    return found, time.perf_counter() - started


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk", disable=not enabled, dynamic_ncols=True)
