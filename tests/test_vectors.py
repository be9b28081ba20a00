"""Exact vs approximate (IVF,SQ8) vector indexes: switching by size, filters, reconstruct, deletes, recall."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corpus.article import Article
from corpus.chunk import Chunker
from index import vectors
from index.compact import DEPTH, CompactRows
from index.reader import IndexReader
from index.update import Writer
from tests.conftest import FakeEmbedder


def _clustered(n: int, dim: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres: the structure real embeddings have (uniform noise has none)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_fit_to_size_switches_to_ivf_and_back_with_ids_filters_and_reconstruct(tmp_path: Path) -> None:
    x = _clustered(6000)
    ids = np.arange(10, 10 + len(x), dtype=np.int64) * 3  # sparse ids, as chunk ids become after deletes
    flat = vectors.new_index(x.shape[1])
    vectors.add(flat, ids, x)
    assert vectors.fit_to_size(flat, 10_000, lambda: (ids, x)) is flat

    ivf = vectors.fit_to_size(flat, 5000, lambda: (ids, x), nprobe=16)
    assert vectors.is_approximate(ivf) and ivf.ntotal == len(x)
    assert np.allclose(ivf.reconstruct(int(ids[7])), x[7], atol=0.02)  # SQ8: close, not equal

    query = x[123]
    scores, found = vectors.search(ivf, query, 10)
    assert found[0] == ids[123] and scores[0] == pytest.approx(1.0, abs=0.02)

    allowed = ids[::50]  # a filter that keeps 2 % of the vectors still returns k of them
    _, found = vectors.search(ivf, query, 10, allowed, total=ivf.ntotal)
    assert len([i for i in found if i >= 0]) == 10 and set(found) <= set(allowed.tolist())

    vectors.remove(ivf, [int(ids[123])])
    _, found = vectors.search(ivf, query, 10)
    assert ids[123] not in found

    vectors.save_vectors(ivf, tmp_path, 3)
    loaded = vectors.load_vectors(tmp_path, 3)
    assert vectors.is_approximate(loaded) and loaded.ntotal == len(x) - 1 and loaded.nprobe == 16
    assert np.allclose(loaded.reconstruct(int(ids[8])), x[8], atol=0.02)

    back = vectors.fit_to_size(loaded, 20_000, lambda: (ids, x))
    assert not vectors.is_approximate(back) and back.ntotal == len(x)


def test_ivf_recall_at_10_against_exact() -> None:
    x = _clustered(20_200, seed=1)
    x, queries = x[:20_000], x[20_000:]  # queries from the same distribution, not in the index
    ids = np.arange(len(x), dtype=np.int64)
    exact = vectors.new_index(x.shape[1])
    vectors.add(exact, ids, x)
    ivf = vectors.new_ivf_index(ids, x)
    _, truth = exact.search(queries, 10)
    _, approx = ivf.search(queries, 10)
    recall = np.mean([len(set(a) & set(t)) / 10 for a, t in zip(approx, truth, strict=True)])
    assert recall >= 0.95


def _flat(x: np.ndarray) -> tuple[Any, Any]:
    """(the exact index, its inner flat index) over x; keep the first alive while using the second."""
    index = vectors.new_index(x.shape[1])
    vectors.add(index, np.arange(len(x), dtype=np.int64), x)
    found = vectors.flat_rows(index, np.arange(len(x), dtype=np.int64))
    assert found is not None
    return index, found[0]


@pytest.fixture
def one_thread() -> Iterator[None]:
    """FAISS on one OpenMP thread, as the reader searches (on two, a search without a filter splits the rows
    between threads and can differ from one with a filter in the last bit of a score)."""
    import faiss

    threads = faiss.omp_get_max_threads()
    vectors.one_thread()
    yield
    faiss.omp_set_num_threads(threads)


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows each search of a flat index (not of the compact copy) was allowed to score."""
    import faiss

    out: list[int] = []
    search_rows = vectors.search_rows

    def spy(index: Any, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> Any:
        if isinstance(index, faiss.IndexFlat):
            out.append(index.ntotal if allowed is None else int(allowed.sum()))
        return search_rows(index, query, k, allowed)

    monkeypatch.setattr(vectors, "search_rows", spy)
    return out


@pytest.mark.parametrize("k", [1, 10, 100])
@pytest.mark.usefixtures("one_thread")
def test_compact_first_pass_finds_exactly_the_exact_top_k_with_and_without_a_filter(
        k: int, scanned: list[int]) -> None:
    x = _clustered(20_200, dim=96, seed=2)
    x, queries = x[:20_000], x[20_000:]
    index, flat = _flat(x)
    compact = CompactRows(x)
    rng = np.random.default_rng(3)
    for mask in (None, rng.random(len(x)) < 0.3, np.arange(len(x)) < 5 * k):
        scanned.clear()
        for query in queries:
            scores, rows = compact.search(flat, query, k, mask)
            want_scores, want_rows = _exact(flat, query, k, mask)
            assert np.array_equal(rows, want_rows) and np.array_equal(scores, want_scores)
        if k == 100:  # the searcher's depth; mostly, the float index scored only the first pass's best rows
            assert np.median(scanned) <= DEPTH * k


@pytest.mark.usefixtures("one_thread")
def test_compact_first_pass_falls_back_to_the_float_scan_when_it_cannot_be_sure(scanned: list[int]) -> None:
    rng = np.random.default_rng(4)
    centre = rng.standard_normal(32).astype(np.float32)
    x = centre + 0.001 * rng.standard_normal((3000, 32)).astype(np.float32)  # all within the bytes' rounding
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index, flat = _flat(x)
    compact = CompactRows(x)
    query = x[17] + 0.0005
    for mask in (None, np.arange(len(x)) % 7 == 0):
        scanned.clear()
        assert all(np.array_equal(a, b) for a, b in zip(compact.search(flat, query, 10, mask),
                                                        _exact(flat, query, 10, mask), strict=True))
        assert scanned[0] == (len(x) if mask is None else mask.sum())  # every allowed row, in floats


def _exact(flat: Any, query: np.ndarray, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """What the float scan alone finds (FAISS directly: vectors.search_rows is spied on)."""
    import faiss

    params = None
    if mask is not None:
        bitmap = np.packbits(mask, bitorder="little")
        params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap)))
    scores, rows = flat.search(np.ascontiguousarray(query[None], dtype=np.float32), k, params=params)
    return scores[0], rows[0]


