"""The Milvus engine as the archive grows, on the synthetic archives bench/scale_update.py kept (--keep DIR):
each is published to a Milvus Lite file of its own, then the same figures as for the embedded engine are taken
from Milvus alone: the time to add 50 articles (the writer's commit plus its publish to Milvus), search and ask
p50/p95, the query process's RSS (Milvus Lite runs in it), disk, and recall@10 against an exact scan.

    .venv/bin/python bench/scale_update.py --sizes 10000 100000 --keep DIR      # first, once
    .venv/bin/python bench/scale_milvus.py --keep DIR --sizes 10000 100000 [--json OUT]

The embedded figures of the same archives are in bench/scale_update.py's output; run both in one session to
compare them (the archives grow by the added articles at each run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set
from bench.scale_update import RandomEmbedder, _articles  # noqa: E402

# Milvus Lite answers a query in seconds on this machine: fewer queries than the embedded engine's 200
QUERIES = 40


def _disk_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


def _measure(index_dir: Path, new: int) -> dict:
    from corpus.chunk import Chunker
    from index import store
    from index.milvus import MilvusConfig, Publisher, publish_local
    from index.update import Writer

    uri = index_dir.parent / f"milvus-{index_dir.name}.db"
    config = MilvusConfig(str(uri))
    started = time.perf_counter()
    published = publish_local(config, index_dir)  # the whole archive, once (nothing when it is there already)
    publish_seconds = round(time.perf_counter() - started, 1) if published else None
    chunker = Chunker()
    chunk_words = int(chunker.max_tokens * 0.35)
    embedder = RandomEmbedder()
    n_articles = store.counts(store.connect(index_dir, readonly=True))[0]
    rng = np.random.default_rng(n_articles)
    first = n_articles + 10_000_000  # ids beyond any bench/scale_update.py gave

    def writer() -> Writer:
        return Writer(index_dir, "synthetic", chunker, lambda: embedder, with_entities=False,
                      publish=Publisher(config))

    with writer() as w:  # not timed: the first add after a publish may load collections
        w.ingest(_articles(new, first, rng, chunk_words))
    with writer() as w:
        started = time.perf_counter()
        report = w.ingest(_articles(new, first + new, rng, chunk_words))
        add_seconds = time.perf_counter() - started
    # one process may hold a Milvus Lite file: stop this one's Lite server before the query process opens it
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_all()
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "scale_query.py"), "--index", str(index_dir),
                          "--milvus-uri", str(uri), "--queries", str(QUERIES)],
                         check=True, capture_output=True, text=True)
    queries = json.loads(out.stdout.strip().splitlines()[-1])
    stages = {k: round(v, 3) for k, v in report.seconds.items()}
    return {"engine": "milvus", "chunks": queries["chunks"], "publish_whole_seconds": publish_seconds,
            "added_articles": new, "added_chunks": report.chunks_added, "add_seconds": round(add_seconds, 3),
            "add_seconds_beyond_embedding": round(add_seconds - report.seconds.get("embed", 0.0), 3),
            "add_stage_seconds": stages, "milvus_mb": _disk_mb(uri), "query": queries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, required=True, metavar="DIR",
                        help="the folder of bench/scale_update.py --keep (index-SIZE in it)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="archive sizes in chunks")
    parser.add_argument("--new", type=int, default=50, help="articles added by the measured update")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    args = parser.parse_args(argv)
    try:
        import milvus_lite  # noqa: F401 - only to say clearly what is missing
    except ImportError:
        print("scale_milvus: needs pymilvus and milvus-lite: pip install -e '.[milvus]'", file=sys.stderr)
        return 2
    missing = [s for s in args.sizes if not (args.keep / f"index-{s}").is_dir()]
    if missing:
        print(f"scale_milvus: no kept archive for sizes {missing} in {args.keep}: run bench/scale_update.py "
              f"--sizes {' '.join(map(str, missing))} --keep {args.keep} first", file=sys.stderr)
        return 2
    load = os.getloadavg()
    rows = []
    for size in args.sizes:
        print(f"Milvus Lite on the archive of ~{size} chunks ...", file=sys.stderr)
        row = _measure(args.keep / f"index-{size}", args.new)
        rows.append(row)
        print(f"{row['chunks']:>9} chunks on Milvus Lite: add {args.new} articles {row['add_seconds']:.2f} s "
              f"(publish {row['add_stage_seconds'].get('publish')} s); queries {row['query']}")
    if args.json:
        write_json(args.json, {**conditions(load), "sizes": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
