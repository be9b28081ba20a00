"""Incremental updates on a real SQLite store and FAISS index, with a fake embedder to keep them fast."""

import dataclasses
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from corpus.article import Article
from corpus.chunk import Chunker
from index import store
from index.manifest import IndexCorrupt, ModelMismatch
from index.reader import IndexReader
from index.update import Writer
from tests.conftest import FakeEmbedder

TEXT = "The harbour board approved the crane contract on {day}. Workers said the cranes were {n} years old."


def _articles(n: int, day: str = "Monday") -> list[Article]:
    return [Article(id=f"a{i}", text=TEXT.format(day=day, n=i) + f" Article {i} ends here.", title=f"Story {i}",
                    date="2024-02-01", origin=f"test:{i}") for i in range(n)]


def _writer(path: Path, embedder: FakeEmbedder, model: str = FakeEmbedder.name) -> Writer:
    return Writer(path, model, Chunker(), lambda: embedder)


def _state(path: Path) -> tuple[dict[str, str], int, int]:
    reader = IndexReader(path)
    conn = reader.conn
    return store.article_hashes(conn), reader.manifest.chunks, reader._vectors.ntotal


def test_add_change_remove_and_reingest_nothing(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        report = w.ingest(_articles(5))
    assert (len(report.new), report.embedded) == (5, 5)
    hashes, chunks, vectors = _state(path)
    assert len(hashes) == 5 and chunks == vectors == 5

    texts_before = fake_embedder.texts
    with _writer(path, fake_embedder) as w:
        report = w.ingest(_articles(5))
    assert (report.unchanged, report.embedded, fake_embedder.texts) == (5, 0, texts_before)
    assert report.generation == 1  # nothing committed

    changed = _articles(5)
    changed[2] = dataclasses.replace(changed[2], text=changed[2].text + " A correction followed on Friday.")
    with _writer(path, fake_embedder) as w:
        report = w.ingest(changed + [Article(id="new", text="A brand new story about ferries.", origin="x")])
    assert (report.updated, report.new, report.unchanged, report.embedded) == (["a2"], ["new"], 4, 2)
    hashes, chunks, vectors = _state(path)
    assert len(hashes) == 6 and chunks == vectors == 6
    reader = IndexReader(path)
    assert "correction" in reader.article("a2")["text"]

    with _writer(path, fake_embedder) as w:
        report = w.remove(["a0", "missing"])
    assert (report.removed, report.not_found) == (["a0"], ["missing"])
    hashes, chunks, vectors = _state(path)
    assert "a0" not in hashes and chunks == vectors == 5


def test_search_finds_the_right_chunk_and_reader_follows_updates(tmp_path: Path, fake_embedder: FakeEmbedder
                                                                  ) -> None:
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(3))
    reader = IndexReader(path)
    assert reader.manifest.generation == 1
    with _writer(path, fake_embedder) as w:
        w.ingest([Article(id="ferry", text="Ferries to the Tallow Islands resumed after the storm.")])
    assert reader.refresh() and reader.manifest.generation == 2
    query = fake_embedder.encode(["ferries Tallow Islands storm"])[0]
    [(best_id, score), *_] = reader.search(query, 3)
    assert reader.chunks([best_id])[best_id]["article_id"] == "ferry" and score > 0.5


