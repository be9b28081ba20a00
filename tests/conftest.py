"""Fixtures that build on each other: settings -> demo index (real model) -> engine -> app client."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from corpus.demo import demo_dir
from qa.settings import Settings

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class FakeEmbedder:
    """Bag-of-words hashing vectors: fast and deterministic, for plumbing tests only."""

    name = "fake-embedder"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, index_dir=tmp_path / "index", model=FakeEmbedder.name)


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled demo archive indexed with the real packaged MiniLM (built once per test session)."""
    from qa.engine import ingest

    settings = Settings.from_env({}, index_dir=tmp_path_factory.mktemp("demo") / "index")
    report = ingest(settings, [demo_dir()])
    assert report.skipped == [] and len(report.new) >= 30
    return settings


STORES = ("embedded", "milvus")  # the two engines of the store interface; retrieval and service tests run on both


@pytest.fixture(scope="session", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """The engine answering questions: embedded (FAISS + SQLite + BM25 files) or milvus (Milvus Lite)."""
    return str(request.param)


def on_store(settings: Settings, store: str, uri: str | Path, prefix: str = "newsqa") -> Settings:
    """settings answering from `store`; for milvus, settings' local index is published to Milvus at uri first."""
    if store == "embedded":
        return settings
    from index.milvus import publish_local

    milvus = replace(settings, store="milvus", milvus_uri=str(uri), milvus_prefix=prefix)
    publish_local(milvus.milvus(), settings.index_dir)
    return milvus


@pytest.fixture(scope="session")
def store_settings(demo_settings: Settings, store: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo index on the engine under test."""
    return on_store(demo_settings, store, tmp_path_factory.mktemp("milvus-demo") / "milvus.db")


@pytest.fixture(scope="session")
def engine(store_settings: Settings):  # type: ignore[no-untyped-def]
    from qa.engine import Engine

    return Engine.open(store_settings)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `milvus-lite server` process (Milvus Lite over gRPC, as a Milvus server): its URI. Several processes
    share it; tests keep apart by collection prefix."""
    from tests.service import free_port

    port = free_port()
    data = tmp_path_factory.mktemp("milvus-server")
    log = open(data.parent / f"{data.name}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(data),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    from index.milvus import MilvusConfig, StoreUnavailable, connect

    deadline = time.time() + 60
    while True:
        try:
            connect(MilvusConfig(uri, timeout=2)).close()
            break
        except StoreUnavailable as exc:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                output = (data.parent / f"{data.name}.log").read_text()
                raise RuntimeError(f"milvus-lite server did not start: {output}") from exc
            time.sleep(0.2)
    yield uri
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip(f"evaluation data not found at {SHARED} (it lives beside the repository in CI only)")
    return SHARED
