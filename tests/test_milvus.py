"""The Milvus engine beyond the shared retrieval and service tests: several processes on one Milvus, publishing
that survives an interrupted update, and bad configuration refused with the setting to fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from corpus.article import Article
from index import store
from index.manifest import IndexNotFound, ModelMismatch
from index.milvus import MilvusConfig, Publisher, StoreUnavailable, connect, read_meta
from qa.engine import Engine, ingest, writer
from qa.settings import Settings
from tests.conftest import FakeEmbedder, on_store
from tests.service import ROOT, Server, free_port

HALO = "How much will Lumora's Halo home hub cost?"
NEW = [{"id": f"harbour-{i}", "title": f"Greywater harbour report {i}", "date": "2024-09-28",
        "source": "harbourtimes.example",
        "text": f"Osric Penhallow{i}, keeper of the Greywater lighthouse number {i}, retired on Friday after 41 "
                f"years and will restore a fishing boat called the Wren{i}."} for i in range(40)]


@pytest.mark.slow
def test_two_servers_answer_from_one_milvus_lite_server_while_a_third_process_ingests(
        demo_settings: Settings, milvus_server: str, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(demo_settings.index_dir, index)
    on_store(replace(demo_settings, index_dir=index), "milvus", milvus_server, prefix="shared")
    env = {"NEWSQA_STORE": "milvus", "NEWSQA_MILVUS_URI": milvus_server, "NEWSQA_MILVUS_PREFIX": "shared"}
    # the servers have no index files: they answer from Milvus alone
    servers = [Server(tmp_path / f"nothing-{i}", env=env) for i in range(2)]
    try:
        failures: list[str] = []
        answered = 0
        stop = threading.Event()

        def ask(server: Server) -> None:
            nonlocal answered
            while not stop.is_set():
                status, body = server.post("/api/ask", {"question": HALO})
                if status != 200 or "249 crowns" not in body.get("answer", ""):
                    failures.append(f"{status}: {str(body)[:200]}")
                answered += 1

        threads = [threading.Thread(target=ask, args=(s,)) for s in servers]
        for t in threads:
            t.start()
        archive = tmp_path / "new.jsonl"
        archive.write_text("".join(json.dumps(a) + "\n" for a in NEW))
        ingesting = subprocess.run([sys.executable, "-m", "cli.main", "ingest", str(archive), "-q"], cwd=ROOT,
                                   env={**os.environ, **env, "NEWSQA_INDEX": str(index), "NEWSQA_ENTITIES": "0",
                                        "NEWSQA_INGEST_BATCH": "10"},  # four generations published meanwhile
                                   capture_output=True, text=True, timeout=600)
        stop.set()
        for t in threads:
            t.join()
        assert ingesting.returncode == 0, ingesting.stderr[-2000:]
        assert failures == [] and answered > 0
        for server in servers:
            status, body = server.post("/api/ask", {"question": "What boat will Osric Penhallow7 restore?"})
            assert status == 200 and body["citations"][0]["article_id"] == "harbour-7"
            health = server.get("/api/health")[1]
            assert health["articles"] == _articles(demo_settings.index_dir) + len(NEW)
            assert health["generation"] == _generation(demo_settings.index_dir) + 4  # published batch by batch
    finally:
        for server in servers:
            server.stop()


def _articles(index_dir: Path) -> int:
    conn = store.connect(index_dir, readonly=True)
    try:
        return store.counts(conn)[0]
    finally:
        conn.close()


def _generation(index_dir: Path) -> int:
    conn = store.connect(index_dir, readonly=True)
    try:
        manifest = store.read_manifest(conn)
        return manifest.generation if manifest else 0
    finally:
        conn.close()


def _fake(tmp_path: Path, uri: str | None = None) -> Settings:
    return Settings.from_env({}, index_dir=tmp_path / "index", model=FakeEmbedder.name, store="milvus",
                             milvus_uri=uri or str(tmp_path / "milvus.db"), entities=0)


ARTICLES = [Article(id=f"a{i}", title=f"Story {i}", date=f"2024-01-{i + 1:02d}", source="ledger.example",
                    text=f"Story number {i} tells of the harbour, the ferry and the mayor {'Valdora' * (i % 2)}.")
            for i in range(6)]


def test_a_publish_interrupted_after_the_local_commit_is_completed_by_the_next_ingest(tmp_path: Path,
                                                                                        fake_embedder: FakeEmbedder
                                                                                        ) -> None:
    settings = _fake(tmp_path)
    with writer(settings, get_embedder=lambda: fake_embedder) as w:
        w.ingest(ARTICLES[:4])

    with writer(settings, get_embedder=lambda: fake_embedder) as w:
        w.publish = Publisher(MilvusConfig(f"http://127.0.0.1:{free_port()}", timeout=2))  # Milvus went away
        with pytest.raises(StoreUnavailable):
            w.ingest([ARTICLES[4], replace(ARTICLES[0], text="Story zero was rewritten about the ferry only.")])
    engine = Engine.open(settings, get_embedder=lambda: fake_embedder)
    assert engine.reader.manifest.generation == 1 and engine.reader.article("a4") is None  # still generation 1
    assert "harbour" in engine.reader.article("a0")["text"]
    engine.reader.close()  # type: ignore[attr-defined]
    # nothing new to commit: the ingest publishes the local generation it finds ahead of Milvus (a full sync)
    ingest(settings, [], get_embedder=lambda: fake_embedder)
    engine = Engine.open(settings, get_embedder=lambda: fake_embedder)
    assert engine.reader.manifest.generation == 2 and engine.reader.article("a4") is not None
    assert engine.reader.article("a0")["text"].startswith("Story zero was rewritten")
    assert sorted(engine.reader.table.article_names) == ["a0", "a1", "a2", "a3", "a4"]
    assert len(engine.reader.table.ids) == engine.reader.manifest.chunks
    hits = engine.searcher.search("ferry rewritten", k=3)
    assert hits and hits[0].article_id == "a0"
    engine.reader.close()  # type: ignore[attr-defined]


def test_an_unreachable_milvus_uri_is_named_and_the_index_is_untouched(tmp_path: Path,
                                                                      fake_embedder: FakeEmbedder) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = _fake(tmp_path, dead)
    with pytest.raises(StoreUnavailable, match="NEWSQA_MILVUS_URI"):
        with writer(settings, get_embedder=lambda: fake_embedder) as w:
            w.ingest(ARTICLES)
    assert fake_embedder.calls == 0 and not settings.index_dir.exists()
    with pytest.raises(StoreUnavailable, match="NEWSQA_MILVUS_URI"):
        Engine.open(settings, get_embedder=lambda: fake_embedder)
    with pytest.raises(ValueError, match="NEWSQA_MILVUS_URI"):
        Settings.from_env({"NEWSQA_STORE": "milvus"})
    with pytest.raises(ValueError, match="NEWSQA_STORE"):
        Settings.from_env({"NEWSQA_STORE": "cassandra"})


def test_a_milvus_built_with_another_model_is_refused_and_kept(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    settings = _fake(tmp_path)
    with writer(settings, get_embedder=lambda: fake_embedder) as w:
        w.ingest(ARTICLES)
    other = replace(settings, model="sentence-transformers/all-MiniLM-L6-v2", index_dir=tmp_path / "other")
    with pytest.raises(ModelMismatch, match="NEWSQA_MODEL=fake-embedder"):
        Engine.open(other)
    with pytest.raises(ModelMismatch, match="NEWSQA_MILVUS_URI"):
        ingest(other, [ROOT / "corpus" / "demo" / "articles.jsonl"])  # refused before its first publish
    client = connect(settings.milvus())
    try:
        kept = read_meta(client, settings.milvus())
    finally:
        client.close()
    assert kept is not None and kept.model == FakeEmbedder.name and kept.articles == len(ARTICLES)


def test_an_empty_milvus_says_how_to_fill_it(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="newsqa ingest"):
        Engine.open(_fake(tmp_path))
    with pytest.raises(StoreUnavailable, match="NEWSQA_MILVUS_URI"):
        connect(MilvusConfig(""))


def test_cli_reads_stats_and_articles_from_milvus_and_names_an_unreachable_uri(
        tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    settings = _fake(tmp_path)
    with writer(settings, get_embedder=lambda: fake_embedder) as w:
        w.ingest(ARTICLES)
    shutil.rmtree(settings.index_dir)  # the writer's working files: readers do not need them
    monkeypatch.setenv("NEWSQA_STORE", "milvus")
    monkeypatch.setenv("NEWSQA_MILVUS_URI", settings.milvus_uri)
    assert main(["stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["articles"] == len(ARTICLES) and stats["model"] == FakeEmbedder.name
    assert main(["show", "a3"]) == 0 and "Story number 3" in capsys.readouterr().out
    monkeypatch.setenv("NEWSQA_MILVUS_URI", f"http://127.0.0.1:{free_port()}")
    assert main(["stats"]) != 0 and "NEWSQA_MILVUS_URI" in capsys.readouterr().err


def test_both_engines_implement_the_store_interface(engine: Engine) -> None:
    from index.interface import IndexStore

    assert isinstance(engine.reader, IndexStore)
    table = engine.reader.table
    assert len(engine.reader.lexical.ids) == len(table.ids) == engine.reader.manifest.chunks
    scores = engine.reader.lexical.scores("Lumora Halo home hub price")
    assert scores.shape == table.ids.shape and scores.max() > 0
    assert engine.reader.article_scores("Lumora Halo").shape == (len(table.article_names),)
