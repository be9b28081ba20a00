"""The Milvus engine's storage: collections, connection, and publishing the writer's generations to them.

The writer keeps its local working state (SQLite, FAISS and BM25 files) as with the embedded engine and, after
each committed generation, publishes what changed to Milvus (Milvus Lite in process for a file path, a Milvus
server or a `milvus-lite server` for an http:// URI). Readers (index.milvus_reader) need only Milvus.

Collections (one Milvus database may hold several archives under different prefixes):
    <prefix>_chunks    a row per chunk: vector, text, its article's metadata, BM25 terms -> sparse (BM25 function)
    <prefix>_articles  a row per article version: metadata, text (in parts), entities, BM25 terms -> sparse
    <prefix>_gone      rows a published generation removed, while their deletion is in progress
    <prefix>_meta      one row: the manifest of the published generation (model, dim, backend, counts)

BM25 terms: Milvus Lite's analysers do not stem, so the text given to the BM25 function is the text already
tokenised, stopworded and stemmed by index.lexical (the same terms the embedded engine indexes, cached by the
writer), joined by spaces; queries are tokenised the same way. IDF and k1/b are Milvus's own (k1 and b set to
bm25s's).

Publishing one generation G, chosen so that a reader never sees half of it:
1. rows added in G are upserted with gen = G, flushed (readers at G - 1 filter gen <= G - 1: not visible);
2. the keys of rows G removes are written to <prefix>_gone (readers of G drop them from what they load);
3. the meta row says G (readers switch here; after a rebuild a floor row says rows older than G are not in it);
4. the next publish deletes the removed rows, then their <prefix>_gone rows (so a query still reading G - 1
   while G is published finds every row it needs).
Article rows are keyed "<gen>:<article id>", so a changed article's new version never overwrites the old one
that readers of G - 1 still read. A publish interrupted anywhere is completed by the next one: gone rows of
published generations are deleted first, and when Milvus's generation is not the local previous one, the whole
id sets are compared (a full sync) instead of applying the update's changes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index import lexical, store
from index.manifest import IndexNotFound, Manifest, ModelMismatch
from index.reader import day_number

log = logging.getLogger(__name__)

K1, B = 1.5, 0.75  # bm25s's defaults, which the embedded engine uses
TEXT_PART = 16_000  # characters per element of an article's text (<= 65,535 bytes in UTF-8, a server's limit)
MAX_VARCHAR = 65_535  # a Milvus server's default VARCHAR limit (Lite takes more; a cluster may not)
MAX_PARTS = 4096  # array capacity: articles up to 65M characters
BATCH = 256  # rows per upsert request
DUMMY = [1.0, 0.0]  # Milvus wants a vector field in every collection; meta and gone rows carry this one


class StoreUnavailable(RuntimeError):
    """The configured Milvus cannot be reached or used."""


class MilvusMissing(StoreUnavailable):
    """pymilvus is not installed."""


@dataclass(frozen=True)
class MilvusConfig:
    uri: str  # a file path: Milvus Lite in this process; http://host:port: a Milvus server
    token: str = ""
    prefix: str = "newsqa"
    timeout: float = 10.0  # seconds to connect; an unreachable URI fails after this

    @property
    def where(self) -> str:
        return f"Milvus at {self.uri} (NEWSQA_MILVUS_URI)"

    def name(self, kind: str) -> str:
        return f"{self.prefix}_{kind}"


def pymilvus() -> Any:
    try:
        import pymilvus as module
    except ImportError as exc:
        raise MilvusMissing("NEWSQA_STORE=milvus needs pymilvus (and milvus-lite for a local file): "
                            "pip install 'newsqa[milvus]'") from exc
    return module


def connect(config: MilvusConfig) -> Any:
    """A MilvusClient; a clear StoreUnavailable naming NEWSQA_MILVUS_URI when it cannot connect."""
    module = pymilvus()
    # pymilvus's query iterator warns on every use against Milvus Lite (which cannot allocate timestamps; the
    # iterator then uses the client's clock, which is what a single writer needs), and Lite's in-process gRPC
    # server logs the refused call as an error: both say nothing actionable
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    uri = config.uri
    if not uri:
        raise StoreUnavailable("NEWSQA_STORE=milvus needs NEWSQA_MILVUS_URI: a file path (Milvus Lite in this "
                               "process) or http://host:19530 (a Milvus server or `milvus-lite server`)")
    if "://" not in uri:
        Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
        uri = str(Path(uri).expanduser())
    try:
        return module.MilvusClient(uri=uri, token=config.token, timeout=config.timeout)
    except Exception as exc:  # pymilvus raises MilvusException or grpc errors, by transport
        raise StoreUnavailable(f"cannot connect to {config.where}: {exc}. Check NEWSQA_MILVUS_URI (and "
                               f"NEWSQA_MILVUS_TOKEN); start a local one with: milvus-lite server --data-dir DIR "
                               f"--port 19530") from exc


def _schema(client: Any, kind: str, dim: int) -> tuple[Any, Any]:
    from pymilvus import DataType, Function, FunctionType

    bm25 = {"enable_analyzer": True, "analyzer_params": {"tokenizer": "standard"}}
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    index = client.prepare_index_params()
    if kind == "chunks":
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index.add_index("vector", index_type="FLAT", metric_type="IP")  # exact: as the embedded flat index
    elif kind == "articles":
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1024)
        schema.add_field("authors", DataType.JSON)
        schema.add_field("entities", DataType.JSON)  # [[name, label, mentions], ...], most mentioned first
        schema.add_field("norms", DataType.VARCHAR, max_length=MAX_VARCHAR)  # entity keys, "|"-joined, for LIKE
        schema.add_field("parts", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=MAX_PARTS,
                         max_length=MAX_VARCHAR)
        schema.add_field("content_hash", DataType.VARCHAR, max_length=128)
    else:  # meta, gone
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1100)
        schema.add_field("value", DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("gen", DataType.INT64)
        schema.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)
        index.add_index("dummy", index_type="FLAT", metric_type="L2")
        return schema, index
    schema.add_field("article", DataType.VARCHAR, max_length=1024)
    schema.add_field("gen", DataType.INT64)
    schema.add_field("day", DataType.INT64)  # index.reader.day_number of the date: date filters as expressions
    schema.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("date", DataType.VARCHAR, max_length=64)
    schema.add_field("source", DataType.VARCHAR, max_length=1024)
    schema.add_field("url", DataType.VARCHAR, max_length=8192)
    if kind == "chunks":
        for name in ("ordinal", "start", "end"):
            schema.add_field(name, DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, **bm25)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name=f"{kind}_bm25", function_type=FunctionType.BM25,
                                 input_field_names=["terms"], output_field_names=["sparse"]))
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params={"bm25_k1": K1, "bm25_b": B})
    return schema, index


KINDS = ("chunks", "articles", "gone", "meta")


def read_published(client: Any, config: MilvusConfig, load: bool = False) -> tuple[Manifest, int] | None:
    """The published generation's manifest and floor (rows of older generations are not part of it), or None
    when nothing is published yet."""
    if load:
        if not client.has_collection(config.name("meta")):
            return None
        client.load_collection(config.name("meta"))  # needed after an unclean exit of Milvus Lite
    rows = {r["key"]: r for r in client.query(config.name("meta"), filter='key in ["manifest", "floor"]',
                                               output_fields=["key", "value", "gen"])}
    if "manifest" not in rows:
        return None
    return Manifest(**json.loads(rows["manifest"]["value"])), int(rows["floor"]["gen"]) if "floor" in rows else 0


def read_meta(client: Any, config: MilvusConfig) -> Manifest | None:
    """The published generation's manifest, or None when nothing is published yet."""
    published = read_published(client, config, load=True)
    return published[0] if published else None


