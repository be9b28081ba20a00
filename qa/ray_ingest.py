"""Ingest on a Ray cluster (`newsqa ingest --ray [ADDRESS]`): read, clean, chunk, entities and embedding run on
the cluster with Ray Data; this process (the driver) stays the index's one writer.

Per batch of NEWSQA_INGEST_BATCH records, in input order, as a local ingest groups them:
1. the cluster reads the input files (one task per file), in order;
2. the driver learns the batch's boilerplate (one call, as corpus.load does), the cluster cleans each record;
3. the driver keeps the new and changed articles; actors (each loads the model and spaCy once) chunk them, embed
   their chunks' texts and find their entities;
4. the driver caches the vectors (committed, as a local ingest caches its own) and hands the batch and its
   entities to index.update.Writer, which finds every vector cached and writes the generation as usual.
So a Ray ingest gives the same index as a local one: the same articles, chunk texts and ids; vectors equal up to
float rounding (the model sees other batch compositions). The workers need the same newsqa install and the input
files at the same paths (relative paths are read from the driver's working directory).

Nothing here imports ray at import time: newsqa works without it; `--ray` without it says what to install.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corpus.article import Article
from corpus.chunk import Chunker, embedding_text
from corpus.entities import Entity, extract_entities
from corpus.load import batch_raw, clean_record, learn_boilerplate
from corpus.readers import RawRecord, Skipped, expand_inputs, read_file
from index import store
from index.embed import Embedder, model_name
from index.report import UpdateReport
from index.store import LineHistory
from index.update import Writer, embed_hash
from qa.engine import _load_embedder, embedder_factory, writer
from qa.settings import Settings

log = logging.getLogger(__name__)

ADDRESS_HELP = ("set it with `newsqa ingest PATH... --ray ADDRESS` or NEWSQA_RAY_ADDRESS: HOST:6379 (the head "
                "started by `ray start --head`), ray://HOST:10001 (Ray Client), auto (the cluster `ray start` began "
                "on this machine) or local (a Ray of this machine only)")
CONNECT_TIMEOUT = 5.0  # seconds for the head's port to answer; ray.init itself waits minutes, then exits
RECORDS_PER_TASK = 200  # cleaning: records per Ray task
ARTICLES_PER_CALL = 16  # embedding: articles per actor call (~100 texts: a few model batches)


class RayNotInstalled(RuntimeError):
    """`--ray` was asked for but ray is not installed."""


class RayUnavailable(RuntimeError):
    """No Ray cluster answers at the configured address."""


@dataclass(frozen=True)
class Spec:
    """What a worker needs to chunk and embed exactly as the writer would."""

    model: str
    backend: str
    cache_dir: str
    chunk_tokens: int
    chunk_overlap: int
    encoding: str
    hash_key: str
    entities: bool
    batch_size: int


@dataclass(frozen=True)
class Prepared:
    """One article as the cluster returns it: the vectors of its chunks' texts, and its entities."""

    content_hash: str
    hashes: list[str]  # its texts' embed hashes (a text shared with another article of the call: once)
    vectors: np.ndarray
    entities: list[Entity] | None
    checksum: str = ""  # the worker's model file (onnx-int8), recorded in the manifest


class ClusterModel:
    """The writer's embedder in a Ray ingest: the dimension, name, backend and checksum of the model the workers
    ran, so the driver does not load it to learn them; a text the cluster left unembedded (none should be) is
    embedded here, with the model loaded on first need."""

    def __init__(self, name: str, dim: int, backend: str, checksum: str, load: Callable[[], Embedder]) -> None:
        self.name, self.dim, self.backend, self.checksum = name, dim, backend, checksum
        self._load = load

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        log.warning("ray: embedding %d texts on the driver (the cluster did not)", len(texts))
        return self._load().encode(texts, batch_size)


@dataclass
class _Stats:
    read_clean: float = 0.0
    cluster_embed: float = 0.0
    embedded: int = 0  # texts whose vectors were new to the index's cache
    model: Prepared | None = None  # one the cluster returned: what its model's vectors look like


