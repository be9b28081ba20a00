"""ONNX encode of the same chunk texts in batches vs one at a time: relative speed and how far the vectors move.

    .venv/bin/python bench/batching.py [--corpus FILE] [--limit 40] [--batch 32] [--precision int8|fp32]
                                       [--rounds 3] [--cut CHARS] [--json OUT]

The texts are the chunks an ingest of the first --limit articles embeds (same chunking), in length order as the
Writer hands them over. Each group of --batch texts is encoded as one batch and one text at a time back to back,
alternating which goes first, so both see the same load on a shared machine: the figure to read is the median of
the per-group speed ratios, not the absolute rates. Cosines compare each text's batched and batch-1 vectors.
--cut keeps each text's first CHARS characters: how batching does on short texts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set

DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "realtimeqa" / "corpus-small.jsonl"


def chunk_texts(corpus: Path, limit: int) -> list[str]:
    """The distinct texts an ingest of the first `limit` articles of corpus embeds, shortest first."""
    from corpus.chunk import Chunker, embedding_text
    from corpus.load import load_articles
    from qa.settings import Settings

    settings = Settings.from_env({}, index_dir=Path("unused"))
    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap)
    articles = load_articles([corpus]).articles[:limit] if limit else load_articles([corpus]).articles
    texts = dict.fromkeys(embedding_text(a, c) for a in articles for c in chunker.split(a))
    return sorted(texts, key=len)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=40, help="first N articles (0 = all)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--precision", default="int8", choices=["int8", "fp32"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cut", type=int, default=0, help="keep the first N characters of each text (0 = all)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "batching.json")
    args = parser.parse_args(argv)

    from index.embed import DEFAULT_MODEL
    from index.onnx_embed import OnnxEmbedder

    load_before = os.getloadavg()
    texts = chunk_texts(args.corpus, args.limit)
    if args.cut:
        texts = sorted(dict.fromkeys(t[:args.cut] for t in texts), key=len)
    cache = os.environ.get("NEWSQA_CACHE_DIR")
    embedder = OnnxEmbedder(DEFAULT_MODEL, Path(cache) if cache else None, precision=args.precision)
    embedder.encode(texts[:8], batch_size=8)  # warm-up: the first run allocates
    wall = {1: 0.0, args.batch: 0.0}
    cpu = dict(wall)
    ratios: list[float] = []
    for rnd in range(args.rounds):
        for group_no, start in enumerate(range(0, len(texts), args.batch)):
            group = texts[start:start + args.batch]
            seconds = {}
            for size in (1, args.batch) if (group_no + rnd) % 2 == 0 else (args.batch, 1):
                w, c = time.perf_counter(), time.process_time()
                # the session at this batch size, whatever batch size encode itself uses for this precision
                embedder._encode_with(embedder._session, embedder._tokenizer, group, size)
                seconds[size] = time.perf_counter() - w
                wall[size] += seconds[size]
                cpu[size] += time.process_time() - c
            ratios.append(seconds[1] / seconds[args.batch])
    def encode(size: int) -> np.ndarray:
        return embedder._encode_with(embedder._session, embedder._tokenizer, texts, size)

    alone, batched = encode(1), encode(args.batch)
    cosines = np.sum(alone * batched, axis=1)
    encoded = len(texts) * args.rounds
    wordpieces = [sum(e.attention_mask) for e in embedder._tokenizer.encode_batch(texts)]
    result = {
        "precision": args.precision, "batch": args.batch, "texts": len(texts), "rounds": args.rounds,
        "articles": args.limit, "cut": args.cut, "wordpieces_mean": round(float(np.mean(wordpieces)), 1),
        "speedup_batch_over_1_median": round(statistics.median(ratios), 3),
        "speedup_quartiles": [round(q, 3) for q in statistics.quantiles(ratios, n=4)],
        "wall_passages_per_s": {str(k): round(encoded / v, 1) for k, v in wall.items()},
        "passages_per_cpu_s": {str(k): round(encoded / v, 1) for k, v in cpu.items()},
        "cosine_batched_vs_alone_mean": round(float(cosines.mean()), 5),
        "cosine_batched_vs_alone_min": round(float(cosines.min()), 5),
        "repeat_identical": bool(np.array_equal(batched, encode(args.batch))),
        **conditions(load_before),
    }
    print(f"{len(texts)} texts (~{result['wordpieces_mean']} word pieces), {args.precision}: batch {args.batch} "
          f"vs 1 = {result['speedup_batch_over_1_median']}x (median of {len(ratios)} paired groups, quartiles "
          f"{result['speedup_quartiles']}); cosine batched/alone mean {result['cosine_batched_vs_alone_mean']} "
          f"min {result['cosine_batched_vs_alone_min']}")
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
