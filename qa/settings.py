"""All configuration, read from NEWSQA_* environment variables in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from index.embed import BACKENDS, DEFAULT_MODEL
from index.milvus import MilvusConfig
from qa.ranking import RankingParams

MODES = ("extractive", "generative", "auto")  # how a question is answered (see api.models.MODE_DOC)


def default_index_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".local" / "share")
    return Path(base) / "newsqa" / "index"


@dataclass(frozen=True)
class Settings:
    """Frozen settings; built by Settings.from_env in main() / create_app() and passed down as values."""

    index_dir: Path
    model: str = DEFAULT_MODEL
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    batch_size: int = 256  # texts per embed call and per committed batch of cached vectors (not the model's batch)
    top_k: int = 5
    fusion: str = "score"  # "score": the article-level ranking (weighted scores); "rrf": chunk-level RRF instead
    dense_weight: float = 0.3  # article-level ranking: weight of the best chunk's cosine, 1 - it for the BM25 part
    entities: int = 1  # extract named entities at ingest (spaCy); 0 turns it off
    max_answer_chars: int = 400
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    api_key: str | None = field(default=None, repr=False)  # never printed or logged
    max_body_bytes: int = 25_000_000  # larger HTTP request bodies get 413
    rate_limit: int = 120  # ask requests per minute per client address; 0 turns the limit off
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser; empty = CORS off
    max_article_chars: int = 2_000_000  # longer article texts are skipped at ingest, with the reason
    ingest_batch: int = 5000  # articles read, cleaned and committed at a time: bounds ingest memory
    backend: str = "auto"  # torch | onnx-int8 | auto (an existing index's own backend; torch for a new one)
    cache_dir: str = ""  # where the int8 ONNX export is cached; "" = $XDG_CACHE_HOME/newsqa
    ann_threshold: int = 100_000  # past this many chunks the vector index is approximate (IVF,SQ8); 0 = never
    nprobe: int = 48  # IVF lists scanned per query (more = better recall, slower)
    embed_workers: int = 0  # onnx-int8 ingest: one-thread model sessions run side by side; 0 = one per core
    onnx_queries: int = 1  # a torch-built index embeds queries with the fp32 ONNX export (fast start); 0 = torch
    ray_address: str = ""  # the Ray cluster `ingest --ray` runs on when no ADDRESS follows the flag; "" = Ray's own
    store: str = "embedded"  # embedded (FAISS + SQLite + BM25 files) | milvus (answers from Milvus alone)
    milvus_uri: str = ""  # a file path: Milvus Lite in this process; http://host:19530: a Milvus server
    milvus_token: str | None = field(default=None, repr=False)  # "user:password" or an API key; never printed
    milvus_prefix: str = "newsqa"  # collection names <prefix>_chunks, ...: several archives in one Milvus
    milvus_timeout: float = 10.0  # seconds to connect to Milvus before failing with a clear error
    milvus_bm25_top: int = 1000  # chunks (and articles) Milvus's BM25 scores per query; the rest score 0
    feed_timeout: float = 20.0  # seconds a feed or page request may take, redirects and body included
    feed_max_bytes: int = 10_000_000  # larger feeds and pages are refused (read as a stream, never whole)
    watch: str = ""  # comma-separated folders `newsqa serve` watches: files created or changed there are ingested
    watch_settle: float = 1.0  # seconds a watched file must stay unchanged before it is ingested (no half files)
    watch_remove_deleted: int = 0  # 1: the articles of a file deleted from a watched folder are removed too
    llm_url: str = ""  # an OpenAI-compatible base URL (…/v1) for generative answers; "" = extractive only
    llm_model: str = ""  # the model name sent to it; "" = "default" (llama.cpp's server serves its one model)
    llm_api_key: str | None = field(default=None, repr=False)  # sent as Bearer token; never printed or logged
    llm_timeout: float = 20.0  # seconds a generative answer may take before the extractive one is returned
    llm_context_tokens: int = 1500  # passages given to the model, counted with tiktoken (cl100k_base)
    llm_mode: str = "extractive"  # a request's mode when it names none: extractive | generative | auto

    ENV = {
        "index_dir": "NEWSQA_INDEX", "model": "NEWSQA_MODEL", "chunk_tokens": "NEWSQA_CHUNK_TOKENS",
        "chunk_overlap": "NEWSQA_CHUNK_OVERLAP", "batch_size": "NEWSQA_BATCH_SIZE", "top_k": "NEWSQA_TOP_K",
        "max_answer_chars": "NEWSQA_MAX_ANSWER_CHARS", "host": "NEWSQA_HOST", "port": "NEWSQA_PORT",
        "log_level": "NEWSQA_LOG_LEVEL", "api_key": "NEWSQA_API_KEY", "fusion": "NEWSQA_FUSION",
        "dense_weight": "NEWSQA_DENSE_WEIGHT", "entities": "NEWSQA_ENTITIES",
        "max_body_bytes": "NEWSQA_MAX_BODY_BYTES", "rate_limit": "NEWSQA_RATE_LIMIT",
        "cors_origins": "NEWSQA_CORS_ORIGINS", "max_article_chars": "NEWSQA_MAX_ARTICLE_CHARS",
        "ingest_batch": "NEWSQA_INGEST_BATCH",
        "backend": "NEWSQA_BACKEND", "cache_dir": "NEWSQA_CACHE_DIR", "ann_threshold": "NEWSQA_ANN_THRESHOLD",
        "nprobe": "NEWSQA_NPROBE", "onnx_queries": "NEWSQA_ONNX_QUERIES", "embed_workers": "NEWSQA_EMBED_WORKERS",
        "ray_address": "NEWSQA_RAY_ADDRESS",
        "store": "NEWSQA_STORE", "milvus_uri": "NEWSQA_MILVUS_URI", "milvus_token": "NEWSQA_MILVUS_TOKEN",
        "milvus_prefix": "NEWSQA_MILVUS_PREFIX", "milvus_timeout": "NEWSQA_MILVUS_TIMEOUT",
        "milvus_bm25_top": "NEWSQA_MILVUS_BM25_TOP",
        "feed_timeout": "NEWSQA_FEED_TIMEOUT", "feed_max_bytes": "NEWSQA_FEED_MAX_BYTES", "watch": "NEWSQA_WATCH",
        "watch_settle": "NEWSQA_WATCH_SETTLE", "watch_remove_deleted": "NEWSQA_WATCH_REMOVE_DELETED",
        "llm_url": "NEWSQA_LLM_URL", "llm_model": "NEWSQA_LLM_MODEL", "llm_api_key": "NEWSQA_LLM_API_KEY",
        "llm_timeout": "NEWSQA_LLM_TIMEOUT", "llm_context_tokens": "NEWSQA_LLM_CONTEXT_TOKENS",
        "llm_mode": "NEWSQA_LLM_MODE",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from the environment; explicit overrides (CLI flags) win when not None."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {"index_dir": default_index_dir(environ)}
        types = {f.name: f.type for f in fields(cls)}
        for name, var in cls.ENV.items():
            raw = environ.get(var)
            if raw is None or raw == "":
                continue
            if str(types[name]) in ("int", "float"):
                cast = int if str(types[name]) == "int" else float
                try:
                    values[name] = cast(raw)
                except ValueError:
                    raise ValueError(f"{var} must be a number, got {raw!r}") from None
            elif name == "index_dir":
                values[name] = Path(raw).expanduser()
            else:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["index_dir"] = Path(values["index_dir"]).expanduser()
        if values.get("backend", "auto") not in ("auto", *BACKENDS):
            raise ValueError(f"NEWSQA_BACKEND must be auto, torch or onnx-int8, got {values['backend']!r}")
        if values.get("store", "embedded") not in ("embedded", "milvus"):
            raise ValueError(f"NEWSQA_STORE must be embedded or milvus, got {values['store']!r}")
        if values.get("store") == "milvus" and not values.get("milvus_uri"):
            raise ValueError("NEWSQA_STORE=milvus needs NEWSQA_MILVUS_URI: a file path (Milvus Lite in this "
                             "process) or http://host:19530 (a Milvus server, or `milvus-lite server`)")
        if values.get("llm_mode", "extractive") not in MODES:
            raise ValueError(f"NEWSQA_LLM_MODE must be extractive, generative or auto, got {values['llm_mode']!r}")
        return cls(**values)

    def milvus(self) -> MilvusConfig:
        """Where the Milvus engine's collections live."""
        return MilvusConfig(self.milvus_uri, self.milvus_token or "", self.milvus_prefix, self.milvus_timeout)

    def ranking_params(self) -> RankingParams:
        """The ranking parameters these settings choose (RankingParams' defaults for the rest)."""
        if self.fusion not in ("score", "rrf"):
            raise ValueError(f"NEWSQA_FUSION must be 'score' or 'rrf', got {self.fusion!r}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError(f"NEWSQA_DENSE_WEIGHT must be between 0 and 1, got {self.dense_weight!r}")
        return RankingParams(fusion=self.fusion, article_dense_weight=self.dense_weight)  # type: ignore[arg-type]

    def table(self) -> list[tuple[str, str, str]]:
        """(variable, current value, field) rows, for --help texts and the README."""
        secret = {"api_key", "milvus_token", "llm_api_key"}
        return [(var, "***" if name in secret and getattr(self, name) else str(getattr(self, name)), name)
                for name, var in self.ENV.items()]

    @property
    def watch_dirs(self) -> list[Path]:
        return [Path(d.strip()).expanduser() for d in self.watch.split(",") if d.strip()]

    @property
    def cors_allow_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