def ingest_on_ray(settings: Settings, paths: Sequence[str | os.PathLike[str]], address: str = "", *,
                  progress: bool = False, replace_all: bool = False) -> UpdateReport:
    """Like qa.engine.ingest, with the work spread over the Ray cluster at address (settings.ray_address when
    empty; Ray's own default when both are). The index is not opened before the cluster answers."""
    ray = _import_ray()
    started_here = connect(address or settings.ray_address)
    context = ray.data.DataContext.get_current()
    saved = (context.execution_options.preserve_order, context.enable_progress_bars)
    context.execution_options.preserve_order = True  # articles reach the writer in input order: same chunk ids
    context.enable_progress_bars = progress
    stats = _Stats()
    known: dict[str, list[Entity]] = {}
    load = embedder_factory(settings)

    def get_embedder() -> Embedder:  # the writer asks only after the cluster prepared something
        if stats.model is None:
            return load()
        return ClusterModel(model_name(settings.model), stats.model.vectors.shape[1], w.backend,
                            stats.model.checksum, load)

    try:
        with writer(settings, progress=progress, known_entities=known, get_embedder=get_embedder) as w:
            spec = Spec(model=settings.model, backend=w.backend, cache_dir=settings.cache_dir,
                        chunk_tokens=w.chunker.max_tokens, chunk_overlap=w.chunker.overlap_tokens,
                        encoding=w.chunker.encoding, hash_key=w.hash_key, entities=w.with_entities,
                        batch_size=settings.batch_size)
            batches = _batches(ray, w, spec, settings, paths, known, stats)
            report = w.ingest_batches(batches, [str(p) for p in paths], replace_all=replace_all)
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved
        if started_here:
            ray.shutdown()
    # The writer found every vector cached; count the ones the cluster embedded as a local ingest counts its own.
    report.embedded += stats.embedded
    report.reused -= stats.embedded
    report.seconds = {"read_clean": stats.read_clean, "cluster_embed": stats.cluster_embed, **report.seconds}
    return report


def connect(address: str) -> bool:
    """Join the Ray cluster at address ("" = Ray's default: RAY_ADDRESS, a cluster started on this machine, else
    a new local one). True when this call connected (the caller disconnects); False when this process already
    was (a notebook, a test), which is then used as it is once the address answers."""
    ray = _import_ray()
    if address and address not in ("auto", "local"):
        _check_reachable(address)
    if ray.is_initialized():
        log.info("ray: using this process's connection to %s", ray.get_runtime_context().gcs_address)
        return False
    local = address in ("", "local")
    try:
        ray.init(address=address or None, logging_level=logging.WARNING,
                 **({"include_dashboard": False} if local else {}))
    except (ConnectionError, TimeoutError, SystemExit) as exc:  # ray.init exits the process on a GCS timeout
        raise RayUnavailable(f"no Ray cluster answers at '{address or 'auto'}' ({exc}); {ADDRESS_HELP}. "
                             f"The index was not touched.") from exc
    return True


def _check_reachable(address: str) -> None:
    """Fail in seconds, naming the setting, when the head's port does not answer (ray.init takes minutes)."""
    if Path(address).exists():
        raise RayUnavailable(f"'{address}' is a file or folder, not a Ray address: write the paths before --ray, "
                             f"or --ray=ADDRESS; {ADDRESS_HELP}")
    parsed = urllib.parse.urlsplit("//" + address.split("://", 1)[-1])
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError as exc:
        raise RayUnavailable(f"'{address}' is not a Ray address ({exc}); {ADDRESS_HELP}") from None
    if not host or not port:
        return  # a name ray.init resolves itself
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise RayUnavailable(f"no Ray cluster answers at '{address}' ({exc.strerror or exc}); {ADDRESS_HELP}. "
                             f"The index was not touched.") from None


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise RayNotInstalled(f"--ray needs Ray Data: pip install 'newsqa[ray]' ({exc})") from None
    # Ray Data sets its logger to log every dataset's start and end at import; this ingest logs its own steps.
    logging.getLogger("ray.data").setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.WARNING)
    return ray


# -- the driver: batches in input order ----------------------------------------------------------------------


def _batches(ray: Any, w: Writer, spec: Spec, settings: Settings, paths: Sequence[str | os.PathLike[str]],
             known: dict[str, list[Entity]], stats: _Stats) -> Iterator[tuple[list[Article], list[Skipped]]]:
    started = time.perf_counter()
    records = _read(ray, paths)
    stats.read_clean += time.perf_counter() - started
    for raws, skipped in batch_raw(records, settings.ingest_batch):
        started = time.perf_counter()
        # learnt over the batch and the archive's stored line counts, as locally
        boilerplate = learn_boilerplate(raws, settings.max_article_chars, LineHistory(w.conn))
        articles, rejected = _clean(ray, raws, boilerplate, settings.max_article_chars)
        stats.read_clean += time.perf_counter() - started
        log.info("read %d articles, %d skipped inputs", len(articles), len(skipped) + len(rejected))
        started = time.perf_counter()
        known.clear()
        for prepared in _prepare(ray, _todo(w, articles), spec):
            _cache(w, prepared, stats)
            if prepared.entities is not None:
                known[prepared.content_hash] = prepared.entities
        stats.cluster_embed += time.perf_counter() - started
        yield articles, [*skipped, *rejected]


def _read(ray: Any, paths: Sequence[str | os.PathLike[str]]) -> Iterator[RawRecord | Skipped]:
    """Every input record in input order; files are read on the cluster, the whole input held in its object store
    (which spills to disk) so that no read task holds a CPU the later stages wait for."""
    items = list(expand_inputs(paths))
    if not items:
        return iter(())
    rows = [{"item": pickle.dumps(item), "cwd": os.getcwd()} for item in items]
    dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), 256)).flat_map(_read_one).materialize()
    return (pickle.loads(row["item"]) for row in dataset.iter_rows())


