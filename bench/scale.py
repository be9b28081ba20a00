"""How vector search cost grows with the archive: exact (Flat) vs the approximate index newsqa switches to.

    .venv/bin/python bench/scale.py [--sizes 100000 1000000] [--queries 300] [--real INDEX_DIR] [--json OUT]

Synthetic 384-d unit vectors with topic structure (100 topics x 100 subtopics, Gaussian noise: real sentence
embeddings are clustered, uniform noise is not and no ANN index does well on it), queries drawn from the same
distribution and not in the index. For each size and kind: build time, resident memory of the index (RSS growth
while it is loaded from its file, and the file size), single-query p50/p95 latency, recall@10 against exact
search. With --real, the same on an index's own stored vectors with its questions embedded as queries.
Writes a table, JSON and (if matplotlib is installed) a PNG plot.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set

QUESTIONS = ROOT.parent / "shared" / "data" / "realtimeqa" / "questions.jsonl"


_LOAD = """
import sys, faiss
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:')) / 1024
before = rss()
index = faiss.read_index(sys.argv[1])
print(rss() - before)
"""


def resident_after_load(path: Path) -> float:
    """RSS growth of a fresh process that loads the index file: what the index costs a server, in MB."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", _LOAD, str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def synthetic(n: int, dim: int, seed: int, topics: int = 100, subtopics: int = 100) -> np.ndarray:
    """n unit vectors: topic centre + subtopic offset + noise, generated in blocks to bound memory."""
    rng = np.random.default_rng(0)  # the same topics for every call: index and queries share them
    centres = rng.standard_normal((topics, dim)).astype(np.float32)
    sub = (centres[np.repeat(np.arange(topics), subtopics)]
           + 0.7 * rng.standard_normal((topics * subtopics, dim)).astype(np.float32))
    out = np.empty((n, dim), dtype=np.float32)
    draw = np.random.default_rng(seed)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = sub[draw.integers(0, len(sub), m)] + 0.9 * draw.standard_normal((m, dim)).astype(np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def measure(kind: str, ids: np.ndarray, x: np.ndarray, queries: np.ndarray, truth: np.ndarray | None,
            nprobe: int) -> tuple[dict[str, object], np.ndarray]:
    import faiss

    from index import vectors

    started = time.perf_counter()
    if kind == "exact":
        index = vectors.new_index(x.shape[1])
        vectors.add(index, ids, x)
    else:
        index = vectors.new_ivf_index(ids, x, nprobe=nprobe)
    build = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = vectors.save_vectors(index, Path(tmp), 1)
        size = path.stat().st_size
        resident = resident_after_load(path)
    faiss.omp_set_num_threads(1)  # one query at a time, as a server thread runs it
    latencies, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        _, got = vectors.search(index, q, 10)
        latencies.append((time.perf_counter() - t0) * 1000)
        found.append(got)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    found_arr = np.array(found)
    recall = 1.0 if truth is None else float(np.mean(
        [len(set(a) & set(t)) / 10 for a, t in zip(found_arr, truth, strict=True)]))
    nlist = faiss.extract_index_ivf(index).nlist if kind != "exact" else 0
    del index
    gc.collect()
    row = {"kind": "exact (IDMap2,Flat)" if kind == "exact" else f"IVF{nlist},SQ8 nprobe={nprobe}",
           "build_s": round(build, 2), "resident_mb": round(resident, 1), "file_mb": round(size / 2**20, 1),
           "p50_ms": round(float(np.percentile(latencies, 50)), 3),
           "p95_ms": round(float(np.percentile(latencies, 95)), 3), "recall_at_10": round(recall, 4)}
    return row, found_arr


def run_size(label: str, ids: np.ndarray, x: np.ndarray, queries: np.ndarray, nprobe: int, exact: bool
             ) -> list[dict[str, object]]:
    rows = []
    truth = None
    if exact:
        row, truth = measure("exact", ids, x, queries, None, nprobe)
        rows.append(row)
    else:  # exact top-10 without timing the exact index (large sizes): batched brute force
        import faiss

        flat = faiss.IndexFlatIP(x.shape[1])
        flat.add(x)
        _, pos = flat.search(queries, 10)
        truth = ids[pos]
        del flat
    row, _ = measure("ivf", ids, x, queries, truth, nprobe)
    rows.append(row)
    for r in rows:
        r["vectors"] = label
    return rows


def real_vectors(index_dir: Path, n_queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Stored (ids, vectors), the dev questions embedded, and per question the chunk ids dated up to its date."""
    from index import store
    from index.embed import SentenceTransformerEmbedder
    from index.reader import ChunkTable, day_number

    conn = store.connect(index_dir, readonly=True)
    manifest = store.read_manifest(conn)
    assert manifest is not None
    ids, x = store.all_chunk_vectors(conn, manifest.dim)
    records = [json.loads(line) for line in open(QUESTIONS)][:n_queries]
    queries = SentenceTransformerEmbedder(manifest.model).encode([r["question"] for r in records])
    table = ChunkTable(store.chunk_table(conn))
    allowed = [table.ids[(table.day <= day_number(r["date"])) & (table.day > -(10**6))] for r in records]
    return ids, np.ascontiguousarray(x), queries, allowed


def filtered_recall(ids: np.ndarray, x: np.ndarray, queries: np.ndarray, allowed: list[np.ndarray], nprobe: int
                    ) -> dict[str, object]:
    """Recall@10 of IVF,SQ8 against exact search, both restricted to chunks dated up to each question's date."""
    from index import vectors

    exact = vectors.new_index(x.shape[1])
    vectors.add(exact, ids, x)
    ivf = vectors.new_ivf_index(ids, x, nprobe=nprobe)
    recalls, latencies = [], []
    for q, ok in zip(queries, allowed, strict=True):
        _, truth = vectors.search(exact, q, 10, ok, total=exact.ntotal)
        t0 = time.perf_counter()
        _, got = vectors.search(ivf, q, 10, ok, total=ivf.ntotal)
        latencies.append((time.perf_counter() - t0) * 1000)
        recalls.append(len(set(got) & set(truth)) / max(1, len(set(truth) - {-1})))
    share = float(np.mean([len(a) / len(ids) for a in allowed]))
    return {"vectors": f"real {len(ids):,}, as-of filter", "kind": f"IVF,SQ8 nprobe={nprobe} (scaled by filter)",
            "build_s": "", "resident_mb": "", "file_mb": "", "p50_ms": round(float(np.percentile(latencies, 50)), 3),
            "p95_ms": round(float(np.percentile(latencies, 95)), 3), "recall_at_10": round(float(np.mean(recalls)), 4),
            "mean_share_allowed": round(share, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--nprobe", type=int, default=32)
    parser.add_argument("--exact-up-to", type=int, default=1_000_000, help="also time exact search up to this size")
    parser.add_argument("--real", type=Path, help="an index directory: its stored vectors, dev questions as queries")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    parser.add_argument("--plot-only", action="store_true",
                        help="measure nothing: draw the PNG from the rows already saved in --json")
    args = parser.parse_args(argv)
    if args.plot_only:
        _plot(json.loads(args.json.read_text())["rows"], args.json.with_suffix(".png"))
        return 0
    load_before = os.getloadavg()  # other work on the machine skews every figure: recorded with them

    rows: list[dict[str, object]] = []
    if args.real:
        ids, x, queries, allowed = real_vectors(args.real, args.queries)
        rows += run_size(f"real {len(x):,} ({args.real.name})", ids, x, queries, args.nprobe, True)
        rows.append(filtered_recall(ids, x, queries, allowed, args.nprobe))
        del x
    for n in args.sizes:
        x = synthetic(n + args.queries, args.dim, seed=n)
        x, queries = x[:n], np.ascontiguousarray(x[n:])
        ids = np.arange(1, n + 1, dtype=np.int64)
        rows += run_size(f"{n:,}", ids, x, queries, args.nprobe, n <= args.exact_up_to)
        del x, ids
        gc.collect()

    header = f"{'vectors':<28}{'index':<28}{'build s':>9}{'RSS MB':>9}{'file MB':>9}{'p50 ms':>9}{'p95 ms':>9}" \
             f"{'recall@10':>11}"
    print(header)
    for r in rows:
        print(f"{r['vectors']!s:<28}{r['kind']!s:<28}{r['build_s']:>9}{r['resident_mb']:>9}{r['file_mb']:>9}"
              f"{r['p50_ms']:>9}{r['p95_ms']:>9}{r['recall_at_10']:>11}")
    result = {**conditions(load_before), "queries": args.queries, "nprobe": args.nprobe,
              "dim": args.dim, "rows": rows}
    write_json(args.json, result)
    _plot(rows, args.json.with_suffix(".png"))
    return 0


def _plot(rows: list[dict[str, object]], out: Path) -> None:
    """Query latency and resident memory against archive size, exact vs approximate (synthetic rows)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no PNG: matplotlib is not installed (pip install -e '.[bench]')", file=sys.stderr)
        return
    fig, (latency, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for prefix in ("exact", "IVF"):
        mine = sorted((int(str(r["vectors"]).replace(",", "")), r) for r in rows
                      if str(r["kind"]).startswith(prefix) and str(r["vectors"])[0].isdigit())
        if not mine:
            continue
        sizes = [n for n, _ in mine]
        label = "exact (flat)" if prefix == "exact" else "IVF + SQ8"
        latency.plot(sizes, [float(r["p50_ms"]) for _, r in mine], marker="o", label=label)
        memory.plot(sizes, [float(r["resident_mb"]) for _, r in mine], marker="o", label=label)
        if prefix == "IVF":
            for n, r in mine:
                latency.annotate(f"recall@10 {float(r['recall_at_10']):.3f}", (n, float(r["p50_ms"])),
                                 textcoords="offset points", xytext=(-40, 8), fontsize=8)
    latency.set(xscale="log", yscale="log", xlabel="vectors (384-d)", ylabel="p50 query ms",
                title="p50 query latency, one thread")
    memory.set(xscale="log", yscale="log", xlabel="vectors (384-d)", ylabel="resident MB",
               title="vector index memory")
    memory.axhline(1024, color="grey", linestyle="--", linewidth=0.8, label="1 GB")
    for ax in (latency, memory):
        ax.legend()
    fig.savefig(out, dpi=100, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
