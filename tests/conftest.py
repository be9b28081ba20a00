"""Fixtures that build on each other: settings -> demo index (real model) -> engine -> app client."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
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


@pytest.fixture(scope="session")
def engine(demo_settings: Settings):  # type: ignore[no-untyped-def]
    from qa.engine import Engine

    return Engine.open(demo_settings)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip(f"evaluation data not found at {SHARED} (it lives beside the repository in CI only)")
    return SHARED
