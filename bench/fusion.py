"""Choose the fusion by measurement: retrieval metrics on the dev questions for each fusion and weight.

    .venv/bin/python bench/fusion.py --index DIR [--questions FILE] [--json OUT] [--level article|chunk|both]

DIR is an index of the RealTime QA corpus (newsqa eval builds one: see its first output line).
Every configuration answers as of each question's date, on the same index, in one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_QUESTIONS = ROOT.parent / "shared" / "data" / "realtimeqa" / "questions.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "fusion.json")
    parser.add_argument("--level", choices=("article", "chunk", "both"), default="both")
    args = parser.parse_args(argv)
    if not args.questions.exists():
        print(f"bench/fusion.py: {args.questions} not found (../shared/data is beside the repository in CI only)",
              file=sys.stderr)
        return 2

    from qa.engine import Engine
    from qa.evaluate import load_questions, retrieval_metrics
    from qa.search import Searcher
    from qa.settings import Settings

    engine = Engine.open(Settings.from_env({}, index_dir=args.index))
    questions = load_questions(args.questions)
    rows = []
    configs: list[tuple[str, str, float, str, str]] = []
    if args.level in ("chunk", "both"):
        configs.append(("rrf", "rrf", 0.0, "query", "chunk"))
        for scale in ("query", "max"):
            for weight in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
                configs.append((f"score-{scale} w={weight}", "score", weight, scale, "chunk"))
    if args.level in ("article", "both"):
        # articles: BM25 over the whole article scaled by the best allowed article, cosine of the best chunk
        for weight in (0.3, 0.4, 0.5, 0.6, 0.7):
            configs.append((f"article w={weight}", "score", weight, "max", "article"))
    defaults = engine.searcher.params
    for name, fusion, weight, scale, level in configs:
        # each configuration through the same door users have: a Searcher with its own RankingParams
        weights = {"article_dense_weight": weight} if level == "article" else {"chunk_dense_weight": weight}
        params = replace(defaults, fusion=fusion, bm25_scale=scale, **weights)
        searcher = Searcher(engine.reader, engine.searcher.embedder, params=params)
        started = time.perf_counter()
        metrics = retrieval_metrics(searcher, questions, {"mode": "hybrid", "time_aware": True, "level": level}, True)
        rows.append({"config": name, **metrics, "seconds": round(time.perf_counter() - started, 1)})
        print(f"{name:<22} Hits@1 {metrics['hits@1']:.3f}  Hits@4 {metrics['hits@4']:.3f}  "
              f"Hits@10 {metrics['hits@10']:.3f}  MRR@10 {metrics['mrr@10']:.3f}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
