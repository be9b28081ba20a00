"""Kill -9 an update at random moments: the index must load as exactly the old or exactly the new state."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index import store
from index.reader import IndexReader

ROOT = Path(__file__).resolve().parents[1]

# The writer driven by a subprocess, with a fake embedder that takes a little time per batch so that kills
# land in every phase: embedding, caching vectors, writing the FAISS file, the metadata transaction, cleanup.
DRIVER = """
import json, sys, time
sys.path.insert(0, {root!r})
from tests.conftest import FakeEmbedder
from corpus.article import Article
from corpus.chunk import Chunker
from index.update import Writer

class Slow(FakeEmbedder):
    def encode(self, texts, batch_size=32):
        time.sleep(0.01)
        return super().encode(texts)

articles = [Article(**a) for a in json.load(open(sys.argv[2]))]
with Writer(sys.argv[1], Slow.name, Chunker(max_tokens=60, overlap_tokens=10), Slow, batch_size=64) as w:
    w.ingest(articles)
print("done")
"""


def _articles(n: int, version: str) -> list[dict[str, str]]:
    return [{"id": f"art{i}", "title": f"Story {i}", "origin": f"gen:{i}",
             "text": " ".join(f"Sentence {j} of story {i} ({version}) tells of ferries and cranes in port {j}."
                              for j in range(12))} for i in range(n)]


def _snapshot(path: Path) -> dict[str, str]:
    reader = IndexReader(path)
    hashes = store.article_hashes(reader.conn)
    n_chunks = reader.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert reader.manifest.chunks == n_chunks == reader._vectors.ntotal, "articles, chunks and vectors disagree"
    assert reader.manifest.articles == len(hashes)
    return hashes


def _run(driver: Path, index: Path, batch: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(driver), str(index), str(batch)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_old_or_new_state(tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(root=str(ROOT)))
    old_batch, new_batch = tmp_path / "old.json", tmp_path / "new.json"
    old_batch.write_text(json.dumps(_articles(150, "v1")))
    # the update changes half the old articles and adds as many new ones
    new_batch.write_text(json.dumps(_articles(75, "v1") + _articles(300, "v2")[75:]))
    template = tmp_path / "template"
    assert _run(driver, template, old_batch).wait(120) == 0
    old_state = _snapshot(template)

    full = tmp_path / "full"
    shutil.copytree(template, full)
    started = time.perf_counter()
    assert _run(driver, full, new_batch).wait(300) == 0
    duration = time.perf_counter() - started
    new_state = _snapshot(full)
    assert new_state != old_state

    rng = random.Random(20261125)
    outcomes = {"old": 0, "new": 0}
    for _ in range(6):  # tests/test_crash_cli.py kills the real command 20 times; this one: a bigger update
        index = tmp_path / "victim"
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(template, index)
        proc = _run(driver, index, new_batch)
        time.sleep(rng.uniform(0.0, duration * 1.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = _snapshot(index)
        assert state in (old_state, new_state)
        outcomes["old" if state == old_state else "new"] += 1
        assert _run(driver, index, new_batch).wait(300) == 0  # the rerun completes the work
        assert _snapshot(index) == new_state
    assert outcomes["old"] >= 1, outcomes


@pytest.mark.slow
def test_cli_ingest_killed_mid_embedding_resumes_without_redoing_work(tmp_path: Path) -> None:
    """The real command and model: kill while embedding, then the rerun embeds only what was left."""
    from corpus.demo import demo_dir

    index = tmp_path / "index"
    env = {**os.environ, "NEWSQA_INDEX": str(index), "NEWSQA_BATCH_SIZE": "8"}
    cmd = [sys.executable, "-m", "cli.main", "ingest", "--json", str(demo_dir())]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some vectors are cached, i.e. mid-embedding
        db = index / store.DB_NAME
        if db.exists():
            try:
                conn = store.connect(index, readonly=True)
                if conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] >= 16:
                    break
            except Exception:  # noqa: BLE001 - the writer may be creating the schema right now
                pass
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert store.read_manifest(store.connect(index, readonly=True)) is None  # nothing visible yet
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["embedded"] < report["chunks_added"] and report["new"] >= 30
    assert _snapshot(index)