def test_writer_builds_an_ivf_index_past_the_threshold_and_reader_filters_it(tmp_path: Path,
                                                                             fake_embedder: FakeEmbedder) -> None:
    path = tmp_path / "index"
    words = ["harbour", "crane", "ferry", "strike", "mayor", "election", "fire", "vaccine", "court", "budget"]
    articles = [Article(id=f"a{i}", title=f"Story {i}", date=f"2024-0{1 + i % 9}-01", origin=f"t:{i}",
                        text=f"The {words[i % 10]} story number {i} about {words[(i * 7) % 10]} and "
                             f"{words[(i * 3) % 10]}. It ended on day {i}.") for i in range(120)]
    with Writer(path, FakeEmbedder.name, Chunker(), lambda: fake_embedder, ann_threshold=100) as w:
        w.ingest(articles)
    reader = IndexReader(path)
    assert vectors.is_approximate(reader._vectors) and reader._vectors.ntotal == 120
    query = fake_embedder.encode(["The ferry story number 7"])[0]
    hits = reader.search(query, 5)
    assert len(hits) == 5
    # the 8-bit candidates are ordered again by the stored float vectors: the exact top 5, with exact cosines
    stored = _stored_vectors(path)
    exact = sorted(((c, float(v @ query)) for c, v in stored.items()), key=lambda item: -item[1])[:5]
    assert [s for _, s in hits] == pytest.approx([s for _, s in exact], abs=1e-6)  # (ties in any order)
    assert all(s == pytest.approx(float(stored[c] @ query), abs=1e-6) for c, s in hits)
    mask = reader.table.article == reader.table.article_names.index("a7")
    assert [h[0] for h in reader.search(query, 5, mask)] == reader.table.ids[mask].tolist()
    assert reader.cosine(query, hits[0][0]) == pytest.approx(hits[0][1], abs=0.02)

    with Writer(path, FakeEmbedder.name, Chunker(), lambda: fake_embedder, ann_threshold=100) as w:
        w.remove([f"a{i}" for i in range(80)])  # 40 left: below half the threshold, exact again
    reader = IndexReader(path)
    assert not vectors.is_approximate(reader._vectors) and reader._vectors.ntotal == 40


def _stored_vectors(path: Path) -> dict[int, np.ndarray]:
    from index import store

    ids, vecs = store.all_chunk_vectors(store.connect(path, readonly=True), FakeEmbedder.dim)
    return {int(i): v for i, v in zip(ids, vecs, strict=True)}


