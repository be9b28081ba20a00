"""Wiring of the pipeline for a given Settings: ingest into an index, and open it for questions."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from corpus.article import Article
from corpus.chunk import Chunker
from corpus.entities import Entity
from corpus.load import load_batches
from corpus.readers import Skipped
from index import store
from index.actor_reader import ActorIndex, ActorsUnavailable
from index.embed import Embedder, SentenceTransformerEmbedder, backend_of, model_name
from index.interface import IndexStore
from index.manifest import BackendMismatch
from index.reader import IndexReader
from index.store import LineHistory
from index.update import UpdateReport, Writer
from qa.answer import Answerer, AnswerParams
from qa.llm.backend import Backend, BackendConfig
from qa.llm.generate import Generator
from qa.search import Searcher
from qa.settings import Settings

log = logging.getLogger(__name__)


@cache
def _load_embedder(spec: str, backend: str = "torch", cache_dir: str = "", workers: int = 0) -> Embedder:
    if backend == "onnx-int8":
        from index.onnx_embed import OnnxEmbedder

        return OnnxEmbedder(spec, Path(cache_dir) if cache_dir else None, workers=workers)
    return SentenceTransformerEmbedder(spec)


@cache
def _load_query_embedder(spec: str, backend: str, cache_dir: str, onnx_fp32: bool) -> Embedder:
    """For a torch-built index, the fp32 ONNX export when available: the same vectors without importing torch."""
    if backend == "torch" and onnx_fp32:
        import importlib.util

        from index.embed import ModelUnavailable

        if importlib.util.find_spec("onnxruntime") is not None:
            from index.onnx_embed import ExportRejected, OnnxEmbedder

            try:
                return OnnxEmbedder(spec, Path(cache_dir) if cache_dir else None, precision="fp32")
            except (ExportRejected, ModelUnavailable) as exc:
                log.warning("fp32 ONNX query embedder unavailable (%s); using torch", exc)
    return _load_embedder(spec, backend, cache_dir)


def resolve_backend(settings: Settings) -> str:
    """The configured backend; with auto, the one the index was built with (torch for a new index)."""
    if settings.backend != "auto":
        return settings.backend
    if not (Path(settings.index_dir) / store.DB_NAME).exists():
        return "torch"
    conn = store.connect(settings.index_dir, readonly=True)
    try:
        manifest = store.read_manifest(conn)
    finally:
        conn.close()
    return manifest.backend if manifest is not None else "torch"


def embedder_factory(settings: Settings, backend: str | None = None) -> Callable[[], Embedder]:
    """Loads the model on first use only (a no-op re-ingest never pays for it); one instance per model+backend."""
    chosen = backend or resolve_backend(settings)
    return lambda: _load_embedder(settings.model, chosen, settings.cache_dir, settings.embed_workers)


def writer(settings: Settings, *, progress: bool = False, for_rebuild: bool = False,
           get_embedder: Callable[[], Embedder] | None = None,
           on_progress: Callable[[str, int, int], None] | None = None,
           known_entities: Mapping[str, Sequence[Entity]] | None = None) -> Writer:
    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap)
    # A rebuild applies the configured backend; with auto it keeps the index's own.
    backend = resolve_backend(settings)
    publish = None
    if settings.store == "milvus":
        from index.milvus import Publisher, check_model, connect, read_meta

        client = connect(settings.milvus())  # an unreachable NEWSQA_MILVUS_URI fails before any work
        try:
            remote = read_meta(client, settings.milvus())
        finally:
            client.close()
        if remote is not None:  # and so does a Milvus holding another model's vectors
            check_model(remote, model_name(settings.model), 0, settings.milvus())
        publish = Publisher(settings.milvus())
    return Writer(settings.index_dir, model_name(settings.model), chunker,
                  get_embedder or embedder_factory(settings, backend), progress=progress,
                  batch_size=settings.batch_size, for_rebuild=for_rebuild, with_entities=bool(settings.entities),
                  on_progress=on_progress, backend=backend, ann_threshold=settings.ann_threshold,
                  nprobe=settings.nprobe, known_entities=known_entities, publish=publish)


def ingest(settings: Settings, paths: Sequence[str | os.PathLike[str]], *, progress: bool = False,
           replace_all: bool = False, get_embedder: Callable[[], Embedder] | None = None) -> UpdateReport:
    """Read, clean, chunk and index everything under paths; bad records are reported, not fatal.

    Input is read in batches of NEWSQA_INGEST_BATCH articles, each committed on its own, so memory stays bounded
    however large the input is.
    """
    read_seconds = 0.0

    def timed_batches(history: LineHistory) -> Iterator[tuple[list[Article], list[Skipped]]]:
        nonlocal read_seconds
        batches = load_batches(paths, settings.max_article_chars, settings.ingest_batch, history)
        while True:
            started = time.perf_counter()
            loaded = next(batches, None)
            read_seconds += time.perf_counter() - started
            if loaded is None:
                return
            log.info("read %d articles, %d skipped inputs", len(loaded.articles), len(loaded.skipped))
            yield loaded.articles, loaded.skipped

    with writer(settings, progress=progress, get_embedder=get_embedder) as w:
        # boilerplate is learnt over the archive (its stored line counts), not per batch
        report = w.ingest_batches(timed_batches(LineHistory(w.conn)), [str(p) for p in paths],
                                  replace_all=replace_all)
    if settings.store == "milvus":
        from index.milvus import publish_local

        publish_local(settings.milvus(), settings.index_dir)  # Milvus behind the local index (new, or a failed
        # publish) with nothing new to commit: publish the current generation now
    report.seconds = {"read_clean": read_seconds, **report.seconds}
    return report


def open_reader(settings: Settings, check: bool = True) -> IndexStore:
    """The configured engine's reader (NEWSQA_STORE); with check, a ModelMismatch unless it holds vectors of
    the configured model."""
    if settings.store == "milvus":
        from index.milvus import check_model
        from index.milvus_reader import MilvusReader

        milvus = MilvusReader(settings.milvus(), bm25_top=settings.milvus_bm25_top)
        if check:
            check_model(milvus.manifest, model_name(settings.model), 0, settings.milvus())
        return milvus
    reader = IndexReader(settings.index_dir, nprobe=settings.nprobe)
    if check:
        reader.manifest.check_model(model_name(settings.model), str(settings.index_dir))
    return reader


def open_actors(settings: Settings) -> tuple[ActorIndex | None, str]:
    """The actor and quote tables of the index directory, or None and why (an index of an older newsqa; with
    NEWSQA_STORE=milvus, a service without the writer's index directory: answers then list entities as before)."""
    try:
        return ActorIndex(settings.index_dir), ""
    except ActorsUnavailable as exc:
        log.warning("actors and quotes unavailable: %s", exc)
        return None, str(exc)


def one_thread_numerics() -> None:
    """BLAS (numpy's and FAISS's): one thread per call, for the whole process (FAISS's own OpenMP loops are
    set per query thread by IndexReader.search).

    A question's vector work is small (one product over the matrix, a few gathers): split over both cores it
    gains little, and the idle BLAS/OpenMP threads then spin for a while, taking the cores from the embedding
    model's own threads. Measured on the 57,602-chunk index, 100 dev questions: query embedding 10.5 -> 5.7 ms,
    whole search 31.3 -> 16.9 ms. Requests still run in parallel: the server answers each in its own thread.
    """
    import faiss  # noqa: F401 - loads FAISS's own BLAS, so that the limit reaches it too
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def generator(settings: Settings, answerer: Answerer) -> Generator:
    """Answers in the requested mode; the model backend only when NEWSQA_LLM_URL names one (the openai client is
    imported on the first generative question)."""
    backend = None
    if settings.llm_url:
        backend = Backend(BackendConfig(settings.llm_url, settings.llm_model, settings.llm_api_key,
                                        settings.llm_timeout))
    return Generator(answerer, backend, settings.llm_context_tokens, settings.llm_mode)


@dataclass
class Engine:
    """An opened index with its model: what answers questions."""

    settings: Settings
    reader: IndexStore
    searcher: Searcher
    answerer: Answerer
    actor_index: ActorIndex | None = None
    actors_error: str = ""

    @property
    def actors(self) -> ActorIndex:
        """Actors and quotes, kept in the writer's index store (NEWSQA_INDEX) for either engine."""
        if self.actor_index is None:
            raise ActorsUnavailable(self.actors_error)
        return self.actor_index
    generator: Generator = field(init=False)  # answers in any mode; extractive ones come from answerer

    def __post_init__(self) -> None:
        self.generator = generator(self.settings, self.answerer)
        self.generator.warm_up()

    @classmethod
    def open(cls, settings: Settings, get_embedder: Callable[[], Embedder] | None = None) -> Engine:
        """Opens the index for questions; also makes this process's BLAS and FAISS run one thread per call
        (see one_thread_numerics)."""
        ranking = settings.ranking_params()  # a bad NEWSQA_FUSION or NEWSQA_DENSE_WEIGHT fails before the model loads
        one_thread_numerics()
        reader = open_reader(settings)
        backend = settings.backend if settings.backend != "auto" else reader.manifest.backend
        reader.manifest.check_backend(backend, str(settings.index_dir))
        embedder = (get_embedder or (lambda: _load_query_embedder(settings.model, backend, settings.cache_dir,
                                                                   bool(settings.onnx_queries))))()
        if backend_of(embedder) != backend:
            raise BackendMismatch(f"the query embedder runs the '{backend_of(embedder)}' backend but the index at "
                                  f"{settings.index_dir} was embedded with '{backend}'")
        checksum = str(getattr(embedder, "checksum", ""))
        if reader.manifest.backend_checksum and checksum != reader.manifest.backend_checksum:
            log.warning("the int8 model file differs from the one the index was built with (sha256 %s vs %s): "
                        "vectors may drift slightly; newsqa rebuild re-embeds with this one",
                        checksum[:12], reader.manifest.backend_checksum[:12])
        searcher = Searcher(reader, embedder, params=ranking)
        params = AnswerParams(max_chars=settings.max_answer_chars)
        actors, error = open_actors(settings)
        answerer = Answerer(searcher, params=params, actors=actors)
        answerer.warm_up()
        return cls(settings, reader, searcher, answerer, actors, error)
