"""The FAISS vector index: inner product over normalised vectors (= cosine), chunk ids as FAISS ids.

Files are named by the store's generation and written before the metadata commit that makes that generation
current, so a reader always finds the files matching what the store says. An update does not rewrite the whole
index: it writes a delta (vectors-<gen>.delta.npz: the vectors added and the ids removed since the base file
vectors-<base>.faiss), which readers apply to the base when they load the generation. When the delta outgrows a
tenth of the base, or the index must change kind, the update writes a new base instead (a compaction: its cost,
the whole index, comes once per ~10 % of the archive changed).

Exact search (IDMap2 over Flat) while the index is small; past a configurable number of vectors an approximate
IVF index with 8-bit scalar quantisation (IVF<nlist>,SQ8: a quarter of the memory, nprobe lists scanned per
query). IVF rather than HNSW because updates delete vectors and FAISS's HNSW cannot remove ids; the IVF keeps a
hashtable direct map so `reconstruct(chunk_id)` still works.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_FILE = re.compile(r"^vectors-(\d+)\.(faiss|delta\.npz)$")
DEFAULT_ANN_THRESHOLD = 100_000  # below it exact search over 384-d vectors takes <= ~15 ms on 2 cores
DEFAULT_NPROBE = 48
DELTA_FRACTION = 0.1  # a delta holding more changes than this share of its base is compacted into a new base
DELTA_MIN = 4096  # ... or than this many (a small archive's base is cheap to rewrite)


def new_index(dim: int) -> Any:
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def ivf_lists(n: int) -> int:
    """IVF lists for n vectors: about 2 sqrt(n) as a power of two (2048 at 10^6), at least 39 vectors per list."""
    return max(1, min(1 << int(round(np.log2(2 * np.sqrt(max(n, 1))))), n // 39))


def new_ivf_index(ids: np.ndarray, vecs: np.ndarray, nlist: int | None = None, nprobe: int = DEFAULT_NPROBE,
                  train_size: int | None = None, seed: int = 0) -> Any:
    """An IVF,SQ8 index over (ids, vecs), trained on a sample of at most 64 vectors per list."""
    import faiss

    n, dim = vecs.shape
    nlist = nlist or ivf_lists(n)
    index = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
    sample = train_size or min(n, 64 * nlist)
    rows = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False) if sample < n else slice(None)
    index.train(np.ascontiguousarray(vecs[rows], dtype=np.float32))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct(id) and remove_ids by chunk id
    index.nprobe = min(nprobe, nlist)
    add(index, ids, vecs)
    return index


def is_approximate(index: Any) -> bool:
    import faiss

    return isinstance(index, faiss.IndexIVF)


def fit_to_size(index: Any, threshold: int, all_vectors: Callable[[], tuple[np.ndarray, np.ndarray]],
                nprobe: int = DEFAULT_NPROBE) -> Any:
    """The index itself, or a new one of the kind its size calls for (exact up to threshold, IVF past it).

    An IVF index is kept (new vectors go to the trained lists) until it shrinks below half the threshold; a
    full rebuild retrains it. all_vectors gives the exact stored vectors (SQ8 reconstructions are lossy).
    """
    approximate = is_approximate(index)
    if threshold > 0 and not approximate and index.ntotal > threshold:
        return new_ivf_index(*all_vectors(), nprobe=nprobe)
    if approximate and (threshold <= 0 or index.ntotal < threshold // 2):
        ids, vecs = all_vectors()
        flat = new_index(index.d)
        add(flat, ids, vecs)
        return flat
    return index


def kind_fits(approximate: bool, count: int, threshold: int) -> bool:
    """Whether an index of this kind suits count vectors (fit_to_size would keep it)."""
    if approximate:
        return threshold > 0 and count >= threshold // 2
    return threshold <= 0 or count <= threshold


def search(index: Any, query: np.ndarray, k: int, allowed: np.ndarray | None = None, total: int = 0,
           nprobe: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the k nearest vectors; with allowed (chunk ids), among those only.

    With a filter an IVF index scans more lists, in proportion to how few vectors pass, so that a filter that
    keeps 10 % of the archive still finds k neighbours (at most every list: then it is exact over SQ8 codes).
    """
    import faiss

    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    selector = faiss.IDSelectorBatch(allowed) if allowed is not None else None
    if is_approximate(index):
        ivf = faiss.extract_index_ivf(index)
        probe = nprobe or ivf.nprobe
        if allowed is not None and total:
            probe = int(np.ceil(probe * total / max(len(allowed), 1)))
        params: Any = faiss.SearchParametersIVF(sel=selector, nprobe=int(min(ivf.nlist, max(probe, 1))))
    else:
        params = faiss.SearchParameters(sel=selector) if selector is not None else None
    scores, ids = index.search(query, k, params=params)
    return scores[0], ids[0]


