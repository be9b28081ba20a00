"""The SQLite metadata store: articles, chunks, cached embeddings, the manifest and the ingest log.

SQLite in WAL mode gives atomic multi-table updates and lets readers keep a consistent snapshot while a
writer works. Chunk text is not stored twice: a chunk is a span of its article's cleaned text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corpus.article import Article
from corpus.boilerplate import RawLines
from corpus.chunk import Chunk
from corpus.entities import Entity, name_matches, normalize_name
from index.actors import SCHEMA as ACTORS_SCHEMA
from index.manifest import Manifest

DB_NAME = "meta.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT, date TEXT, source TEXT, url TEXT, authors TEXT NOT NULL DEFAULT '[]',
    text TEXT NOT NULL, content_hash TEXT NOT NULL, origin TEXT, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, n_tokens INTEGER NOT NULL,
    embed_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE INDEX IF NOT EXISTS chunks_embed ON chunks(embed_hash);
CREATE TABLE IF NOT EXISTS entities (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    name TEXT NOT NULL, norm TEXT NOT NULL, label TEXT NOT NULL, mentions INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS entities_article ON entities(article_id);
CREATE INDEX IF NOT EXISTS entities_norm ON entities(norm);
CREATE TABLE IF NOT EXISTS embeddings (hash TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS bm25_terms (key TEXT PRIMARY KEY, terms TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS line_texts (digest TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS line_sources (source TEXT PRIMARY KEY, texts INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS line_counts (key INTEGER PRIMARY KEY, texts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    inputs TEXT NOT NULL DEFAULT '[]', new INTEGER DEFAULT 0, updated INTEGER DEFAULT 0,
    unchanged INTEGER DEFAULT 0, removed INTEGER DEFAULT 0, skipped INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS skipped (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, "where" TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_articles (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, article_id TEXT NOT NULL, action TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL UNIQUE, source TEXT, every_seconds INTEGER NOT NULL,
    etag TEXT, last_modified TEXT, last_success TEXT, last_error TEXT, last_error_at TEXT, next_poll TEXT,
    failures INTEGER NOT NULL DEFAULT 0, added_at TEXT);
CREATE TABLE IF NOT EXISTS feed_items (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE, key TEXT NOT NULL, article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL, seen_at TEXT NOT NULL, PRIMARY KEY (feed_id, key)) WITHOUT ROWID;
"""
RUNS_SHOWN, ITEMS_SHOWN = 20, 100  # stats lists the latest runs, and at most this many records of each kind


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def connect(index_dir: Path, *, readonly: bool = False) -> sqlite3.Connection:
    path = Path(index_dir) / DB_NAME
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        conn.executescript(ACTORS_SCHEMA)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=FULL")  # a commit survives a crash of the machine, not just the process
    return conn


def read_manifest(conn: sqlite3.Connection) -> Manifest | None:
    row = conn.execute("SELECT value FROM meta WHERE key='manifest'").fetchone()
    return Manifest(**json.loads(row[0])) if row else None


def write_manifest(conn: sqlite3.Connection, manifest: Manifest) -> None:
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('manifest', ?)",
                 (json.dumps(manifest.to_dict()),))


def article_hashes(conn: sqlite3.Connection, ids: Iterable[str] | None = None) -> dict[str, str]:
    """Content hash of every stored article, or of those among ids (an update compares only its own)."""
    if ids is None:
        return {row[0]: row[1] for row in conn.execute("SELECT id, content_hash FROM articles")}
    out: dict[str, str] = {}
    for batch in _batches(list(ids)):
        marks = ",".join("?" * len(batch))
        out.update((r[0], r[1]) for r in conn.execute(f"SELECT id, content_hash FROM articles WHERE id IN ({marks})",
                                                      batch))
    return out


