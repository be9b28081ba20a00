"""The onnx-int8 backend: export verified against torch fp32, cached with a checksum, recorded in the manifest."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from corpus.demo import demo_dir
from index import onnx_embed
from index.embed import DEFAULT_MODEL, resolve_model_path
from index.manifest import BackendMismatch
from qa.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def int8_embedder(onnx_cache: Path) -> onnx_embed.OnnxEmbedder:
    return onnx_embed.OnnxEmbedder(DEFAULT_MODEL, onnx_cache)


def test_export_is_verified_cached_and_close_to_fp32(int8_embedder: onnx_embed.OnnxEmbedder, onnx_cache: Path
                                                     ) -> None:
    from index.embed import SentenceTransformerEmbedder

    info = json.loads((int8_embedder.path.parent / "model-int8.json").read_text())
    assert info["sha256"] == int8_embedder.checksum and info["mean_cosine_to_fp32"] >= onnx_embed.MIN_COSINE
    texts = ["The harbour board approved the crane contract on Monday.", "Who won the mayoral election?",
             "Prices rose 9.1% in June, the fastest pace in four decades, the Labor Department said. " * 5]
    int8 = int8_embedder.encode(texts, batch_size=2)
    fp32 = SentenceTransformerEmbedder(DEFAULT_MODEL).encode(texts)
    assert int8.shape == (3, 384) and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(int8 * fp32, axis=1) >= 0.97)
    assert int8_embedder.encode([]).shape == (0, 384)
    # A text's vector does not depend on what it is encoded with, nor on the order.
    assert np.allclose(int8_embedder.encode(texts[::-1], batch_size=1)[::-1], int8, atol=1e-6)
    assert np.allclose(int8_embedder.encode(texts[1:2])[0], int8[1], atol=1e-6)

    again = onnx_embed.OnnxEmbedder(DEFAULT_MODEL, onnx_cache)  # second load: the cached file, not a new export
    assert again.checksum == int8_embedder.checksum
    assert again.path.stat().st_mtime == int8_embedder.path.stat().st_mtime


def test_int8_graph_follows_the_recipe_that_keys_the_cache(int8_embedder: onnx_embed.OnnxEmbedder, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx

    ops = {node.name: node.op_type for node in onnx.load(str(int8_embedder.path)).graph.node}
    assert int8_embedder.info["quantization"] == onnx_embed.INT8_QUANTIZATION
    assert [ops[name] for name in onnx_embed.INT8_FP32_NODES] == ["MatMul"]  # kept fp32
    assert sum(op == "MatMulInteger" for op in ops.values()) == 6 * 6 - 1  # every other weight MatMul of 6 layers
    assert "DequantizeLinear" not in ops.values()  # the embedding tables are not quantised

    model_path = resolve_model_path(DEFAULT_MODEL)
    int8_dir, fp32_dir = (onnx_embed._export_dir(tmp_path, model_path, p) for p in ("int8", "fp32"))
    monkeypatch.setattr(onnx_embed, "INT8_QUANTIZATION", "another recipe")
    assert onnx_embed._export_dir(tmp_path, model_path, "int8") != int8_dir  # another recipe's export is not reused
    assert onnx_embed._export_dir(tmp_path, model_path, "fp32") == fp32_dir


def test_many_texts_split_over_sessions_give_the_same_vectors(int8_embedder: onnx_embed.OnnxEmbedder,
                                                                onnx_cache: Path) -> None:
    texts = [f"Story {i}: the council met {'again ' * (i % 7)}on Tuesday to debate budget line {i * 37}."
             for i in range(onnx_embed.PARALLEL_MIN + 9)]
    alone = np.vstack([int8_embedder.encode([t]) for t in texts])  # one call per text: the single session
    split = onnx_embed.OnnxEmbedder(DEFAULT_MODEL, onnx_cache, workers=3)
    together = split.encode(texts)
    assert len(split._pool) == 3  # the bulk path ran, on three sessions
    assert together.shape == alone.shape and np.allclose(together, alone, atol=1e-6)


def test_altered_export_is_exported_again_and_a_bad_one_is_rejected(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model_path = resolve_model_path(DEFAULT_MODEL)
    path, info = onnx_embed.ensure_int8(model_path, tmp_path)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")  # corrupted on disk
    path2, info2 = onnx_embed.ensure_int8(model_path, tmp_path)
    assert path2 == path and onnx_embed._sha256(path) == info2["sha256"]

    monkeypatch.setattr(onnx_embed, "MIN_COSINE", 1.01)  # no int8 export can pass this: it must fail loudly
    with pytest.raises(onnx_embed.ExportRejected, match="mean cosine"):
        onnx_embed.export_int8(model_path, tmp_path / "strict")
    assert not (tmp_path / "strict" / onnx_embed.EXPORT_NAME).exists()


def test_index_records_the_backend_and_refuses_a_mismatch(tmp_path: Path, onnx_cache: Path,
                                                          int8_embedder: onnx_embed.OnnxEmbedder) -> None:
    from qa.engine import Engine, ingest

    env = {"NEWSQA_BACKEND": "onnx-int8", "NEWSQA_CACHE_DIR": str(onnx_cache), "NEWSQA_ENTITIES": "0"}
    settings = Settings.from_env(env, index_dir=tmp_path / "index")
    report = ingest(settings, [demo_dir() / "articles.jsonl"])
    assert report.embedded > 0 and not report.skipped
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    assert manifest["backend"] == "onnx-int8" and manifest["backend_checksum"] == int8_embedder.checksum

    auto = Settings.from_env({"NEWSQA_CACHE_DIR": str(onnx_cache)}, index_dir=settings.index_dir)
    engine = Engine.open(auto)  # auto follows the index's backend
    assert engine.searcher.embedder.backend == "onnx-int8"
    hits = engine.searcher.search("How much will Lumora's Halo home hub cost?", k=3)
    assert hits and "Halo" in (hits[0].title or "") + hits[0].text

    torch_settings = Settings.from_env({"NEWSQA_BACKEND": "torch"}, index_dir=settings.index_dir)
    with pytest.raises(BackendMismatch, match="NEWSQA_BACKEND=onnx-int8"):
        Engine.open(torch_settings)
    with pytest.raises(BackendMismatch):
        ingest(torch_settings, [demo_dir() / "articles.jsonl"])


def test_unknown_backend_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="NEWSQA_BACKEND"):
        Settings.from_env({"NEWSQA_BACKEND": "tensorrt"}, index_dir=Path("/tmp/x"))


def test_fp32_export_gives_torch_vectors_and_serves_a_torch_index(tmp_path: Path, onnx_cache: Path) -> None:
    from index.embed import SentenceTransformerEmbedder
    from qa.engine import Engine, ingest

    fp32 = onnx_embed.OnnxEmbedder(DEFAULT_MODEL, onnx_cache, precision="fp32")
    assert fp32.backend == "torch" and fp32.info["mean_cosine_to_fp32"] >= onnx_embed.MIN_COSINE_FP32
    texts = ["The harbour board approved the crane contract on Monday.", "Who won the mayoral election?"]
    assert np.all(np.sum(fp32.encode(texts) * SentenceTransformerEmbedder(DEFAULT_MODEL).encode(texts), axis=1)
                  > 0.9999)

    env = {"NEWSQA_CACHE_DIR": str(onnx_cache), "NEWSQA_ENTITIES": "0"}
    settings = Settings.from_env(env, index_dir=tmp_path / "index")
    ingest(settings, [demo_dir() / "articles.jsonl"])
    assert json.loads((settings.index_dir / "manifest.json").read_text())["backend"] == "torch"
    engine = Engine.open(settings)  # queries through onnxruntime fp32, no torch model needed
    assert isinstance(engine.searcher.embedder, onnx_embed.OnnxEmbedder)
    assert engine.searcher.search("How much will Lumora's Halo home hub cost?", k=3)
    plain = Engine.open(Settings.from_env({**env, "NEWSQA_ONNX_QUERIES": "0"}, index_dir=settings.index_dir))
    assert isinstance(plain.searcher.embedder, SentenceTransformerEmbedder)


def test_export_shows_no_tracer_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The export is verified against torch, so torch.jit's tracing caveats are noise to a user (even without -q)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        onnx_embed.export_int8(resolve_model_path(DEFAULT_MODEL), tmp_path, "int8")
    assert [r.getMessage()[:80] for r in caplog.records if r.levelno >= logging.WARNING] == []
    import torch

    noise = (UserWarning, torch.jit.TracerWarning)
    assert [str(w.message)[:80] for w in caught if issubclass(w.category, noise)] == []


def test_missing_onnxruntime_is_a_broken_install_not_a_missing_extra(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from index.embed import ModelUnavailable

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an uninstalled package looks like to import
    with pytest.raises(ModelUnavailable) as info:
        onnx_embed.OnnxEmbedder(DEFAULT_MODEL, tmp_path)
    message = str(info.value)
    assert "newsqa[onnx]" not in message and "onnxruntime" in message and "reinstall" in message