def flat_rows(index: Any, ids: np.ndarray) -> tuple[Any, np.ndarray] | None:
    """For an exact index whose vectors FAISS holds in the order of ids (sorted chunk ids; the writer adds
    them in increasing order, so it does): the inner flat index, whose row i is ids[i], and its vectors as an
    (n, d) array viewing FAISS's own memory (valid while the index lives). None otherwise.

    Rows instead of chunk ids let a date or source filter be a bitmap over rows (IDSelectorBitmap: a bit test)
    rather than a hash set of allowed ids built per query (IDSelectorBatch), and a candidate's cosine is a row
    lookup instead of a reconstruct call.
    """
    import faiss

    if is_approximate(index) or not hasattr(index, "id_map"):
        return None
    inner = faiss.downcast_index(index.index)
    if not isinstance(inner, faiss.IndexFlat) or not np.array_equal(faiss.vector_to_array(index.id_map), ids):
        return None
    n, dim = inner.ntotal, inner.d
    matrix = (faiss.rev_swig_ptr(inner.get_xb(), n * dim).reshape(n, dim) if n
              else np.zeros((0, dim), dtype=np.float32))
    return inner, matrix


def one_thread() -> None:
    """FAISS's OpenMP loops on one thread for searches made by the calling thread.

    OpenMP's thread count is a per-thread setting, so each server worker thread needs its own call. One query
    gains little from a second thread, whose spinning afterwards takes a core from the embedding model:
    /api/search p50 measured in the server 22.1 -> 19.7 ms on the 57,602-chunk index.
    """
    import faiss

    faiss.omp_set_num_threads(1)