def load(client: Any, config: MilvusConfig) -> Manifest:
    """Load every collection for reads and return the published manifest; IndexNotFound when there is none."""
    manifest = read_meta(client, config)
    if manifest is None or not all(client.has_collection(config.name(k)) for k in KINDS):
        raise IndexNotFound(f"{config.where} holds no newsqa index (collections {config.prefix}_*). Build one "
                            f"with: NEWSQA_STORE=milvus NEWSQA_MILVUS_URI={config.uri} newsqa ingest PATH")
    for kind in KINDS:
        client.load_collection(config.name(kind))
    return manifest


def check_model(remote: Manifest, model: str, dim: int, config: MilvusConfig) -> None:
    if remote.model != model or (dim and remote.dim != dim):
        raise ModelMismatch(
            f"{config.where} holds vectors of the model '{remote.model}' (dimension {remote.dim}) but the "
            f"configured model is '{model}' (dimension {dim}). Set NEWSQA_MODEL={remote.model}, or point "
            f"NEWSQA_MILVUS_URI (or NEWSQA_MILVUS_PREFIX) at another Milvus database for this model")


def iterate(client: Any, collection: str, expr: str, fields: list[str], batch: int = 4096
            ) -> Iterator[dict[str, Any]]:
    """Every row matching expr (a query iterator: no limit on how many)."""
    it = client.query_iterator(collection, batch_size=batch, filter=expr, output_fields=fields)
    try:
        while rows := it.next():
            yield from rows
    finally:
        it.close()


def quoted(values: Iterable[Any]) -> str:
    """A Milvus list literal; strings JSON-quoted (Milvus reads JSON escapes)."""
    return "[" + ",".join(json.dumps(v) if isinstance(v, str) else str(int(v)) for v in values) + "]"


