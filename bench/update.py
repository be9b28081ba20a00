"""Incremental update vs full rebuild: the cost of adding a few new articles to a built index.

    .venv/bin/python bench/update.py [--corpus FILE] [--limit N] [--new 50] [--backend onnx-int8] [--json OUT]

1. full build: ingest the whole corpus into an empty index (what a rebuild from scratch costs; model load
   excluded), timed;
2. remove the last --new articles (not timed; their cached vectors are pruned, so they are embedded again);
3. update: ingest those articles from their own file into the built index, timed (compare, chunk, entities,
   embed, SQLite, BM25 rebuild, FAISS write: everything).
Prints both times, their ratio and the update's stages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set

DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "realtimeqa" / "corpus-small.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="only the first N records (0 = all)")
    parser.add_argument("--new", type=int, default=50, help="articles added by the update")
    parser.add_argument("--backend", default="onnx-int8", choices=["torch", "onnx-int8"])
    parser.add_argument("--keep", type=Path, help="copy the updated index here (e.g. to evaluate it)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "update.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()  # other work on the machine skews every figure: recorded with them
    if not args.corpus.exists():
        print(f"bench/update.py: corpus not found at {args.corpus}. The evaluation data lives in ../shared/data "
              "beside the repository (CI has it; a clone alone does not). Pass --corpus FILE.", file=sys.stderr)
        return 2

    from qa import engine
    from qa.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        lines = [line for line in open(args.corpus) if line.strip()]
        if args.limit:
            lines = lines[:args.limit]
        full_file, new_file = Path(tmp) / "all.jsonl", Path(tmp) / "new.jsonl"
        full_file.write_text("".join(lines))
        new_file.write_text("".join(lines[-args.new:]))
        new_ids = [json.loads(line)["id"] for line in lines[-args.new:]]

        settings = Settings.from_env({"NEWSQA_BACKEND": args.backend, **{k: v for k, v in os.environ.items()
                                                                       if k == "NEWSQA_CACHE_DIR"}},
                                     index_dir=Path(tmp) / "index")
        get_embedder = engine.embedder_factory(settings, args.backend)
        get_embedder().encode(["warm up"])  # model load and export excluded from both sides, spaCy's load too
        if settings.entities:
            from corpus.entities import extract_entities

            extract_entities([("Warm up", "Joe Biden spoke in Paris.")])

        started = time.perf_counter()
        full = engine.ingest(settings, [full_file], get_embedder=get_embedder)
        full_seconds = time.perf_counter() - started

        with engine.writer(settings, get_embedder=get_embedder) as w:
            removed = w.remove(new_ids)

        started = time.perf_counter()
        update = engine.ingest(settings, [new_file], get_embedder=get_embedder)
        update_seconds = time.perf_counter() - started
        if args.keep:
            import shutil

            shutil.copytree(settings.index_dir, args.keep, dirs_exist_ok=True)

    result = {
        "corpus": str(args.corpus), "limit": args.limit, "backend": args.backend, **conditions(load_before),
        "articles": len(full.new), "chunks": full.chunks_added, "full_build_seconds": round(full_seconds, 2),
        "full_stage_seconds": {k: round(v, 2) for k, v in full.seconds.items()},
        "update_articles": len(update.new), "update_removed_first": len(removed.removed),
        "update_chunks": update.chunks_added, "update_embedded": update.embedded,
        "update_seconds": round(update_seconds, 2),
        "update_stage_seconds": {k: round(v, 2) for k, v in update.seconds.items()},
        "ratio_update_to_full": round(update_seconds / full_seconds, 4),
    }
    print(f"{'':<36}{'articles':>9}{'chunks':>8}{'seconds':>10}")
    print(f"{'full build (empty index)':<36}{len(full.new):>9}{full.chunks_added:>8}{full_seconds:>10.2f}")
    print(f"{'update (add to the built index)':<36}{len(update.new):>9}{update.chunks_added:>8}"
          f"{update_seconds:>10.2f}")
    print(f"ratio update/full: {result['ratio_update_to_full']:.2%}  ({args.backend} backend)")
    print(f"update stages (s): {result['update_stage_seconds']}")
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