def chunk_ids_of(conn: sqlite3.Connection, article_ids: Iterable[str]) -> list[int]:
    ids: list[int] = []
    for batch in _batches(list(article_ids)):
        marks = ",".join("?" * len(batch))
        ids += [r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE article_id IN ({marks})", batch)]
    return ids


def delete_articles(conn: sqlite3.Connection, article_ids: Iterable[str]) -> None:
    for batch in _batches(list(article_ids)):
        marks = ",".join("?" * len(batch))
        conn.execute(f"DELETE FROM chunks WHERE article_id IN ({marks})", batch)
        conn.execute(f"DELETE FROM entities WHERE article_id IN ({marks})", batch)
        conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", batch)


def insert_article(conn: sqlite3.Connection, article: Article) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO articles(id, title, date, source, url, authors, text, content_hash, origin,"
        " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (article.id, article.title, article.date, article.source, article.url, json.dumps(list(article.authors)),
         article.text, article.content_hash, article.origin, now()))


def insert_entities(conn: sqlite3.Connection, article_id: str, entities: Iterable[Entity]) -> None:
    conn.executemany("INSERT INTO entities(article_id, name, norm, label, mentions) VALUES (?,?,?,?,?)",
                     [(article_id, e.name, e.key, e.label, e.mentions) for e in entities])


def entities_of(conn: sqlite3.Connection, article_ids: Iterable[str]) -> dict[str, list[Entity]]:
    out: dict[str, list[Entity]] = {}
    for batch in _batches(list(set(article_ids))):
        marks = ",".join("?" * len(batch))
        for row in conn.execute(f"SELECT article_id, name, label, mentions FROM entities WHERE article_id IN "
                                f"({marks}) ORDER BY mentions DESC, rowid", batch):
            out.setdefault(row[0], []).append(Entity(row[1], row[2], row[3]))
    return out


def articles_mentioning(conn: sqlite3.Connection, name: str) -> set[str]:
    """Articles with an entity matching name, aliases included ("Ablyazov" ~ "Mukhtar Ablyazov")."""
    key = normalize_name(name)
    if not key:
        return set()
    last = key.split()[-1]
    rows = conn.execute("SELECT article_id, norm FROM entities WHERE norm = ? OR norm LIKE ? OR norm LIKE ?",
                        (last, f"% {last}", f"%{last}%")).fetchall()
    return {r[0] for r in rows if name_matches(name, r[1])}


def chunk_texts(conn: sqlite3.Connection, ids: Sequence[int] | np.ndarray | None = None
                ) -> tuple[np.ndarray, list[str]]:
    """(chunk ids, title + text) of every chunk (or of those ids), the documents BM25 indexes."""
    sql = ('SELECT c.id, a.title, substr(a.text, c.start + 1, c."end" - c.start) FROM chunks c '
           "JOIN articles a ON a.id = c.article_id")
    if ids is None:
        rows = conn.execute(sql + " ORDER BY c.id").fetchall()
    else:
        rows = []
        for batch in _batches([int(i) for i in ids]):
            rows += conn.execute(sql + f" WHERE c.id IN ({','.join('?' * len(batch))})", batch).fetchall()
        rows.sort(key=lambda r: r[0])
    return np.array([r[0] for r in rows], dtype=np.int64), [f"{r[1] or ''}\n{r[2]}" for r in rows]


def article_docs(conn: sqlite3.Connection, ids: Sequence[str] | np.ndarray | None = None
                 ) -> tuple[np.ndarray, list[str]]:
    """(article ids, title + whole text) of every article (or of those ids), the documents the article-level
    BM25 indexes."""
    if ids is None:
        rows = conn.execute("SELECT id, title, text FROM articles ORDER BY id").fetchall()
    else:
        rows = []
        for batch in _batches([str(i) for i in ids]):
            rows += conn.execute(f"SELECT id, title, text FROM articles WHERE id IN ({','.join('?' * len(batch))})",
                                 batch).fetchall()
        rows.sort(key=lambda r: r[0])
    return np.array([r[0] for r in rows], dtype=str), [f"{r[1] or ''}\n{r[2]}" for r in rows]