def _batches(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _clip(text: str, limit: int = MAX_VARCHAR) -> str:
    """At most limit UTF-8 bytes, cut at a character boundary."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


class Publisher:
    """Publishes the writer's committed generations to Milvus (see the module doc for the order of work)."""

    def __init__(self, config: MilvusConfig) -> None:
        self.config = config

    def __call__(self, conn: sqlite3.Connection, changes: Any, manifest: Manifest) -> None:
        """The Writer's publish hook: called after its commit of manifest's generation."""
        self.publish(conn, manifest, changes)

    def publish(self, conn: sqlite3.Connection, manifest: Manifest, changes: Any = None) -> None:
        """Make Milvus hold manifest's generation of the local store conn; changes (the update's) when known."""
        client = connect(self.config)
        try:
            self._publish(client, conn, manifest, changes)
        finally:
            client.close()

    def _publish(self, client: Any, conn: sqlite3.Connection, manifest: Manifest, changes: Any) -> None:
        cfg = self.config
        published = read_published(client, cfg, load=True)
        remote, floor = published if published else (None, 0)
        if remote is not None:
            check_model(remote, manifest.model, manifest.dim, cfg)
        for kind in KINDS:
            if not client.has_collection(cfg.name(kind)):
                schema, index = _schema(client, kind, manifest.dim)
                client.create_collection(cfg.name(kind), schema=schema, index_params=index)
            client.load_collection(cfg.name(kind))
        gen = manifest.generation
        self._finish_deletes(client, remote.generation if remote else -1)
        if remote is not None and remote.generation == gen:
            return  # already published
        if remote is not None and changes is not None and remote.generation == gen - 1 and not changes.fresh:
            add_chunks = [int(i) for i in changes.chunks_added]
            gone_chunks = [int(i) for i in changes.chunks_removed]
            add_articles = list(changes.articles_added)
            gone_keys = [r["key"] for batch in _batches(list(changes.articles_removed), 1024) for r in client.query(
                cfg.name("articles"), filter=f"article in {quoted(batch)}", output_fields=["key"])]
        else:  # a fresh Milvus, a rebuild, or a publish that did not finish: compare everything
            log.info("milvus: full sync of generation %d (Milvus has %s)", gen,
                     remote.generation if remote else "nothing")
            remote_chunks = {int(r["id"]) for r in iterate(client, cfg.name("chunks"), "id >= 0", ["id"])}
            local_chunks = {int(r[0]) for r in conn.execute("SELECT id FROM chunks")}
            add_chunks = sorted(local_chunks - remote_chunks)
            gone_chunks = sorted(remote_chunks - local_chunks)
            local = dict(conn.execute("SELECT id, content_hash FROM articles").fetchall())
            published = remote.generation if remote else -1
            kept: dict[str, str] = {}  # article id -> key of its published row, when that row is current
            rows = list(iterate(client, cfg.name("articles"), "gen >= 0", ["key", "article", "content_hash", "gen"]))
            for r in rows:
                if floor <= r["gen"] <= published and local.get(r["article"]) == r["content_hash"]:
                    kept[r["article"]] = r["key"]
            add_articles = sorted(set(local) - set(kept))
            # every other row goes: removed or changed articles, and rows of a publish that did not finish
            gone_keys = sorted({r["key"] for r in rows} - set(kept.values()))
        log.info("milvus: publishing generation %d: +%d/-%d chunks, +%d/-%d articles", gen, len(add_chunks),
                 len(gone_chunks), len(add_articles), len(gone_keys))
        for batch in _batches(add_articles, 64):
            client.upsert(cfg.name("articles"), self._article_rows(conn, list(batch), gen))
        for batch in _batches(add_chunks):
            client.upsert(cfg.name("chunks"), self._chunk_rows(conn, list(batch), gen, manifest.dim))
        client.flush(cfg.name("articles"))
        client.flush(cfg.name("chunks"))  # rows not flushed are searched very slowly
        gone = [f"c:{i}" for i in gone_chunks] + [f"a:{k}" for k in gone_keys]
        for batch in _batches(gone, 4096):
            client.upsert(cfg.name("gone"), [{"key": k, "value": "", "gen": gen, "dummy": DUMMY} for k in batch])
        client.flush(cfg.name("gone"))
        meta = [{"key": "manifest", "value": json.dumps({**manifest.to_dict(), "files": {}}), "gen": gen,
                 "dummy": DUMMY}]
        n_articles, n_chunks = store.counts(conn)
        if len(add_chunks) == n_chunks and len(add_articles) == n_articles:
            # everything was written again (a rebuild): older rows are not part of this generation, whether or
            # not their deletion has finished
            meta.append({"key": "floor", "value": "", "gen": gen, "dummy": DUMMY})
        client.upsert(cfg.name("meta"), meta)
        client.flush(cfg.name("meta"))
        # The removed rows stay until the next publish deletes them: a query still reading the previous
        # generation keeps finding them; readers of this one leave them out (gone rows, floor).

    def _finish_deletes(self, client: Any, published: int) -> None:
        """Delete the rows published generations removed, then forget them. Gone rows of a publish that did not
        finish (gen > published) are forgotten without deleting anything: their generation never became visible."""
        cfg = self.config
        rows = list(iterate(client, cfg.name("gone"), 'key != ""', ["key", "gen"]))
        if not rows:
            return
        keys = [r["key"] for r in rows if r["gen"] <= published]
        chunk_ids = [int(k[2:]) for k in keys if k.startswith("c:")]
        article_keys = [k[2:] for k in keys if k.startswith("a:")]
        for batch in _batches(chunk_ids, 4096):
            client.delete(cfg.name("chunks"), filter=f"id in {quoted(batch)}")
        for batch in _batches(article_keys, 1024):
            client.delete(cfg.name("articles"), filter=f"key in {quoted(batch)}")
        client.flush(cfg.name("chunks"))
        client.flush(cfg.name("articles"))
        every = [r["key"] for r in rows]
        for batch in _batches(every, 1024):
            client.delete(cfg.name("gone"), filter=f"key in {quoted(batch)}")
        client.flush(cfg.name("gone"))

    def _chunk_rows(self, conn: sqlite3.Connection, ids: list[int], gen: int, dim: int) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            'SELECT c.id, c.article_id, c.ordinal, c.start, c."end", c.embed_hash, a.title, a.date, a.source, '
            f'a.url, substr(a.text, c.start + 1, c."end" - c.start) FROM chunks c JOIN articles a '
            f"ON a.id = c.article_id WHERE c.id IN ({marks}) ORDER BY c.id", ids).fetchall()
        vectors = store.vectors_for(conn, [r[5] for r in rows], dim)
        # the documents the embedded engine's chunk BM25 indexes (store.chunk_texts), as cached terms
        terms = lexical.cached_terms([f"{r[6] or ''}\n{r[10]}" for r in rows], store.TermCache(conn))
        return [{"id": int(r[0]), "article": r[1], "ordinal": int(r[2]), "start": int(r[3]), "end": int(r[4]),
                 "title": _clip(r[6] or ""), "date": r[7] or "", "day": day_number(r[7]), "source": r[8] or "",
                 "url": _clip(r[9] or "", 8192),
                 "text": _clip(r[10]), "gen": gen, "vector": vector.tolist(), "terms": _clip(" ".join(t))}
                for r, vector, t in zip(rows, vectors, terms, strict=True)]

    def _article_rows(self, conn: sqlite3.Connection, ids: list[str], gen: int) -> list[dict[str, Any]]:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT id, title, date, source, url, authors, text, content_hash FROM articles "
                            f"WHERE id IN ({marks}) ORDER BY id", ids).fetchall()
        entities = store.entities_of(conn, ids)
        # article-level BM25 documents as store.article_docs; terms past 64 KB are cut (a server's VARCHAR limit)
        terms = lexical.cached_terms([f"{r[1] or ''}\n{r[6]}" for r in rows], store.TermCache(conn))
        out = []
        for r, t in zip(rows, terms, strict=True):
            found = entities.get(r[0], [])
            text = r[6] or ""
            out.append({"key": f"{gen}:{r[0]}", "article": r[0], "gen": gen, "title": _clip(r[1] or ""),
                        "date": r[2] or "", "day": day_number(r[2]), "source": r[3] or "",
                        "url": _clip(r[4] or "", 8192),
                        "authors": json.loads(r[5] or "[]"), "content_hash": r[7],
                        "parts": [text[i:i + TEXT_PART] for i in range(0, len(text), TEXT_PART)][:MAX_PARTS] or [""],
                        "entities": [[e.name, e.label, e.mentions] for e in found],
                        "norms": _clip("|" + "|".join(e.key for e in found) + "|"),
                        "terms": _clip(" ".join(t))})
        return out


def publish_local(config: MilvusConfig, index_dir: Path) -> bool:
    """Publish the local index's current generation when Milvus does not hold it yet (True when it did)."""
    if not (Path(index_dir) / store.DB_NAME).exists():
        return False
    conn = store.connect(index_dir)
    conn.isolation_level = None
    try:
        manifest = store.read_manifest(conn)
        if manifest is None:
            return False
        client = connect(config)
        try:
            remote = read_meta(client, config)
            if remote is not None and remote.generation == manifest.generation:
                return False
            Publisher(config)._publish(client, conn, manifest, None)
        finally:
            client.close()
        return True
    finally:
        conn.close()