def test_duplicate_ids_in_one_input(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    one, two = _articles(2)
    other = dataclasses.replace(one, text="Completely different text about trams.", origin="test:later")
    with _writer(tmp_path / "index", fake_embedder) as w:
        report = w.ingest([one, one, two, other])
    assert report.duplicates == 1 and len(report.skipped) == 1 and report.records == 4
    assert "superseded" in report.skipped[0].reason and report.skipped[0].where == "test:0"
    assert "trams" in IndexReader(tmp_path / "index").article("a0")["text"]


def test_model_mismatch_is_a_clear_error(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(1))
    with pytest.raises(ModelMismatch, match="newsqa rebuild"):
        with _writer(path, fake_embedder, model="another-model"):
            pass


def test_lost_vector_file_is_restored_from_stored_vectors(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(3))
    (path / "vectors-1.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorrupt, match="newsqa rebuild"):
        IndexReader(path)
    calls = fake_embedder.calls
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(4))  # one new article; the other vectors come from the store, not the model
    assert fake_embedder.calls == calls + 1
    _, chunks, vectors = _state(path)
    assert chunks == vectors == 4


def test_rebuild_re_embeds_everything_with_new_settings(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(3))
    with Writer(path, "fake-2", Chunker(max_tokens=10, overlap_tokens=0), lambda: fake_embedder,
                for_rebuild=True) as w:
        report = w.rebuild()
    assert len(report.updated) == 3
    reader = IndexReader(path)
    assert reader.manifest.model == "fake-2" and reader.manifest.chunk_tokens == 10
    assert reader.manifest.chunks == reader._vectors.ntotal > 3


def test_identical_chunk_texts_are_embedded_once(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    same = [Article(id=f"copy{i}", text="A wire story printed by many papers.", title="Wire") for i in range(4)]
    with _writer(tmp_path / "index", fake_embedder) as w:
        report = w.ingest(same)
    assert (report.embedded, report.reused, report.chunks_added) == (1, 3, 4)
    conn = sqlite3.connect(tmp_path / "index" / store.DB_NAME)
    assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 1
    ids, vectors = store.all_chunk_vectors(conn, FakeEmbedder.dim)
    assert len(ids) == 4 and np.allclose(vectors[0], vectors[3])


def test_ingest_in_batches_commits_each_and_logs_one_run(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    from corpus.demo import demo_dir
    from qa.engine import ingest
    from qa.settings import Settings

    settings = Settings.from_env({}, index_dir=tmp_path / "index", model=FakeEmbedder.name, entities=0,
                                 ingest_batch=10)
    report = ingest(settings, [demo_dir()], get_embedder=lambda: fake_embedder)
    assert report.records == len(report.new) == 37 and report.skipped == []
    assert report.generation == 4  # 37 articles, 10 at a time: four atomic commits
    reader = IndexReader(tmp_path / "index")
    assert reader.manifest.articles == 37 and reader.manifest.chunks == reader._vectors.ntotal
    runs = store.runs(reader.conn)
    assert len(runs) == 1 and runs[0]["new"] == 37 and len(runs[0]["articles"]["new"]) == 37

    again = ingest(settings, [demo_dir()], get_embedder=lambda: fake_embedder)
    assert again.unchanged == 37 and again.generation == 4  # nothing to commit


def test_article_bm25_is_saved_per_generation_and_follows_updates(tmp_path: Path,
                                                                  fake_embedder: FakeEmbedder) -> None:
    from index import lexical

    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(3))
    with _writer(path, fake_embedder) as w:
        w.ingest([Article(id="a1", text="The lighthouse keeper retired after forty years.", title="Keeper retires",
                          date="2024-02-02", origin="test:changed")])
    reader = IndexReader(path)
    generation = reader.manifest.generation
    assert lexical.lexical_path(path, generation, lexical.ARTICLES).is_dir()
    assert any(name.startswith(f"bm25a-{generation}/") for name in reader.manifest.files)  # checksummed
    assert not lexical.lexical_path(path, generation - 2, lexical.ARTICLES).exists()  # stale ones go
    assert sorted(reader.article_lexical.ids.tolist()) == ["a0", "a1", "a2"]
    scores = reader.article_scores("lighthouse keeper")
    names = reader.table.article_names
    assert names[int(np.argmax(scores))] == "a1" and scores[names.index("a0")] == 0
    saved = lexical.load_lexical(path, generation, lexical.ARTICLES)  # save -> load round trip
    assert saved.ids.tolist() == reader.article_lexical.ids.tolist()
    assert np.allclose(saved.scores("crane contract"), reader.article_lexical.scores("crane contract"))


def test_bm25_terms_are_tokenised_once_and_forgotten_with_their_text(tmp_path: Path, fake_embedder: FakeEmbedder,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import bm25s

    from index import lexical

    tokenised: list[str] = []
    real = bm25s.tokenize

    def counting(texts: list[str], **kwargs: object) -> object:
        tokenised.extend(texts)
        return real(texts, **kwargs)

    monkeypatch.setattr(bm25s, "tokenize", counting)
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(3))
    # each distinct text once: these one-chunk articles index the same title + text as chunk and as article
    assert len(tokenised) == 3
    tokenised.clear()
    with _writer(path, fake_embedder) as w:
        w.ingest([Article(id="a1", text="The lighthouse keeper retired after forty years.", title="Keeper retires",
                          date="2024-02-02", origin="test:changed")])
    assert len(tokenised) == 1 and "lighthouse" in tokenised[0]  # only the changed article's text
    conn = store.connect(path, readonly=True)
    cached = {k for (k,) in conn.execute("SELECT key FROM bm25_terms")}
    _, chunk_texts = store.chunk_texts(conn)
    _, article_texts = store.article_docs(conn)
    assert cached == {lexical.term_key(t) for t in chunk_texts + article_texts}  # the old a1 texts are gone
    reader = IndexReader(path)
    fresh = lexical.Lexical.build(*store.chunk_texts(conn))  # no cache: the same scores
    assert np.array_equal(fresh.scores("lighthouse keeper"), reader.lexical.scores("lighthouse keeper"))
    assert np.argmax(reader.article_scores("lighthouse keeper")) == reader.table.article_names.index("a1")


def test_index_without_article_bm25_builds_it_in_memory(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    import shutil

    from index import lexical

    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(2))
    generation = IndexReader(path).manifest.generation
    shutil.rmtree(lexical.lexical_path(path, generation, lexical.ARTICLES))  # as written before it existed
    conn = store.connect(path)
    manifest = store.read_manifest(conn)
    assert manifest is not None
    kept = {name: digest for name, digest in manifest.files.items() if not name.startswith(lexical.ARTICLES)}
    store.write_manifest(conn, dataclasses.replace(manifest, files=kept))
    conn.commit()
    conn.close()
    reader = IndexReader(path)
    assert sorted(reader.article_lexical.ids.tolist()) == ["a0", "a1"]
    assert reader.article_scores("crane").max() > 0


def test_stats_gives_inputs_as_a_list_in_last_run_and_runs(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(2), inputs=["feeds/a.jsonl", "scraped/"])
    stats = IndexReader(path).stats()
    assert stats["last_run"]["inputs"] == stats["runs"][0]["inputs"] == ["feeds/a.jsonl", "scraped/"]


def test_updates_report_progress_through_every_stage(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """A rebuild job shows where it is, even when every vector is cached and nothing needs embedding."""
    path = tmp_path / "index"
    with _writer(path, fake_embedder) as w:
        w.ingest(_articles(3))
    seen: list[tuple[str, int, int]] = []
    with Writer(path, FakeEmbedder.name, Chunker(), lambda: fake_embedder, for_rebuild=True,
                on_progress=lambda *step: seen.append(step)) as w:
        report = w.rebuild()
    assert report.embedded == 0  # the same model and chunker: every vector is cached
    assert [stage for stage, _, _ in seen] == ["chunking", "chunking", "embedding", "writing", "writing"]
    assert seen[1] == ("chunking", 3, 3) and seen[2] == ("embedding", 3, 3) and seen[-1] == ("writing", 1, 1)

    seen.clear()
    changed = [dataclasses.replace(a, text=a.text + " It rained.") for a in _articles(3)]
    with Writer(path, FakeEmbedder.name, Chunker(), lambda: fake_embedder, on_progress=lambda *s: seen.append(s)) as w:
        w.ingest(changed)
    embedding = [(done, total) for stage, done, total in seen if stage == "embedding"]
    assert embedding[0] == (0, 3) and embedding[-1] == (3, 3)


def test_bm25s_debug_lines_do_not_reach_a_quiet_log() -> None:
    """bm25s sets its logger to DEBUG when imported; the level the application chose must hold."""
    import subprocess
    import sys

    script = ("import logging; logging.basicConfig(level=logging.WARNING); "
              "logging.getLogger('bm25s').setLevel(logging.WARNING)\n"
              "import numpy as np\nfrom index import lexical\n"
              "lexical.Lexical.build(np.array([1, 2]), ['the harbour board met', 'cranes were approved'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert "DEBUG" not in done.stderr and "Building index" not in done.stderr


def test_chunk_table_read_as_arrays_is_the_table_built_from_rows(tmp_path: Path, fake_embedder: FakeEmbedder
                                                                 ) -> None:
    """ChunkTable.from_store (what the reader loads) numbers articles and sources as the rows constructor does,
    after updates that put an article's chunks out of its rowid order, with undated articles and odd sources."""
    from index.reader import ChunkTable

    def article(i: int, version: int = 0) -> Article:
        return Article(id=f"x{i}", title=None if i == 4 else f"Title {i}", text=f"Story {i}, take {version}. " * 9,
                       date=[None, "2024-03-01", "not a date", "2023-12-31T08:00:00"][i % 4],
                       source=[None, "BBC.co.uk", "bbc.co.uk", "Reuters", ""][i % 5], origin=f"t:{i}")

    path = tmp_path / "index"
    with Writer(path, FakeEmbedder.name, Chunker(max_tokens=12, overlap_tokens=0), lambda: fake_embedder) as w:
        w.ingest([article(i) for i in range(8)])
        w.ingest([article(2, version=1), article(8)])
        w.remove(["x5"])
    conn = store.connect(path, readonly=True)
    arrays = ChunkTable.from_store(conn)
    rows = ChunkTable(store.chunk_table(conn), store.article_titles(conn))
    assert len(rows.article_names) == 8 and len(rows.source_names) == 3
    assert rows.article_names != sorted(rows.article_names, key=lambda a: int(a[1:]))  # x2 moved to the end
    for name in ("ids", "article", "day", "source", "order", "bounds"):
        assert getattr(arrays, name).dtype == getattr(rows, name).dtype
        assert np.array_equal(getattr(arrays, name), getattr(rows, name)), name
    for name in ("article_names", "titles", "source_names", "article_position"):
        assert getattr(arrays, name) == getattr(rows, name), name
    assert not conn.in_transaction