def test_updates_write_deltas_over_one_base_and_compact_when_they_outgrow_it(
        tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """An update writes only what it changed (a delta over the base file); readers see exactly the stored vectors;
    past DELTA_MIN changes the next update writes a new base, and files no generation needs are removed."""
    monkeypatch.setattr(vectors, "DELTA_MIN", 12)
    path = tmp_path / "index"

    def story(i: int, version: int = 0) -> Article:
        return Article(id=f"d{i}", title=f"Story {i}", date="2024-05-01", origin=f"t:{i}",
                       text=f"The ferry story {i} in version {version}. " * (1 + i % 3))

    def write(**kwargs: Any) -> None:
        with Writer(path, FakeEmbedder.name, Chunker(max_tokens=12, overlap_tokens=0), lambda: fake_embedder) as w:
            w.remove(kwargs["remove"]) if "remove" in kwargs else w.ingest(kwargs["add"])

    def check() -> IndexReader:
        reader = IndexReader(path)
        stored = _stored_vectors(path)
        assert reader._vectors.ntotal == reader.manifest.chunks == len(stored)
        assert np.array_equal(reader.table.ids, np.array(sorted(stored)))
        for chunk_id, vec in stored.items():
            assert np.allclose(reader.vector(chunk_id), vec)
        first = next(iter(stored))
        assert reader.search(stored[first], 1)[0][0] == first
        return reader

    write(add=[story(i) for i in range(6)])
    assert check().manifest.vector_base == 0  # a first ingest writes the whole index
    write(add=[story(6), story(1, version=2)])  # one new, one changed: a small delta over generation 1's file
    reader = check()
    assert reader.manifest.vector_base == 1 and (path / "vectors-2.delta.npz").is_file()
    delta = vectors.load_delta(path, 2)
    assert len(delta.removed) > 0 and len(delta.ids) > 0
    write(remove=["d6"])  # a chunk the delta added goes from the delta, not to its removed ids
    reader = check()
    assert vectors.load_delta(path, 3).count == reader.manifest.chunks
    assert not (path / "vectors-2.faiss").exists() and (path / "vectors-1.faiss").is_file()
    for i in range(7, 12):
        write(add=[story(i)])
        reader = check()
        if reader.manifest.vector_base == 0:
            break
    assert reader.manifest.vector_base == 0, "the delta outgrew DELTA_MIN but was never compacted"
    generation = reader.manifest.generation
    assert (path / f"vectors-{generation}.faiss").is_file()
    write(add=[story(20)])
    check()
    write(add=[story(21)])  # generation - 1 is a delta over the new base: the old base is gone
    assert not (path / "vectors-1.faiss").exists()
    assert sorted(p.name for p in path.glob("vectors-*")) == sorted(
        [f"vectors-{generation}.faiss", f"vectors-{generation + 1}.delta.npz", f"vectors-{generation + 2}.delta.npz"])


def test_a_delta_applied_to_an_ivf_index_gives_what_faiss_remove_and_add_give() -> None:
    """Delta.apply rewrites each inverted list once (no growth slack); the index it gives holds the same vectors,
    codes and ids as FAISS's own remove_ids + add_with_ids, finds the same neighbours and reconstructs by id."""
    import faiss

    x = _clustered(6000)
    ids = np.arange(len(x), dtype=np.int64) * 2
    base = vectors.new_ivf_index(ids[:5000], x[:5000], nlist=32, nprobe=8)
    removed = ids[[3, 17, 400, 4999]]
    delta = vectors.Delta.empty(1, base.ntotal, x.shape[1]).updated(removed, ids[5000:], x[5000:])
    expected = faiss.clone_index(base)
    vectors.remove(expected, removed.tolist())
    vectors.add(expected, ids[5000:], x[5000:])
    got = delta.apply(faiss.clone_index(base))

    assert got.ntotal == expected.ntotal == 6000 - len(removed)

    def contents(index: Any) -> dict[int, bytes]:
        lists = faiss.extract_index_ivf(index).invlists
        out = {}
        for i in range(lists.nlist):
            n = lists.list_size(i)
            list_ids = faiss.rev_swig_ptr(lists.get_ids(i), n).copy() if n else []
            codes = faiss.rev_swig_ptr(lists.get_codes(i), n * lists.code_size).reshape(n, -1) if n else []
            out.update({int(c): (i, bytes(code)) for c, code in zip(list_ids, codes, strict=True)})
        return out

    assert contents(got) == contents(expected)
    queries = x[::97]
    assert np.array_equal(*(np.sort(index.search(queries, 10)[1], axis=1) for index in (got, expected)))
    assert np.array_equal(got.reconstruct(int(ids[5500])), expected.reconstruct(int(ids[5500])))
    with pytest.raises(RuntimeError):
        got.reconstruct(int(removed[0]))
