"""Ingest throughput against the raw model on the same chunk texts, measured in one run.

    .venv/bin/python bench/ingest.py [--corpus FILE] [--limit N] [--json OUT]

Prints articles/s, chunks/s, tokens/s of `newsqa ingest` (cleaning, chunking, embedding, SQLite, FAISS
included; model load excluded from both sides), the raw `SentenceTransformer.encode` rate on exactly the
texts the ingest embedded, their ratio, and the time of re-ingesting the same file.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "realtimeqa" / "corpus-small.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (0 = all)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args(argv)
    if not args.corpus.exists():
        print(f"bench/ingest.py: corpus not found at {args.corpus}. The evaluation data lives in ../shared/data "
              "beside the repository (CI has it; a clone alone does not). Pass --corpus FILE.", file=sys.stderr)
        return 2

    from corpus.chunk import Chunker, embedding_text
    from corpus.load import load_articles
    from index.embed import SentenceTransformerEmbedder
    from index.update import embed_hash
    from qa.engine import ingest
    from qa.settings import Settings

    corpus = args.corpus
    with tempfile.TemporaryDirectory() as tmp:
        if args.limit:
            corpus = Path(tmp) / "subset.jsonl"
            with open(args.corpus) as src, open(corpus, "w") as dst:
                for i, line in enumerate(src):
                    if i >= args.limit:
                        break
                    dst.write(line)
        settings = Settings.from_env({}, index_dir=Path(tmp) / "index")
        embedder = SentenceTransformerEmbedder(settings.model)
        embedder.encode(["warm up"])

        started = time.perf_counter()
        report = ingest(settings, [corpus], get_embedder=lambda: embedder)
        ingest_seconds = time.perf_counter() - started

        started = time.perf_counter()
        again = ingest(settings, [corpus], get_embedder=lambda: embedder)
        reingest_seconds = time.perf_counter() - started

        # The same texts the ingest embedded: same cleaning, chunking and de-duplication.
        chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap)
        texts: dict[str, str] = {}
        tokens = 0
        for article in load_articles([corpus]).articles:
            for chunk in chunker.split(article):
                text = embedding_text(article, chunk)
                texts.setdefault(embed_hash(embedder.name, text), text)
                tokens += chunk.n_tokens
        unique = list(texts.values())
        started = time.perf_counter()
        embedder._model.encode(unique, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        raw_seconds = time.perf_counter() - started

    articles = len(report.new)
    result = {
        "corpus": str(args.corpus), "limit": args.limit, "machine": f"{platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"), "model": embedder.name,
        "articles": articles, "skipped": len(report.skipped), "chunks": report.chunks_added,
        "embedded_texts": report.embedded, "tokens": tokens,
        "ingest_seconds": round(ingest_seconds, 2),
        "ingest_articles_per_s": round(articles / ingest_seconds, 2),
        "ingest_chunks_per_s": round(report.chunks_added / ingest_seconds, 2),
        "ingest_passages_per_s": round(report.embedded / ingest_seconds, 2),
        "ingest_tokens_per_s": round(tokens / ingest_seconds, 1),
        "raw_encode_seconds": round(raw_seconds, 2),
        "raw_encode_passages_per_s": round(len(unique) / raw_seconds, 2),
        "ratio_ingest_to_raw": round((report.embedded / ingest_seconds) / (len(unique) / raw_seconds), 3),
        "stage_seconds": {k: round(v, 2) for k, v in report.seconds.items()},
        "reingest_seconds": round(reingest_seconds, 2),
        "reingest_embedded": again.embedded,
        "reingest_share_of_first": round(reingest_seconds / ingest_seconds, 4),
    }
    print(f"{'':<28}{'passages/s':>12}{'seconds':>10}")
    print(f"{'newsqa ingest (all stages)':<28}{result['ingest_passages_per_s']:>12}{result['ingest_seconds']:>10}")
    print(f"{'raw model.encode':<28}{result['raw_encode_passages_per_s']:>12}{result['raw_encode_seconds']:>10}")
    print(f"ratio ingest/raw: {result['ratio_ingest_to_raw']}  |  {articles} articles, {report.chunks_added} chunks, "
          f"{tokens} tokens: {result['ingest_articles_per_s']} articles/s, {result['ingest_chunks_per_s']} chunks/s, "
          f"{result['ingest_tokens_per_s']} tokens/s")
    print(f"stages (s): {result['stage_seconds']}")
    print(f"re-ingest of the same file: {reingest_seconds:.2f}s = {result['reingest_share_of_first']:.2%} of the first "
          f"run, {again.embedded} embedded")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
