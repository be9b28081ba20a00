"""The FAISS vector index: inner product over normalised vectors (= cosine), chunk ids as FAISS ids.

Files are named by the store's generation (vectors-<gen>.faiss) and written before the metadata commit that
makes that generation current, so a reader always finds the file matching what the store says.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

_FILE = re.compile(r"^vectors-(\d+)\.faiss$")


def new_index(dim: int) -> Any:
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def vectors_path(index_dir: Path, generation: int) -> Path:
    return Path(index_dir) / f"vectors-{generation}.faiss"


def load_vectors(index_dir: Path, generation: int) -> Any:
    import faiss

    return faiss.read_index(str(vectors_path(index_dir, generation)))


def save_vectors(index: Any, index_dir: Path, generation: int) -> Path:
    """Write to a temporary name, flush to disk, then rename: the final name only ever holds a whole file."""
    import faiss

    final = vectors_path(index_dir, generation)
    tmp = final.with_suffix(f".faiss.tmp-{os.getpid()}")
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    _fsync_dir(final.parent)
    return final


def remove_stale(index_dir: Path, keep: set[int]) -> None:
    """Delete vector files of older generations (and temporaries of dead writers)."""
    for path in Path(index_dir).iterdir():
        match = _FILE.match(path.name)
        if (match and int(match.group(1)) not in keep) or ".faiss.tmp-" in path.name:
            path.unlink(missing_ok=True)


def add(index: Any, ids: np.ndarray, vectors: np.ndarray) -> None:
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))


def remove(index: Any, ids: list[int]) -> None:
    if ids:
        index.remove_ids(np.asarray(ids, dtype=np.int64))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
