"""What actors, quotes and stories cost at ingest (issue 24: "Ingest stays within 1.25x of today's time on
corpus-small.jsonl with all of this on"): `newsqa ingest` of corpus-small into an empty index by the code before
that work and by this tree, each a fresh CLI process, from the same venv and the same environment.

    .venv/bin/python bench/ingest_cost.py [--baseline REV] [--repeats N] [--backend onnx-int8|torch]
                                          [--corpus FILE] [--limit N] [--json OUT]

Baseline: e7b304f ("Merge branch 'feeds'"), the parent of both 6c3d07f ("Actors and quotes (issue 24)") and
2fa2031 ("Stories: articles grouped incrementally at ingest"), the first commits of issue 24's work (merged into
main by 76b4372 and bb4c39d). Its tree is extracted with `git archive` into a temporary directory and run with
the same interpreter; each run's modules are checked to come from its own tree.

Runs alternate ABBA (baseline, current; then current, baseline; ...) so a change in machine load falls on both.
The figure is the wall time of the ingest process (start-up, model and spaCy load included: the same code in
both) and their ratio per round; beside it the in-process time (the stages the ingest reports with `--json`,
one after another: all but `entities`, spaCy's thread beside the embedding, whose wait is `entities_wait`) and
each stage's time. The current index's actor, quote and story counts show the figure is with all of it on.

Backend: onnx-int8 by default. Neither version has an embedding cache (NEWSQA_CACHE_DIR holds the ONNX exports
only), so every run embeds the whole file; int8 embeds it about 3x faster than torch (a run is ~4 minutes, not
~11), which also makes the new stages a larger share of the total: the stricter test. `--backend torch` measures
the default backend. The ONNX export is made (or found in NEWSQA_CACHE_DIR) by a warm-up ingest of a few
articles with each version before anything is timed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set

DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "realtimeqa" / "corpus-small.jsonl"
BASELINE = "e7b304f"
BASELINE_WHY = ("parent of 6c3d07f (actors and quotes) and 2fa2031 (stories), the first commits of issue 24's "
                "work; merged into main by 76b4372 and bb4c39d")
TARGET = 1.25
ISSUE_24_TABLES = ["actors", "actor_aliases", "actor_mentions", "quotes", "stories", "story_members"]
WARM_UP_ARTICLES = 20


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def extract(rev: str, into: Path) -> Path:
    """The tree of `rev` (committed files only) in `into`."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev], capture_output=True, check=True)
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into


def check_tree(tree: Path, env: dict[str, str]) -> None:
    """The modules a run imports come from its own tree, not from the venv's install of newsqa."""
    probe = "import cli.main, index.update; print(index.update.__file__)"
    where = subprocess.run([sys.executable, "-c", probe], cwd=tree, env={**env, "PYTHONPATH": str(tree)},
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"bench/ingest_cost.py: {tree} imports index.update from {where}, not its own tree")