def chunk_table(conn: sqlite3.Connection) -> list[tuple[int, str, str | None, str | None]]:
    """(chunk id, article id, date, source) of every chunk, for filters held in memory."""
    return conn.execute("SELECT c.id, c.article_id, a.date, a.source FROM chunks c "
                        "JOIN articles a ON a.id = c.article_id ORDER BY c.id").fetchall()


def article_titles(conn: sqlite3.Connection) -> dict[str, str | None]:
    return dict(conn.execute("SELECT id, title FROM articles").fetchall())


ROWS_AT_ONCE = 50_000  # rows fetched per batch when reading a whole table into arrays


def chunk_articles(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """(chunk id, its article's rowid) of every chunk, in chunk-id order, as arrays: two integers per chunk, where
    chunk_table makes a tuple and three strings (at 10^6 chunks 275 MB of Python objects, not given back)."""
    cursor = conn.execute("SELECT c.id, a.rowid FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id")
    parts = []
    while batch := cursor.fetchmany(ROWS_AT_ONCE):
        parts.append(np.array(batch, dtype=np.int64))
    pairs = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def article_batches(conn: sqlite3.Connection) -> Iterable[list[tuple[int, str, str | None, str | None, str | None]]]:
    """(rowid, id, title, date, source) of every article, in rowid order, ROWS_AT_ONCE at a time."""
    cursor = conn.execute("SELECT rowid, id, title, date, source FROM articles ORDER BY rowid")
    while batch := cursor.fetchmany(ROWS_AT_ONCE):
        yield batch


def insert_chunk(conn: sqlite3.Connection, chunk: Chunk, embed_hash: str) -> int:
    cur = conn.execute(
        'INSERT INTO chunks(article_id, ordinal, start, "end", n_tokens, embed_hash) VALUES (?,?,?,?,?,?)',
        (chunk.article_id, chunk.ordinal, chunk.start, chunk.end, chunk.n_tokens, embed_hash))
    return int(cur.lastrowid or 0)


def cached_hashes(conn: sqlite3.Connection, hashes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for batch in _batches(list(hashes)):
        marks = ",".join("?" * len(batch))
        found.update(r[0] for r in conn.execute(f"SELECT hash FROM embeddings WHERE hash IN ({marks})", batch))
    return found


def cache_vectors(conn: sqlite3.Connection, hashes: Sequence[str], vectors: np.ndarray) -> None:
    conn.executemany("INSERT OR IGNORE INTO embeddings(hash, vector) VALUES (?, ?)",
                     [(h, v.astype(np.float32).tobytes()) for h, v in zip(hashes, vectors, strict=True)])


def vectors_for(conn: sqlite3.Connection, hashes: Sequence[str], dim: int) -> np.ndarray:
    found: dict[str, bytes] = {}
    for batch in _batches(list(set(hashes))):
        marks = ",".join("?" * len(batch))
        found.update((r[0], r[1]) for r in
                     conn.execute(f"SELECT hash, vector FROM embeddings WHERE hash IN ({marks})", batch))
    out = np.zeros((len(hashes), dim), dtype=np.float32)
    for row, h in enumerate(hashes):
        out[row] = np.frombuffer(found[h], dtype=np.float32)
    return out


def chunk_vectors(conn: sqlite3.Connection, chunk_ids: Sequence[int], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids found, their stored vectors) for some chunk ids; ids no longer stored are left out."""
    ids: list[int] = []
    blobs: list[bytes] = []
    for batch in _batches([int(i) for i in chunk_ids]):
        for chunk_id, blob in conn.execute("SELECT c.id, e.vector FROM chunks c JOIN embeddings e ON e.hash = "
                                           f"c.embed_hash WHERE c.id IN ({','.join('?' * len(batch))})", batch):
            ids.append(int(chunk_id))
            blobs.append(blob)
    matrix = (np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, dim) if blobs
              else np.zeros((0, dim), dtype=np.float32))
    return np.array(ids, dtype=np.int64), matrix


def all_chunk_vectors(conn: sqlite3.Connection, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(chunk ids, vectors) of every stored chunk: enough to rebuild the vector index without the model."""
    rows = conn.execute("SELECT c.id, e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash "
                        "ORDER BY c.id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dim)
    return ids, vectors


class TermCache:
    """The stemmed BM25 terms of each document text already indexed once (key: lexical.term_key of the text):
    an update tokenises only the texts it adds, not the whole archive again."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.used: set[str] = set()

    def get(self, keys: Sequence[str]) -> dict[str, str]:
        self.used.update(keys)
        found: dict[str, str] = {}
        for batch in _batches(list(set(keys))):
            marks = ",".join("?" * len(batch))
            found.update(self.conn.execute(f"SELECT key, terms FROM bm25_terms WHERE key IN ({marks})", batch))
        return found

    def put(self, entries: dict[str, str]) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO bm25_terms(key, terms) VALUES (?, ?)", entries.items())

    def forget(self, keys: Iterable[str]) -> None:
        """Forget the terms of texts an update removed (their keys), unless this generation still uses them."""
        gone = [(k,) for k in set(keys) - self.used]
        self.conn.executemany("DELETE FROM bm25_terms WHERE key = ?", gone)

    def prune(self) -> None:
        """Forget the terms of texts no index of this generation uses (removed or changed articles)."""
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS used_terms (key TEXT PRIMARY KEY)")
        self.conn.execute("DELETE FROM used_terms")
        self.conn.executemany("INSERT OR IGNORE INTO used_terms(key) VALUES (?)", ((k,) for k in self.used))
        self.conn.execute("DELETE FROM bm25_terms WHERE key NOT IN (SELECT key FROM used_terms)")
        self.conn.execute("DELETE FROM used_terms")


def _line_key(source: str | None, key: str) -> int:
    """A (source, line) pair as a signed 64-bit integer: millions of them fit in a small table."""
    return int.from_bytes(hashlib.blake2b(f"{source or ''}\0{key}".encode(), digest_size=8).digest(), "big",
                          signed=True)


class LineHistory:
    """The per-source line counts of every raw text stored so far (corpus.boilerplate.LineHistory)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def counted(self, digests: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for batch in _batches(list(digests)):
            marks = ",".join("?" * len(batch))
            found.update(r[0] for r in self.conn.execute(f"SELECT digest FROM line_texts WHERE digest IN ({marks})",
                                                          batch))
        return found

    def counts(self, source: str | None, keys: Sequence[str]) -> tuple[int, dict[str, int]]:
        row = self.conn.execute("SELECT texts FROM line_sources WHERE source = ?", (source or "",)).fetchone()
        if row is None:
            return 0, {}
        by_int = {_line_key(source, k): k for k in keys}
        found: dict[str, int] = {}
        for batch in _batches(list(by_int)):
            marks = ",".join("?" * len(batch))
            for r in self.conn.execute(f"SELECT key, texts FROM line_counts WHERE key IN ({marks})", batch):
                found[by_int[r[0]]] = r[1]
        return int(row[0]), found


def count_lines(conn: sqlite3.Connection, lines: Iterable[RawLines]) -> None:
    """Add stored articles' raw lines to the counts (in the writer's transaction): each text once."""
    for item in lines:
        if conn.execute("INSERT OR IGNORE INTO line_texts(digest) VALUES (?)", (item.digest,)).rowcount != 1:
            continue
        conn.execute("INSERT INTO line_sources(source, texts) VALUES (?, 1) ON CONFLICT(source) DO UPDATE SET "
                     "texts = texts + 1", (item.source or "",))
        conn.executemany("INSERT INTO line_counts(key, texts) VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET "
                         "texts = texts + 1", ((_line_key(item.source, k),) for k in item.keys))


def prune_embeddings(conn: sqlite3.Connection, hashes: Sequence[str] | None = None) -> None:
    """Forget cached vectors no chunk uses: all of them, or (an update) only among hashes, the texts it removed,
    so that its cost follows the update, not the archive."""
    if hashes is None:
        conn.execute("DELETE FROM embeddings WHERE hash NOT IN (SELECT embed_hash FROM chunks)")
        return
    for batch in _batches(sorted(set(hashes))):
        conn.execute(f"DELETE FROM embeddings WHERE hash IN ({','.join('?' * len(batch))}) AND NOT EXISTS "
                     "(SELECT 1 FROM chunks WHERE chunks.embed_hash = embeddings.hash)", batch)


def embed_hashes_of(conn: sqlite3.Connection, chunk_ids: Sequence[int]) -> list[str]:
    out: list[str] = []
    for batch in _batches([int(i) for i in chunk_ids]):
        out += [r[0] for r in conn.execute(f"SELECT embed_hash FROM chunks WHERE id IN ({','.join('?' * len(batch))})",
                                           batch)]
    return out


def has_articles(conn: sqlite3.Connection) -> bool:
    """Whether the index holds any article (one row read, where counts scans every chunk)."""
    return conn.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is not None


def counts(conn: sqlite3.Connection) -> tuple[int, int]:
    articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    return int(articles), int(chunks)


def get_article(conn: sqlite3.Connection, article_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT id, title, date, source, url, authors, text FROM articles WHERE id = ?",
                       (article_id,)).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["authors"] = json.loads(out["authors"])
    return out


def chunk_rows(conn: sqlite3.Connection, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Chunk id -> chunk span, its text and its article's metadata."""
    out: dict[int, dict[str, Any]] = {}
    for batch in _batches(list(chunk_ids)):
        marks = ",".join("?" * len(batch))
        for row in conn.execute(
                f'SELECT c.id AS chunk_id, c.article_id, c.ordinal, c.start, c."end", a.title, a.date, '
                f'a.source, a.url, substr(a.text, c.start + 1, c."end" - c.start) AS text '
                f"FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})", batch):
            out[int(row["chunk_id"])] = dict(row)
    return out


def article_texts(conn: sqlite3.Connection, article_ids: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for batch in _batches(list(set(article_ids))):
        marks = ",".join("?" * len(batch))
        out.update((r[0], r[1]) for r in conn.execute(f"SELECT id, text FROM articles WHERE id IN ({marks})",
                                                      batch))
    return out


def stats(conn: sqlite3.Connection) -> dict[str, Any]:
    articles, chunks = counts(conn)
    first, last = conn.execute("SELECT MIN(date), MAX(date) FROM articles").fetchone()
    sources = {r[0] or "(unknown)": r[1] for r in
               conn.execute("SELECT source, COUNT(*) FROM articles GROUP BY source ORDER BY COUNT(*) DESC")}
    undated = conn.execute("SELECT COUNT(*) FROM articles WHERE date IS NULL").fetchone()[0]
    last_run = conn.execute("SELECT * FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
                            ).fetchone()
    return {"articles": articles, "chunks": chunks, "first_date": first, "last_date": last,
            "undated_articles": undated, "sources": sources, "last_run": _run(last_run) if last_run else None,
            "runs": runs(conn)}


def _run(row: sqlite3.Row) -> dict[str, Any]:
    """A runs row as data: its inputs (stored as JSON text) as a list."""
    run = dict(row)
    run["inputs"] = json.loads(run["inputs"] or "[]")
    return run


def runs(conn: sqlite3.Connection, limit: int = RUNS_SHOWN) -> list[dict[str, Any]]:
    """The latest update runs, newest first: counts, inputs, and what was added, changed, removed or skipped."""
    out = []
    for row in conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall():
        run = _run(row)
        run["skipped_records"] = [{"where": r[0], "reason": r[1]} for r in conn.execute(
            'SELECT "where", reason FROM skipped WHERE run_id=? LIMIT ?', (row["id"], ITEMS_SHOWN))]
        try:
            items = conn.execute("SELECT action, article_id FROM run_articles WHERE run_id=?", (row["id"],)
                                 ).fetchall()
        except sqlite3.OperationalError:  # an index written before this log existed
            items = []
        run["articles"] = {action: [i[1] for i in items if i[0] == action][:ITEMS_SHOWN]
                           for action in ("new", "updated", "removed")}
        out.append(run)
    return out


def _batches(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
