"""What an index was built with; a mismatch with the running settings is a clear error, never wrong answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

FORMAT_VERSION = 1


class IndexNotFound(FileNotFoundError):
    """No index at the configured place."""


class ModelMismatch(RuntimeError):
    """The index was built with another embedding model than the one configured."""


class BackendMismatch(ModelMismatch):
    """The index's vectors come from another embedding backend (torch fp32 vs onnx-int8) than the configured one."""


class IndexCorrupt(RuntimeError):
    """Index files disagree with each other or cannot be read."""


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    chunk_tokens: int
    chunk_overlap: int
    encoding: str
    format_version: int = FORMAT_VERSION
    generation: int = 0
    articles: int = 0
    chunks: int = 0
    updated_at: str = ""
    files: dict[str, str] = field(default_factory=dict)  # file -> checksum, verified on load
    backend: str = "torch"  # embedding backend of every stored vector; queries must use the same one
    backend_checksum: str = ""  # sha256 of the int8 ONNX file when backend is onnx-int8
    vector_base: int = 0  # generation of the vector file this one's delta applies to (0: its own file, no delta)
    vector_approximate: bool = False  # that file is an IVF index (else exact)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def check_model(self, model: str, index_dir: str) -> None:
        if model != self.model:
            raise ModelMismatch(
                f"the index at {index_dir} was built with the model '{self.model}' but the configured model is "
                f"'{model}'. Either set NEWSQA_MODEL={self.model} (or --model), or re-embed the archive with "
                f"the new model: newsqa rebuild --index {index_dir} --model {model}")

    def check_backend(self, backend: str, index_dir: str) -> None:
        if backend != self.backend:
            raise BackendMismatch(
                f"the index at {index_dir} was embedded with the '{self.backend}' backend but the configured "
                f"backend is '{backend}'; queries and passages must use the same one. Either set "
                f"NEWSQA_BACKEND={self.backend} (or leave it unset: auto follows the index), or re-embed the "
                f"archive: NEWSQA_BACKEND={backend} newsqa rebuild --index {index_dir}")