def search_rows(flat: Any, query: np.ndarray, k: int, allowed: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the k nearest rows of a flat index; with allowed (a boolean per row), among those."""
    import faiss

    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    params = None
    if allowed is not None:
        bitmap = np.packbits(allowed, bitorder="little")  # FAISS reads bit i of byte i // 8, lowest bit first
        params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap)))
    scores, rows = flat.search(query, k, params=params)
    return scores[0], rows[0]


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
    """Delete vector files (bases and deltas) of generations not in keep, and temporaries of dead writers."""
    for path in Path(index_dir).iterdir():
        match = _FILE.match(path.name)
        if (match and int(match.group(1)) not in keep) or ".faiss.tmp-" in path.name or ".npz.tmp-" in path.name:
            path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Delta:
    """What a generation changed in the vectors of its base file: the vectors added (ids increasing: chunk ids
    only grow) and the base's ids removed."""

    base: int  # the generation whose vectors-<base>.faiss this applies to
    base_count: int  # vectors in that file
    ids: np.ndarray
    vectors: np.ndarray  # (len(ids), dim) float32
    removed: np.ndarray

    @classmethod
    def empty(cls, base: int, base_count: int, dim: int) -> Delta:
        return cls(base, base_count, np.zeros(0, np.int64), np.zeros((0, dim), np.float32), np.zeros(0, np.int64))

    @property
    def count(self) -> int:
        return self.base_count - len(self.removed) + len(self.ids)

    @property
    def size(self) -> int:
        return len(self.ids) + len(self.removed)

    def outgrown(self) -> bool:
        """Time to compact it into a new base file."""
        return self.size > max(DELTA_MIN, DELTA_FRACTION * self.base_count)

    def updated(self, removed: np.ndarray, ids: np.ndarray, vecs: np.ndarray) -> Delta:
        """This delta followed by removing the ids removed and adding ids (vecs). An id removed is either one this
        delta added (it goes from ids) or one of the base's (it joins removed)."""
        removed = np.asarray(removed, dtype=np.int64)
        mine = np.isin(self.ids, removed)
        from_base = np.setdiff1d(removed, self.ids[mine])
        keep = ~mine
        vecs = np.asarray(vecs, np.float32).reshape(len(ids), self.vectors.shape[1])
        return Delta(self.base, self.base_count, np.concatenate([self.ids[keep], np.asarray(ids, np.int64)]),
                     np.concatenate([self.vectors[keep], vecs]), np.union1d(self.removed, from_base))

    def apply(self, index: Any) -> Any:
        """The base index (loaded from its file) brought to this delta's generation, in place."""
        if is_approximate(index):
            return _apply_to_lists(index, self)
        remove(index, self.removed.tolist())
        add(index, self.ids, self.vectors)
        return index


def _apply_to_lists(index: Any, delta: Delta) -> Any:
    """delta.apply for an IVF index: each inverted list rewritten once, at its final size.

    FAISS adds vectors to a list one at a time, and each list's buffer then grows (and is copied) by doubling:
    adding 45,391 vectors to the 950,708 of a 10^6 archive left 280 MB of slack and freed buffers in the
    process (RSS 414 -> 703 MB, vs 448 MB rewritten). The codes are FAISS's own (encode_vectors, as add does);
    within a list the kept vectors stay in order, then the added ones in id order.
    """
    import faiss

    ivf = faiss.extract_index_ivf(index)
    x = np.ascontiguousarray(delta.vectors, dtype=np.float32).reshape(len(delta.ids), ivf.d)
    lists = ivf.quantizer.assign(x, 1).ravel().astype(np.int64) if len(x) else np.zeros(0, np.int64)
    codes = np.empty((len(x), ivf.code_size), dtype=np.uint8)
    if len(x):
        ivf.encode_vectors(len(x), faiss.swig_ptr(x), faiss.swig_ptr(lists), faiss.swig_ptr(codes))
    order = np.argsort(lists, kind="stable")
    bounds = np.searchsorted(lists[order], np.arange(ivf.nlist + 1))
    added_ids = np.asarray(delta.ids, dtype=np.int64)
    old = ivf.invlists
    new = faiss.ArrayInvertedLists(ivf.nlist, ivf.code_size)
    total = 0
    for i in range(ivf.nlist):
        n = old.list_size(i)
        ids = faiss.rev_swig_ptr(old.get_ids(i), n) if n else np.zeros(0, np.int64)
        rows = (faiss.rev_swig_ptr(old.get_codes(i), n * ivf.code_size).reshape(n, ivf.code_size) if n
                else np.zeros((0, ivf.code_size), np.uint8))
        if len(delta.removed) and n:
            keep = ~np.isin(ids, delta.removed)
            ids, rows = ids[keep], rows[keep]
        mine = order[bounds[i]:bounds[i + 1]]
        if len(mine):
            ids, rows = np.concatenate([ids, added_ids[mine]]), np.concatenate([rows, codes[mine]])
        if len(ids):
            ids, rows = np.ascontiguousarray(ids, dtype=np.int64), np.ascontiguousarray(rows)
            new.add_entries(i, len(ids), faiss.swig_ptr(ids), faiss.swig_ptr(rows))
        total += len(ids)
    ivf.replace_invlists(new, True)  # deletes the old lists
    new.this.disown()  # the index owns them now
    ivf.ntotal = index.ntotal = total
    kind = ivf.direct_map.type  # rebuilt over the new lists
    ivf.set_direct_map_type(faiss.DirectMap.NoMap)
    ivf.set_direct_map_type(kind)
    return index


def delta_path(index_dir: Path, generation: int) -> Path:
    return Path(index_dir) / f"vectors-{generation}.delta.npz"


def save_delta(delta: Delta, index_dir: Path, generation: int) -> Path:
    """Write a generation's delta (temporary name, fsync, rename, as save_vectors)."""
    final = delta_path(index_dir, generation)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as handle:
        np.savez(handle, base=np.array([delta.base, delta.base_count], dtype=np.int64), ids=delta.ids,
                 vectors=delta.vectors, removed=delta.removed)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    _fsync_dir(final.parent)
    return final


def load_delta(index_dir: Path, generation: int) -> Delta:
    with np.load(delta_path(index_dir, generation)) as data:
        base, base_count = (int(x) for x in data["base"])
        delta = Delta(base, base_count, data["ids"], data["vectors"], data["removed"])
    if len(delta.ids) != len(delta.vectors):
        raise ValueError(f"vector delta {delta_path(index_dir, generation)} is inconsistent")
    return delta


def load_generation(index_dir: Path, generation: int, base: int) -> Any:
    """The vector index of a generation: its own file, or its base file with its delta applied."""
    if not base or base == generation:
        return load_vectors(index_dir, generation)
    delta = load_delta(index_dir, generation)
    return delta.apply(load_vectors(index_dir, base))


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
