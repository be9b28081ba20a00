"""Queries while the index is being written never fail and always see one generation; writers queue up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from index import store
from index.reader import IndexReader
from qa.settings import Settings
from tests.service import Server

ROOT = Path(__file__).resolve().parents[1]


def _update_file(index: Path, path: Path, tag: str, change: int = 8, add: int = 8) -> set[str]:
    """An update that changes `change` stored articles and adds `add` new ones; returns the changed ids."""
    conn = store.connect(index, readonly=True)
    ids = sorted(store.article_hashes(conn))[:change]
    changed = [{**store.get_article(conn, i), "text": store.get_article(conn, i)["text"] + f"\nUpdate {tag}."}
               for i in ids]
    added = [{"id": f"{tag}-{n}", "title": f"{tag} bulletin {n}", "date": "2024-10-02", "source": "c.example",
              "text": f"The {tag} committee met for session {n}. It approved {n + 2} new moorings at Saltmere. "
                      f"Fees rise by {n} percent in spring."} for n in range(add)]
    path.write_text("".join(json.dumps(r) + "\n" for r in changed + added))
    return set(ids)


def _ingest(index: Path, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "NEWSQA_INDEX": str(index), "NEWSQA_LOG_LEVEL": "INFO"}
    return subprocess.Popen([sys.executable, "-m", "cli", "ingest", str(path)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_queries_during_ingest_never_fail_and_see_one_generation(demo_settings: Settings, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(demo_settings.index_dir, index)
    changed = _update_file(index, tmp_path / "update.jsonl", "alpha")
    srv = Server(index, env={"NEWSQA_RATE_LIMIT": "0"})
    failures: list[str] = []
    counts = {"http": 0, "snapshots": 0}
    generations: set[int] = set()
    stop = threading.Event()

    def ask_loop() -> None:
        while not stop.is_set():
            status, body = srv.post("/api/ask", {"question": "How much will Lumora's Halo home hub cost?"})
            if status != 200:
                failures.append(f"ask {status}: {str(body)[:200]}")
            for c in body.get("citations", []) if status == 200 else []:
                if c["article_id"] not in changed:  # unchanged articles: the quote must be in the stored text
                    text = srv.get(f"/api/articles/{c['article_id']}")[1][c["field"]]
                    if text[c["start"]:c["end"]] != c["quote"]:
                        failures.append(f"citation does not match article {c['article_id']}")
            counts["http"] += 1

    def snapshot_loop() -> None:  # in-process reader: inside a snapshot, every part agrees on one generation
        reader = IndexReader(index)
        while not stop.is_set():
            with reader.snapshot() as gen:
                n_sql = reader.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
                n_articles = reader.conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
                if not (gen.manifest.chunks == n_sql == gen.vectors.ntotal == len(gen.table.ids)
                        == len(gen.lexical.ids)) or gen.manifest.articles != n_articles:
                    failures.append(f"generation {gen.manifest.generation}: parts disagree")
                generations.add(gen.manifest.generation)
            counts["snapshots"] += 1

    threads = [threading.Thread(target=ask_loop) for _ in range(2)] + [threading.Thread(target=snapshot_loop)]
    try:
        for thread in threads:
            thread.start()
        writer = _ingest(index, tmp_path / "update.jsonl")
        assert writer.wait(600) == 0, writer.stderr.read() if writer.stderr else ""
        remover = subprocess.run([sys.executable, "-m", "cli", "remove", sorted(changed)[0]], cwd=ROOT,
                                 env={**os.environ, "NEWSQA_INDEX": str(index)}, capture_output=True, timeout=300)
        assert remover.returncode == 0, remover.stderr
        stop.wait(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        srv.stop()
    assert failures == [], failures[:5]
    assert counts["http"] > 5 and counts["snapshots"] > 20, counts
    assert len(generations) >= 2, generations  # the readers really lived through a commit


@pytest.mark.slow
def test_two_writers_at_once_are_serialised(demo_settings: Settings, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(demo_settings.index_dir, index)
    before = len(store.article_hashes(store.connect(index, readonly=True)))
    (tmp_path / "a.jsonl").write_text("")
    _update_file(index, tmp_path / "a.jsonl", "first", change=0, add=6)
    _update_file(index, tmp_path / "b.jsonl", "second", change=0, add=6)
    one, two = _ingest(index, tmp_path / "a.jsonl"), _ingest(index, tmp_path / "b.jsonl")
    outputs = [proc.communicate(timeout=600) for proc in (one, two)]
    assert one.returncode == 0 and two.returncode == 0, outputs
    assert any("another process is updating" in err for _, err in outputs)  # one waited for the other's lock
    reader = IndexReader(index)
    hashes = store.article_hashes(reader.conn)
    assert len(hashes) == before + 12 and {f"first-{n}" for n in range(6)} | {f"second-{n}" for n in range(6)} \
        <= set(hashes)
    assert reader.manifest.chunks == reader._vectors.ntotal == len(reader.lexical.ids)
    assert reader.manifest.generation == 3  # two commits after the template's one
