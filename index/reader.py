"""Read side of an index: vector search plus metadata lookups, following the writer's generations."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np

from index import store, vectors
from index.manifest import IndexCorrupt, IndexNotFound, Manifest

log = logging.getLogger(__name__)


class IndexReader:
    """Thread-safe: one SQLite connection per thread, the vector index swapped whole on reload."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        if not (self.index_dir / store.DB_NAME).exists():
            raise IndexNotFound(f"no index at {self.index_dir}. Build one with: newsqa ingest PATH --index "
                                f"{self.index_dir} (or newsqa serve --demo for the bundled demo archive)")
        self._local = threading.local()
        self._swap = threading.Lock()
        self.manifest: Manifest
        self._vectors: Any = None
        if not self.refresh():
            raise IndexNotFound(f"the index at {self.index_dir} is empty. Build it with: newsqa ingest PATH "
                                f"--index {self.index_dir}")

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = store.connect(self.index_dir, readonly=True)
            self._local.conn = conn
        return conn

    def refresh(self) -> bool:
        """Load the current generation if it changed; False when there is no index content yet."""
        manifest = store.read_manifest(self.conn)
        if manifest is None:
            return False
        if self._vectors is not None and manifest.generation == self.manifest.generation:
            return True
        with self._swap:
            try:
                index = vectors.load_vectors(self.index_dir, manifest.generation)
            except RuntimeError as exc:
                raise IndexCorrupt(f"cannot read the vector file of generation {manifest.generation} in "
                                   f"{self.index_dir}: {exc}. Run: newsqa rebuild --index {self.index_dir}"
                                   ) from exc
            if index.ntotal != manifest.chunks or index.d != manifest.dim:
                raise IndexCorrupt(f"vector file has {index.ntotal} vectors of dimension {index.d}; the store "
                                   f"expects {manifest.chunks} of {manifest.dim}. Run: newsqa rebuild --index "
                                   f"{self.index_dir}")
            self._vectors, self.manifest = index, manifest
            log.info("loaded index generation %d: %d articles, %d chunks", manifest.generation,
                     manifest.articles, manifest.chunks)
        return True

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the k nearest chunks."""
        index = self._vectors
        k = min(k, index.ntotal)
        if k <= 0:
            return []
        scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def chunks(self, chunk_ids: list[int]) -> dict[int, dict[str, Any]]:
        return store.chunk_rows(self.conn, chunk_ids)

    def article(self, article_id: str) -> dict[str, Any] | None:
        return store.get_article(self.conn, article_id)

    def article_texts(self, article_ids: list[str]) -> dict[str, str]:
        return store.article_texts(self.conn, article_ids)

    def stats(self) -> dict[str, Any]:
        out = store.stats(self.conn)
        out["model"] = self.manifest.model
        out["generation"] = self.manifest.generation
        out["chunk_tokens"] = self.manifest.chunk_tokens
        out["index_bytes"] = sum(p.stat().st_size for p in self.index_dir.iterdir() if p.is_file())
        return out