def head(corpus: Path, n: int, out: Path) -> Path:
    with open(corpus, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i >= n:
                break
            dst.write(line)
    return out


def ingest(tree: Path, corpus: Path, index: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    """One `python -m cli.main ingest` of corpus into index, run from tree: wall time and the report."""
    command = [sys.executable, "-m", "cli.main", "ingest", str(corpus), "--index", str(index), "--json", "--quiet"]
    load = os.getloadavg()
    with open(log, "w") as err:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=tree, env={**env, "NEWSQA_INDEX": str(index), "PYTHONPATH": str(tree)},
                              stdout=subprocess.PIPE, stderr=err, text=True, check=False)
        wall = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1 = some input skipped, the rest ingested
        raise SystemExit(f"{' '.join(command)} (in {tree}) failed ({done.returncode}):\n"
                         f"{log.read_text()[-3000:]}")
    report = json.loads(done.stdout)
    seconds = report["seconds"]
    # "entities" is the NER thread's own time, beside the embedding; what the ingest waited for it is "entities_wait"
    in_process = sum(v for k, v in seconds.items() if k != "entities")
    return {"wall_s": round(wall, 2), "in_process_s": round(in_process, 2), "articles": report["new"],
            "skipped": len(report["skipped"]), "chunks": report["chunks_added"], "embedded": report["embedded"],
            "stage_seconds": {k: round(v, 2) for k, v in seconds.items()},
            "load_average_1_before": round(load[0], 2), "load_average_1_after": round(os.getloadavg()[0], 2)}


def table_counts(index: Path) -> dict[str, int | None]:
    """Rows in each of issue 24's tables (None: the table does not exist)."""
    conn = sqlite3.connect(f"file:{index / 'meta.sqlite'}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t: (conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] if t in names else None)
                for t in ISSUE_24_TABLES}
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BASELINE, help=f"revision before issue 24 (default {BASELINE})")
    parser.add_argument("--repeats", type=int, default=2, help="rounds, each one ingest by each version")
    parser.add_argument("--backend", default="onnx-int8", choices=["onnx-int8", "torch"])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles (0 = all)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "ingest-cost.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()  # other work on the machine skews every figure: recorded with them
    if not args.corpus.exists():
        print(f"bench/ingest_cost.py: corpus not found at {args.corpus}. The evaluation data lives in ../shared/data "
              "beside the repository (CI has it; a clone alone does not). Pass --corpus FILE.", file=sys.stderr)
        return 2

    baseline = git("rev-parse", "--verify", f"{args.baseline}^{{commit}}")
    current = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    # the same environment for both; the index is set per run, the store is the embedded one (the baseline's
    # writer publishes nowhere else either)
    env = {k: v for k, v in os.environ.items() if k not in ("NEWSQA_STORE", "NEWSQA_MILVUS_URI")}
    env.update(NEWSQA_BACKEND=args.backend, NEWSQA_ENTITIES="1")

    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ingest-cost-") as tmp_name:
        tmp = Path(tmp_name)
        trees = {"baseline": extract(baseline, tmp / "baseline"), "current": ROOT}
        for tree in trees.values():
            check_tree(tree, env)
        corpus = head(args.corpus, args.limit, tmp / "subset.jsonl") if args.limit else args.corpus
        warm = head(args.corpus, WARM_UP_ARTICLES, tmp / "warm-up.jsonl")
        for name, tree in trees.items():  # ONNX export made or found, files in the page cache; not timed
            ingest(tree, warm, tmp / f"warm-{name}", env, tmp / f"warm-{name}.log")
            shutil.rmtree(tmp / f"warm-{name}")

        counts: dict[str, dict[str, int | None]] = {}
        for i in range(args.repeats):
            order = ["baseline", "current"] if i % 2 == 0 else ["current", "baseline"]
            runs: dict[str, dict[str, Any]] = {}
            for name in order:
                index = tmp / f"index-{name}-{i}"
                runs[name] = ingest(trees[name], corpus, index, env, tmp / f"{name}-{i}.log")
                counts[name] = table_counts(index)
                shutil.rmtree(index)
                print(f"round {i + 1} {name}: {runs[name]['wall_s']} s", flush=True)
            rounds.append({"round": i + 1, "order": " then ".join(order),
                           "baseline_s": runs["baseline"]["wall_s"], "current_s": runs["current"]["wall_s"],
                           "ratio": round(runs["current"]["wall_s"] / runs["baseline"]["wall_s"], 3),
                           "ratio_in_process": round(runs["current"]["in_process_s"]
                                                     / runs["baseline"]["in_process_s"], 3),
                           "baseline": runs["baseline"], "current": runs["current"]})

    median = statistics.median(r["ratio"] for r in rounds)
    new_stages = ("actors", "stories")  # the stages issue 24 added to an ingest (quotes are found in "actors")
    added = [sum(r["current"]["stage_seconds"].get(s, 0.0) for s in new_stages) for r in rounds]
    print(f"\n{'round':<7}{'order':<24}{'baseline s':>12}{'current s':>11}{'ratio':>8}")
    for r in rounds:
        print(f"{r['round']:<7}{r['order']:<24}{r['baseline_s']:>12}{r['current_s']:>11}{r['ratio']:>8}")
    print(f"median ratio {median:.3f} (target <= {TARGET}); actors + stories stages "
          f"{statistics.median(added):.1f} s a run; current index {counts['current']}")
    result = {
        "corpus": str(args.corpus), "limit": args.limit, "backend": args.backend, "repeats": args.repeats,
        "command": "bench/ingest_cost.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "baseline": baseline, "baseline_why": BASELINE_WHY, "current": current + (" (with uncommitted changes)"
                                                                                  if dirty else ""),
        "target_ratio": TARGET, "median_ratio": round(median, 3),
        "median_ratio_in_process": round(statistics.median(r["ratio_in_process"] for r in rounds), 3),
        "within_target": median <= TARGET,
        "median_actors_stories_s": round(statistics.median(added), 2),
        "warm_up": f"{WARM_UP_ARTICLES} articles ingested by each version first (ONNX export cached), not timed",
        "embedding_cache": "none: every run embeds every chunk (neither version caches vectors across indexes)",
        **conditions(load_before),
        "index_tables": counts, "rounds": rounds,
    }
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
