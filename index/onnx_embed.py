"""ONNX Runtime embedders: an int8 (dynamically quantised) and an fp32 export of the packaged model.

Exported once from the local weights (torch.onnx, opset 17); int8 is onnxruntime's dynamic quantisation of the
MatMul weights (per-channel QInt8) only: the embedding tables and layer 0's FFN output projection stay fp32
(INT8_QUANTIZATION says so in the sidecar and is part of the cache key). Every export is checked against torch
fp32 on a fixed sample (mean cosine >= 0.98 for int8, >= 0.9999 for fp32, else ExportRejected) and cached under
the cache directory with a sidecar JSON (sha256 of the file, the measured cosine, versions). A cached file
whose checksum no longer matches its sidecar is exported again, never used.
The fp32 export gives the torch backend's vectors (to float rounding) without importing torch: the server
uses it for query embedding on a torch-built index, which is most of its start-up time otherwise.
Tokenisation uses the model's own tokenizer.json (the tokenizers library); mean pooling and L2 normalisation
follow the sentence-transformers pipeline of all-MiniLM-L6-v2.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import ModelUnavailable, model_name, resolve_model_path

log = logging.getLogger(__name__)

PARALLEL_MIN = 16  # texts in one encode call from which they are split over one-thread sessions
MIN_COSINE = 0.98
MIN_COSINE_FP32 = 0.9999
EXPORT_NAME = "model-int8.onnx"
PRECISIONS = ("int8", "fp32")
# Measured on 500 corpus chunks (mean cosine to torch fp32; one-thread speed relative to quantising everything):
# the default op list also quantises the embedding tables (fp32 instead: 0.9941 -> 0.9945, same speed); of single
# MatMuls, layer 0's FFN output projection, whose GELU input gets one activation scale per tensor, loses most
# (fp32 too: 0.9957, 0.94x; dev dense Hits@10 0.946 -> 0.960, the fp32 figure). Layers 0-2's: 0.9973 but 0.85x.
INT8_OPS = ("MatMul",)
INT8_FP32_NODES = ("/inner/encoder/layer.0/output/dense/MatMul",)
INT8_QUANTIZATION = ("dynamic, per-channel QInt8 MatMul weights; fp32 embedding tables and layer-0 FFN output "
                     "projection")
# Real-looking news sentences of varied length: what the cosine check runs on (fixed, so exports are comparable).
SAMPLE = [
    "The city council voted 7-2 on Tuesday to approve the new budget, which raises property taxes by 3 percent.",
    "Officials said the fire had burned more than 12,000 acres and was 40 percent contained by Sunday evening.",
    "Who won the mayoral election?",
    "The central bank raised interest rates by three quarters of a percentage point, its largest increase since 1994.",
    "Shares of the company fell 8% in after-hours trading after it cut its revenue forecast for the year.",
    "A federal judge blocked the law from taking effect, saying the plaintiffs were likely to succeed on the merits.",
    "The storm made landfall near the border early Thursday with winds of 130 mph, forcing thousands to evacuate.",
    "What did the union leader say about the offer?",
    "Scientists released the first full-colour images from the space telescope, showing galaxies billions of "
    "years old. The images were unveiled at the White House on Monday and released to the public a day later.",
    "The team signed the forward to a four-year contract worth a reported $120 million.",
    "Health officials urged residents to get vaccinated ahead of the winter season as cases rose for a third week.",
    "Ukraine said its forces had retaken several villages in the northeast as the counteroffensive gathered pace.",
    "The minister resigned after weeks of pressure over his handling of the scandal, the second cabinet departure "
    "this month. His successor is expected to be named on Friday.",
    "Which country hosted the summit this week?",
    "Prices at the pump dropped for the 30th straight day, the longest streak since 2020, according to AAA.",
    "The band announced a reunion tour with 40 dates across North America and Europe starting next spring.",
]


class ExportRejected(RuntimeError):
    """The export is unusable: too far from torch fp32 (mean cosine below the minimum) or not the expected graph."""


def default_cache_dir(environ: Any = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".cache")
    return Path(base) / "newsqa"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _export_dir(cache_dir: Path, model_path: str, precision: str) -> Path:
    """One folder per model and int8 recipe: an export made with another quantisation is never picked up."""
    source = str(Path(model_path).resolve())
    key = hashlib.sha1((source if precision == "fp32" else f"{source}\n{INT8_QUANTIZATION}").encode()).hexdigest()
    return Path(cache_dir) / "onnx" / key[:12]


def _quantize(fp32: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = {node.name for node in onnx.load(str(fp32)).graph.node}
    missing = [name for name in INT8_FP32_NODES if name not in names]
    if missing:  # else quantize_dynamic would quietly quantise them: the old, less accurate recipe
        raise ExportRejected(f"the exported graph has no node {missing[0]}; INT8_FP32_NODES needs updating")
    quantize_dynamic(str(fp32), str(out), op_types_to_quantize=list(INT8_OPS), per_channel=True,
                     weight_type=QuantType.QInt8, nodes_to_exclude=list(INT8_FP32_NODES))


def _export_fp32(st: Any, out: Path) -> None:
    """The sentence-transformer's encoder as an fp32 ONNX graph (last hidden state; pooling is done in numpy)."""
    import torch

    transformer = st[0].auto_model.eval()

    class _Wrapper(torch.nn.Module):  # keyword call: BERT's positional order differs across transformers versions
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    dummy = st.tokenizer(["a sample sentence", "another"], padding=True, return_tensors="pt")
    with torch.no_grad(), warnings.catch_warnings():
        # Tracing caveats ("might cause the trace to be incorrect") and notes on how operators are exported are
        # for model authors: the export is checked against torch on SAMPLE (export_int8), and the warnings would
        # reach every user's terminal, -q or not.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
        torch.onnx.export(_Wrapper(transformer), (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
                          str(out), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"],
                          dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                                        ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")})


def export_int8(model_path: str, out_dir: Path, precision: str = "int8") -> dict[str, Any]:
    """Export ONNX from local weights (quantised to int8 unless fp32), verify it against torch, write it + sidecar."""
    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

    out_dir.mkdir(parents=True, exist_ok=True)
    st = SentenceTransformer(model_path, device="cpu")
    fp32 = out_dir / f"model-fp32.onnx.tmp-{os.getpid()}"
    name = f"model-{precision}.onnx"
    int8_tmp = out_dir / f"{name}.tmp-{os.getpid()}"
    try:
        _export_fp32(st, fp32)
        root = logging.getLogger()
        level = root.level
        # The quantiser logs every skipped tensor, and advice on pre-processing, on the root logger; the result is
        # checked below instead.
        root.setLevel(max(level, logging.ERROR))
        try:
            if precision == "int8":
                _quantize(fp32, int8_tmp)
            else:
                os.replace(fp32, int8_tmp)
        finally:
            root.setLevel(level)
        reference = st.encode(SAMPLE, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        candidate = OnnxEmbedder._encode_with(_session(int8_tmp), _tokenizer(model_path, st.max_seq_length),
                                              SAMPLE, 1)
        cosines = np.sum(reference * candidate, axis=1)
        mean_cosine = float(cosines.mean())
        minimum = MIN_COSINE if precision == "int8" else MIN_COSINE_FP32
        if mean_cosine < minimum:
            raise ExportRejected(f"{precision} export of {model_path} has mean cosine {mean_cosine:.4f} to torch "
                                 f"fp32 on {len(SAMPLE)} sample texts (minimum {minimum}); not used. Use "
                                 f"NEWSQA_BACKEND=torch")
        final = out_dir / name
        os.replace(int8_tmp, final)
        info = {"file": name, "sha256": _sha256(final), "source": str(Path(model_path).resolve()),
                "max_seq_length": int(st.max_seq_length), "mean_cosine_to_fp32": round(mean_cosine, 5),
                "min_cosine_to_fp32": round(float(cosines.min()), 5), "sample_size": len(SAMPLE),
                "onnxruntime": onnxruntime.__version__, "torch": torch.__version__,
                "quantization": INT8_QUANTIZATION if precision == "int8" else "none (fp32)"}
        (out_dir / f"model-{precision}.json").write_text(json.dumps(info, indent=2) + "\n")
        log.info("exported %s ONNX model to %s (mean cosine to torch fp32 %.5f)", precision, final, mean_cosine)
        return info
    finally:
        fp32.unlink(missing_ok=True)
        int8_tmp.unlink(missing_ok=True)


def is_cached(model_path: str, cache_dir: Path, precision: str) -> bool:
    out_dir = _export_dir(cache_dir, model_path, precision)
    return (out_dir / f"model-{precision}.onnx").exists() and (out_dir / f"model-{precision}.json").exists()


def ensure_int8(model_path: str, cache_dir: Path, precision: str = "int8") -> tuple[Path, dict[str, Any]]:
    """The cached, checksum-verified export of model_path; exported (and verified) when missing or altered."""
    out_dir = _export_dir(cache_dir, model_path, precision)
    sidecar = out_dir / f"model-{precision}.json"
    path = out_dir / f"model-{precision}.onnx"
    if path.exists() and sidecar.exists():
        info = json.loads(sidecar.read_text())
        if info.get("sha256") == _sha256(path):
            return path, info
        log.warning("cached int8 model %s does not match its recorded checksum: exporting it again", path)
    return path, export_int8(model_path, out_dir, precision)


def _session(path: Path, threads: int = 0) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _tokenizer(model_path: str, max_length: int) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pads to the longest text of each batch
    return tokenizer


class OnnxEmbedder:
    """The packaged MiniLM as an ONNX Runtime session; same name and dimension as the torch embedder.

    precision int8 is the onnx-int8 backend; fp32 produces the torch backend's vectors (backend "torch").
    """

    def __init__(self, spec: str, cache_dir: Path | None = None, threads: int = 0, precision: str = "int8",
                 workers: int = 0) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.backend = "onnx-int8" if precision == "int8" else "torch"
        self.precision = precision
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise ModelUnavailable(f"onnxruntime cannot be imported ({exc}); it is a dependency of newsqa, so the "
                                   "installation is incomplete: reinstall newsqa (bin/setup, or pip install -e .), "
                                   "or use NEWSQA_BACKEND=torch") from exc
        self.name = model_name(spec)
        model_path = resolve_model_path(spec)
        if not (Path(model_path) / "tokenizer.json").exists():
            raise ModelUnavailable(f"the onnx-int8 backend needs a local model directory with tokenizer.json; "
                                   f"'{spec}' is not one. Use NEWSQA_BACKEND=torch")
        self.path, self.info = ensure_int8(model_path, cache_dir or default_cache_dir(), precision)
        self.checksum = str(self.info["sha256"]) if precision == "int8" else ""
        self._session = _session(self.path, threads)
        self._max_length = int(self.info.get("max_seq_length", 256))
        self._tokenizer = _tokenizer(model_path, self._max_length)
        self._model_path = model_path
        self.dim = int(self._session.get_outputs()[0].shape[-1] or 384)
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self._pool: list[tuple[Any, Any]] = []  # (one-thread session, tokenizer) per worker, made on first bulk use
        self._pool_lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One text per session run, whatever batch_size says.

        Dynamic int8 quantises activations with one scale per tensor, so in a batch a text's vector would depend
        on its batchmates (cosine ~0.99 between batchings). One at a time, a text always gets the same vector,
        the one its query would get; measured here at the speed of batches of 32 (no padding either).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        per_run = 1 if self.precision == "int8" else batch_size
        if self.workers < 2 or len(texts) < PARALLEL_MIN:
            return self._encode_with(self._session, self._tokenizer, texts, per_run)
        return self._encode_parallel(texts, per_run)

    def _encode_parallel(self, texts: Sequence[str], per_run: int) -> np.ndarray:
        """Many texts: split over one-thread sessions that run side by side (ONNX Runtime releases the GIL).

        On 2 cores, two one-thread sessions encode ~1.8x the texts per second of one session using both
        cores (a ~200-token text gives the second core too little to share): measured 76.5 vs 42.4 int8
        passages/s on 512 chunks. A text's vector is the same either way (one text per run).
        """
        from concurrent.futures import ThreadPoolExecutor

        with self._pool_lock:
            while len(self._pool) < self.workers:
                self._pool.append((_session(self.path, 1), _tokenizer(self._model_path, self._max_length)))
        # every worker gets a share of short and long texts alike
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        shares = [share for share in (order[w::self.workers] for w in range(self.workers)) if share]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with ThreadPoolExecutor(len(shares), thread_name_prefix="onnx-embed") as pool:
            futures = [pool.submit(self._encode_with, session, tokenizer, [texts[i] for i in share], per_run)
                       for (session, tokenizer), share in zip(self._pool, shares, strict=False)]
            for share, future in zip(shares, futures, strict=True):
                out[share] = future.result()
        return out

    @staticmethod
    def _encode_with(session: Any, tokenizer: Any, texts: Sequence[str], batch_size: int) -> np.ndarray:
        # Batches of similar length waste little on padding: encode in length order, return in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            encodings = tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                        "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled
        return np.ascontiguousarray(out, dtype=np.float32)