def _clean(ray: Any, raws: list[RawRecord], boilerplate: Mapping[str | None, frozenset[str]], max_chars: int
           ) -> tuple[list[Article], list[Skipped]]:
    if not raws:
        return [], []
    log.info("ray: cleaning %d records", len(raws))
    dataset = ray.data.from_items([{"item": pickle.dumps(r)} for r in raws]).map_batches(
        _clean_rows, batch_size=RECORDS_PER_TASK, fn_kwargs={"boilerplate": boilerplate, "max_chars": max_chars})
    articles: list[Article] = []
    rejected: list[Skipped] = []
    for row in dataset.iter_rows():
        item = pickle.loads(row["item"])
        (articles if isinstance(item, Article) else rejected).append(item)
    return articles, rejected


def _todo(w: Writer, articles: list[Article]) -> list[Article]:
    """The articles the writer will write (new or changed; the last of several with one id), as it decides."""
    existing = store.article_hashes(w.conn)
    latest = {a.id: a for a in articles}
    return [a for a in latest.values() if existing.get(a.id) != a.content_hash]


def _prepare(ray: Any, todo: list[Article], spec: Spec) -> Iterator[Prepared]:
    if not todo:
        return
    actors = max(1, min(int(ray.cluster_resources().get("CPU", 1)), -(-len(todo) // ARTICLES_PER_CALL)))
    log.info("ray: chunking, embedding and finding entities of %d articles on %d actors", len(todo), actors)
    dataset = ray.data.from_items([{"article": pickle.dumps(a)} for a in todo]).map_batches(
        Prepare, batch_size=ARTICLES_PER_CALL, fn_constructor_kwargs={"spec": spec},
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors, initial_size=actors), num_cpus=1)
    for row in dataset.iter_rows():
        yield pickle.loads(row["prepared"])


def _cache(w: Writer, prepared: Prepared, stats: _Stats) -> None:
    """Cache an article's vectors in the index, committed: not visible to readers, kept across a crash."""
    new = set(prepared.hashes) - store.cached_hashes(w.conn, prepared.hashes)
    w.conn.execute("BEGIN IMMEDIATE")
    store.cache_vectors(w.conn, prepared.hashes, prepared.vectors)
    w.conn.execute("COMMIT")
    stats.embedded += len(new)
    if stats.model is None and prepared.hashes:
        stats.model = prepared


# -- the workers -----------------------------------------------------------------------------------------------


def _read_one(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of one input file (or the Skipped that expand_inputs found in its place)."""
    item = pickle.loads(row["item"])
    if isinstance(item, Skipped):
        return [{"item": row["item"]}]
    if os.getcwd() != row["cwd"] and os.path.isdir(row["cwd"]):
        os.chdir(row["cwd"])  # relative inputs, and the realpath ids of files without one, as the driver sees them
    return [{"item": pickle.dumps(record)} for record in read_file(item[0])]


def _clean_rows(batch: dict[str, Any], boilerplate: Mapping[str | None, frozenset[str]], max_chars: int
                ) -> dict[str, Any]:
    cleaned = [clean_record(pickle.loads(raw), boilerplate, max_chars) for raw in batch["item"]]
    return {"item": np.array([pickle.dumps(c) for c in cleaned], dtype=object)}


class Prepare:
    """A Ray Data actor: loads the model (and spaCy on first use) once, then prepares batch after batch."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.chunker = Chunker(spec.chunk_tokens, spec.chunk_overlap, spec.encoding)
        self.embedder = _load_embedder(spec.model, spec.backend, spec.cache_dir, 1)  # one session: one CPU

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        articles: list[Article] = [pickle.loads(a) for a in batch["article"]]
        texts: dict[str, str] = {}
        owned: list[list[str]] = []  # each article's texts not already owned by an earlier article of the call
        for article in articles:
            mine = []
            for chunk in self.chunker.split(article):
                text = embedding_text(article, chunk)
                digest = embed_hash(self.spec.hash_key, text)
                if digest not in texts:
                    texts[digest] = text
                    mine.append(digest)
            owned.append(mine)
        order = sorted(texts, key=lambda h: len(texts[h]))  # as the writer orders them: less padding
        vectors = dict(zip(order, self.embedder.encode([texts[h] for h in order]), strict=True))
        entities = (extract_entities([(a.title, a.text) for a in articles]) if self.spec.entities
                    else [None] * len(articles))
        checksum = str(getattr(self.embedder, "checksum", ""))
        prepared = [Prepared(a.content_hash, mine, np.array([vectors[h] for h in mine], dtype=np.float32)
                             .reshape(len(mine), self.embedder.dim), found, checksum)
                    for a, mine, found in zip(articles, owned, entities, strict=True)]
        return {"prepared": np.array([pickle.dumps(p) for p in prepared], dtype=object)}

