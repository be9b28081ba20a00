"""Ingest throughput against the raw model of the same backend and against txtai, on the same chunk texts.

    .venv/bin/python bench/ingest.py [--corpus FILE] [--limit N] [--backends torch onnx-int8] [--no-txtai]
                                     [--json OUT]

For each backend: `newsqa ingest` into an empty index (reading, cleaning, chunking, entities, embedding, SQLite,
BM25, FAISS: everything; model and spaCy load excluded), the same backend's raw encode of exactly the texts the
ingest embedded (same cleaning, chunking and de-duplication), their ratio, the time share of each stage, and a
re-ingest of the same file. Then txtai (`Embeddings(path=<the same model directory>).index`) on the same texts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set

DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "realtimeqa" / "corpus-small.jsonl"


def unique_texts(corpus: Path, settings: Any, key: str) -> tuple[list[str], int]:
    """The de-duplicated texts an ingest of corpus embeds, and the chunks' token count."""
    from corpus.chunk import Chunker, embedding_text
    from corpus.load import load_articles
    from index.update import embed_hash

    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap)
    texts: dict[str, str] = {}
    tokens = 0
    for article in load_articles([corpus]).articles:
        for chunk in chunker.split(article):
            text = embedding_text(article, chunk)
            texts.setdefault(embed_hash(key, text), text)
            tokens += chunk.n_tokens
    return list(texts.values()), tokens


def run_backend(backend: str, corpus: Path, tmp: Path) -> tuple[dict[str, Any], list[str]]:
    from corpus.entities import extract_entities
    from index.embed import hash_key
    from qa import engine
    from qa.settings import Settings

    env = {"NEWSQA_BACKEND": backend, **{k: v for k, v in os.environ.items() if k == "NEWSQA_CACHE_DIR"}}
    settings = Settings.from_env(env, index_dir=tmp / f"index-{backend}")
    embedder = engine.embedder_factory(settings, backend)()
    embedder.encode(["warm up"])
    extract_entities([("Warm up", "Joe Biden spoke in Paris.")])  # spaCy load, excluded as the model's

    started = time.perf_counter()
    report = engine.ingest(settings, [corpus], get_embedder=lambda: embedder)
    ingest_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = engine.ingest(settings, [corpus], get_embedder=lambda: embedder)
    reingest_seconds = time.perf_counter() - started

    unique, tokens = unique_texts(corpus, settings, hash_key(embedder.name, backend))
    started = time.perf_counter()
    if backend == "torch":  # sentence-transformers' own encode, its default batch size
        embedder._model.encode(unique, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    else:
        embedder.encode(unique)
    raw_seconds = time.perf_counter() - started
    stages = {k: round(v, 2) for k, v in report.seconds.items()}
    total = sum(report.seconds.values()) or 1.0
    row = {
        "backend": backend, "articles": len(report.new), "skipped": len(report.skipped),
        "chunks": report.chunks_added, "embedded_texts": report.embedded, "tokens": tokens,
        "ingest_seconds": round(ingest_seconds, 2),
        "ingest_articles_per_s": round(len(report.new) / ingest_seconds, 2),
        "ingest_passages_per_s": round(report.embedded / ingest_seconds, 2),
        "ingest_tokens_per_s": round(tokens / ingest_seconds, 1),
        "raw_encode_seconds": round(raw_seconds, 2),
        "raw_encode_passages_per_s": round(len(unique) / raw_seconds, 2),
        "ratio_ingest_to_raw": round((report.embedded / ingest_seconds) / (len(unique) / raw_seconds), 3),
        "stage_seconds": stages, "stage_share": {k: round(v / total, 3) for k, v in report.seconds.items()},
        "reingest_seconds": round(reingest_seconds, 2), "reingest_embedded": again.embedded,
    }
    return row, unique


def run_txtai(texts: list[str]) -> dict[str, Any] | None:
    try:
        from txtai import Embeddings
    except ImportError:
        print("txtai not installed (pip install 'newsqa[bench]'): its row is left out", file=sys.stderr)
        return None
    from index.embed import DEFAULT_MODEL, resolve_model_path

    embeddings = Embeddings(path=resolve_model_path(DEFAULT_MODEL), content=False)
    embeddings.index([(0, "warm up", None)])
    embeddings = Embeddings(path=resolve_model_path(DEFAULT_MODEL), content=False)
    started = time.perf_counter()
    embeddings.index([(i, text, None) for i, text in enumerate(texts)])
    seconds = time.perf_counter() - started
    return {"backend": "txtai 9 (torch fp32, its defaults)", "embedded_texts": len(texts),
            "seconds": round(seconds, 2), "passages_per_s": round(len(texts) / seconds, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (0 = all)")
    parser.add_argument("--backends", nargs="*", default=["torch", "onnx-int8"], choices=["torch", "onnx-int8"])
    parser.add_argument("--no-txtai", action="store_true")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()  # other work on the machine skews every figure: recorded with them
    if not args.corpus.exists():
        print(f"bench/ingest.py: corpus not found at {args.corpus}. The evaluation data lives in ../shared/data "
              "beside the repository (CI has it; a clone alone does not). Pass --corpus FILE.", file=sys.stderr)
        return 2

    rows: list[dict[str, Any]] = []
    txtai = None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        corpus = args.corpus
        if args.limit:
            corpus = tmp / "subset.jsonl"
            with open(args.corpus) as src, open(corpus, "w") as dst:
                for i, line in enumerate(src):
                    if i >= args.limit:
                        break
                    dst.write(line)
        texts: list[str] = []
        for backend in args.backends:
            row, texts = run_backend(backend, corpus, tmp)
            rows.append(row)
        if not args.no_txtai and texts:
            txtai = run_txtai(texts)

    print(f"{'':<34}{'passages/s':>11}{'seconds':>9}{'ratio':>8}")
    for r in rows:
        print(f"{'newsqa ingest, ' + r['backend']:<34}{r['ingest_passages_per_s']:>11}{r['ingest_seconds']:>9}"
              f"{r['ratio_ingest_to_raw']:>8}")
        print(f"{'raw encode, ' + r['backend']:<34}{r['raw_encode_passages_per_s']:>11}{r['raw_encode_seconds']:>9}")
    if txtai:
        print(f"{'txtai Embeddings.index':<34}{txtai['passages_per_s']:>11}{txtai['seconds']:>9}")
        for r in rows:
            r["ratio_ingest_to_txtai"] = round(r["ingest_passages_per_s"] / txtai["passages_per_s"], 3)
            print(f"newsqa ingest ({r['backend']}) / txtai: {r['ratio_ingest_to_txtai']}")
    for r in rows:
        print(f"{r['backend']}: {r['articles']} articles, {r['chunks']} chunks, {r['embedded_texts']} embedded; "
              f"stage shares {r['stage_share']}; re-ingest {r['reingest_seconds']}s")
    result = {"corpus": str(args.corpus), "limit": args.limit, **conditions(load_before), "rows": rows,
              "txtai": txtai}
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
