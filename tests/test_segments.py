"""BM25 in segments: an update indexes only what it adds, and the scores stay those of one index over the
live documents (real SQLite and FAISS; a fake embedder keeps it fast)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from corpus.article import Article
from index import lexical, segments, store
from index.reader import IndexReader
from tests.conftest import FakeEmbedder
from tests.test_index import _articles, _writer

QUERIES = ["crane contract", "lighthouse keeper retired", "ferry strike", "harbour workers years old", "zebra"]


def _assert_as_one_index(path: Path) -> IndexReader:
    """The reader's BM25 indexes score every query as one index built afresh over the stored texts does."""
    reader = IndexReader(path)
    conn = store.connect(path, readonly=True)
    for live, docs in ((reader.lexical, store.chunk_texts(conn)), (reader.article_lexical, store.article_docs(conn))):
        fresh = lexical.Lexical.build(*docs)
        assert np.array_equal(live.ids, fresh.ids)
        for q in QUERIES:
            assert np.allclose(live.scores(q), fresh.scores(q), rtol=1e-5, atol=1e-6), q
            assert live.full_match_score(q) == pytest.approx(fresh.full_match_score(q))
    return reader


def _story(i: int, text: str) -> Article:
    return Article(id=f"s{i}", text=text, title=f"Update {i}", date="2024-03-01", origin=f"test:s{i}")


def test_updates_add_segments_and_score_as_one_index(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(6))
    texts = ["The lighthouse keeper retired after forty years.", "Ferry crews began a strike over pay.",
             "The crane contract was signed again."]
    for i, text in enumerate(texts):
        with _writer(path, fake_embedder) as w:
            w.ingest([_story(i, text)])
    with _writer(path, fake_embedder) as w:  # several articles at once, not in id order
        w.ingest([_story(9, "Zebra crossings were painted."), _story(5, "A ferry timetable for winter.")])
    reader = _assert_as_one_index(path)
    generation = reader.manifest.generation
    names = lexical.segment_names(path, generation)
    assert len(names) == 5 and names[0] == "bm25-1-0"  # the first load, then one segment an update
    # a change and a removal mark rows dead in older segments: nothing is re-indexed
    with _writer(path, fake_embedder) as w:
        w.ingest([dataclasses.replace(_articles(6)[2], text="The harbour board cancelled the ferry contract.")])
    with _writer(path, fake_embedder) as w:
        w.remove(["a4", "s1"])
    reader = _assert_as_one_index(path)
    orphans = reader.conn.execute("SELECT COUNT(*) FROM embeddings WHERE hash NOT IN (SELECT embed_hash FROM chunks)")
    assert orphans.fetchone()[0] == 0  # the removed texts' cached vectors went with them
    assert "a4" not in reader.article_lexical.ids.tolist() and "a2" in reader.article_lexical.ids.tolist()
    # s1's segment held nothing else and is dropped; the removal adds no segment
    assert lexical.segment_names(path, reader.manifest.generation) == [*names[:2], *names[3:], "bm25-6-0"]
    # older segments no kept generation lists are removed from disk
    used = {n for g in (reader.manifest.generation, reader.manifest.generation - 1)
            for kind in (lexical.CHUNKS, lexical.ARTICLES) for n in lexical.segment_names(path, g, kind)}
    assert {p.name for p in (path / segments.SEGMENTS_DIR).iterdir()} == used


def test_many_updates_merge_small_segments(tmp_path: Path, fake_embedder: FakeEmbedder,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "MERGE_FACTOR", 3)  # every three small segments become one
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(4))
    for i in range(6):
        with _writer(path, fake_embedder) as w:
            w.ingest([_story(i, f"Story number {i} is about the ferry strike and the crane contract {i}.")])
    reader = _assert_as_one_index(path)
    names = lexical.segment_names(path, reader.manifest.generation)
    assert len(names) <= 3 and any(n.endswith("-m") for n in names)
    assert reader.manifest.chunks == len(reader.lexical.ids) == 10


def test_a_rebuild_and_an_index_from_before_segments_index_everything(tmp_path: Path,
                                                                       fake_embedder: FakeEmbedder) -> None:
    import shutil

    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(3))
    with _writer(path, fake_embedder) as w:
        w.ingest([_story(0, "The lighthouse keeper retired.")])
    generation = IndexReader(path).manifest.generation
    (lexical.lexical_path(path, generation) / "segments.json").unlink()  # as an index written with bm25s files
    shutil.rmtree(path / segments.SEGMENTS_DIR)
    conn = store.connect(path)
    manifest = store.read_manifest(conn)
    assert manifest is not None
    kept = {n: d for n, d in manifest.files.items() if n.startswith("vectors")}
    store.write_manifest(conn, dataclasses.replace(manifest, files=kept))
    conn.commit()
    conn.close()
    _assert_as_one_index(path)  # the reader builds it in memory
    with _writer(path, fake_embedder) as w:
        w.ingest([_story(1, "Ferry crews began a strike.")])
    reader = _assert_as_one_index(path)
    assert lexical.segment_names(path, reader.manifest.generation) == [f"bm25-{reader.manifest.generation}-0"]
    with _writer(path, fake_embedder) as w:
        w.rebuild()
    reader = _assert_as_one_index(path)
    assert lexical.segment_names(path, reader.manifest.generation) == [f"bm25-{reader.manifest.generation}-0"]
