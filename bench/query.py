"""Query latency of the real server over HTTP, start-up time, server memory, and txtai's search for contrast.

    .venv/bin/python bench/query.py [--index DIR] [--questions FILE] [--limit N] [--concurrency 1 8]
                                    [--no-txtai] [--json OUT]

Starts `newsqa serve` (uvicorn, its own process) on the index, records the time until it answers
(/api/health ok, then a first /api/search), sends the dev questions (each as of its own date, as the eval
does) to /api/search (k=10) and /api/ask at each concurrency, and reports p50/p95/p99 latency, throughput and
the server's RSS. Then the same questions through txtai (Embeddings with method="external": the index's own
stored vectors, queries embedded by the same model; no date filter, dense only), in-process, one at a time:
once with sentence-transformers (torch, txtai's own way) embedding the queries, once with the fp32 ONNX export
our server uses. Then txtai doing what our search does: hybrid (its own BM25 over the chunk texts + the same
vectors), content stored (text, article, title and date come back with each result) and each question as of
its date (an SQL filter; also timed without it), again with either query embedder. Last, newsqa's own search
in-process (no HTTP), like for like with txtai's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import Server, conditions, write_json  # noqa: E402 - after the path is set

DATA = ROOT.parent / "shared" / "data" / "realtimeqa"
DEFAULT_INDEX = ROOT.parent / "eval" / "realtimeqa-full"


def _post(url: str, body: dict[str, Any]) -> tuple[int, float]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, (time.perf_counter() - started) * 1000


def _rss_mb(pid: int) -> dict[str, float]:
    out = {}
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return out


def _stats(latencies: list[float], wall: float, errors: int) -> dict[str, float]:
    arr = np.array(latencies)
    return {"requests": len(latencies), "errors": errors, "p50_ms": round(float(np.percentile(arr, 50)), 1),
            "p95_ms": round(float(np.percentile(arr, 95)), 1), "p99_ms": round(float(np.percentile(arr, 99)), 1),
            "throughput_per_s": round(len(latencies) / wall, 2)}


def run_http(base: str, endpoint: str, questions: list[dict[str, Any]], concurrency: int) -> dict[str, float]:
    def body(q: dict[str, Any]) -> dict[str, Any]:
        if endpoint == "search":
            return {"query": q["question"], "k": 10, "as_of": q["date"]}
        return {"question": q["question"], "as_of": q["date"]}

    url = f"{base}/api/{endpoint}"
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda q: _post(url, body(q)), questions))
    wall = time.perf_counter() - started
    return _stats([ms for _, ms in results], wall, sum(1 for s, _ in results if s != 200))


def _time_each(call: Callable[[Any], Any], items: list[Any]) -> dict[str, float]:
    """Latency stats of call(item) for each item, one at a time in this process, after 5 warm-up calls."""
    for item in items[:5]:
        call(item)
    latencies = []
    started = time.perf_counter()
    for item in items:
        t0 = time.perf_counter()
        call(item)
        latencies.append((time.perf_counter() - t0) * 1000)
    return _stats(latencies, time.perf_counter() - started, 0)


def run_txtai(index_dir: Path, questions: list[dict[str, Any]], query_embedder: str = "torch") -> dict[str, Any]:
    """txtai over the index's own vectors; queries embedded by sentence-transformers (torch, what txtai itself
    runs) or, with query_embedder="onnx", by the fp32 ONNX export our server uses (the same vectors)."""
    from txtai import Embeddings

    from index import store
    from index.embed import Embedder, SentenceTransformerEmbedder

    conn = store.connect(index_dir, readonly=True)
    manifest = store.read_manifest(conn)
    assert manifest is not None
    ids, vecs = store.all_chunk_vectors(conn, manifest.dim)
    embedder: Embedder
    if query_embedder == "onnx":
        from index.onnx_embed import OnnxEmbedder

        embedder = OnnxEmbedder(manifest.model, precision="fp32")
    else:
        embedder = SentenceTransformerEmbedder(manifest.model)

    def transform(inputs: list[Any]) -> np.ndarray:
        # Stored vectors pass through; query strings are embedded by the same model as ours.
        texts = [x for x in inputs if isinstance(x, str)]
        encoded = iter(embedder.encode(texts)) if texts else iter(())
        return np.array([x if isinstance(x, np.ndarray) else next(encoded) for x in inputs], dtype=np.float32)

    embeddings = Embeddings(method="external", transform=transform, backend="faiss")
    started = time.perf_counter()
    embeddings.index([(int(i), v, None) for i, v in zip(ids, vecs, strict=True)])
    build = time.perf_counter() - started
    timed = _time_each(lambda q: embeddings.search(q["question"], 10), questions)
    return {"vectors": int(len(ids)), "index_build_s": round(build, 2), "query_embedder": query_embedder,
            "faiss": embeddings.config.get("build", {}).get("settings", {}), **timed}


def run_txtai_hybrid(index_dir: Path, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """txtai doing what newsqa's search does: hybrid (its BM25 + the same dense vectors), content stored (each
    result comes back with its text, article, title and date, as ours does) and each question as of its date (a
    SQL date filter). Built once; timed with sentence-transformers (torch) embedding the queries, then with the
    fp32 ONNX export our server uses."""
    from txtai import Embeddings

    from index import store
    from index.embed import Embedder, SentenceTransformerEmbedder
    from index.onnx_embed import OnnxEmbedder

    conn = store.connect(index_dir, readonly=True)
    manifest = store.read_manifest(conn)
    assert manifest is not None
    ids, vecs = store.all_chunk_vectors(conn, manifest.dim)
    rows = store.chunk_rows(conn, ids.tolist())
    stored = {rows[int(i)]["text"]: v for i, v in zip(ids, vecs, strict=True)}  # equal texts: equal vectors
    embedders: list[Embedder] = [SentenceTransformerEmbedder(manifest.model)]

    def transform(inputs: list[str]) -> np.ndarray:
        # Chunk texts map to their stored vectors; anything else is a query, embedded by the current embedder.
        asked = [x for x in inputs if x not in stored]
        encoded = iter(embedders[-1].encode(asked)) if asked else iter(())
        return np.array([stored[x] if x in stored else next(encoded) for x in inputs], dtype=np.float32)

    embeddings = Embeddings(method="external", transform=transform, backend="faiss", content=True,
                            scoring={"method": "bm25", "terms": True, "normalize": True})
    documents = ((int(i), {"text": rows[int(i)]["text"], "article_id": rows[int(i)]["article_id"],
                           "title": rows[int(i)]["title"], "date": rows[int(i)]["date"] or ""}, None)
                 for i in ids)
    started = time.perf_counter()
    embeddings.index(documents)
    build = time.perf_counter() - started
    sql = ("SELECT id, text, article_id, title, date, score FROM txtai WHERE similar(:q) AND date <= :as_of")

    def search(q: dict[str, Any]) -> Any:
        return embeddings.search(sql, 10, parameters={"q": q["question"], "as_of": q["date"]})

    out = {"vectors": int(len(ids)), "index_build_s": round(build, 2), **_time_each(search, questions),
           "without_date_filter": _time_each(lambda q: embeddings.search(q["question"], 10), questions)}
    embedders.append(OnnxEmbedder(manifest.model, precision="fp32"))
    out["with_onnx_query_embedder"] = _time_each(search, questions)
    return out


def run_inprocess(index_dir: Path, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """newsqa's search without HTTP (Engine in this process): like for like with txtai's in-process figure."""
    import datetime as dt

    from qa.engine import Engine
    from qa.search import Query
    from qa.settings import Settings

    engine = Engine.open(Settings.from_env({}, index_dir=index_dir))
    queries = [Query(q["question"], k=10, as_of=dt.date.fromisoformat(q["date"]) if q.get("date") else None)
               for q in questions]
    return _time_each(engine.searcher.search, queries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    parser.add_argument("--questions", type=Path, default=DATA / "questions.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (0 = all)")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8])
    parser.add_argument("--no-txtai", action="store_true", help="leave out the txtai rows")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "query.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()  # other work on the machine skews every figure: recorded with them
    for path in (args.index, args.questions):
        if not path.exists():
            print(f"bench/query.py: {path} not found (the evaluation data and the whole-corpus index live beside "
                  "the repository). Pass --index / --questions.", file=sys.stderr)
            return 2

    questions = [json.loads(line) for line in open(args.questions) if line.strip()]
    questions = questions[:args.limit] if args.limit else questions
    server = Server(args.index, port=args.port)
    rows: list[dict[str, Any]] = []
    try:
        base, ready = server.url, server.ready_s
        status, _ = _post(base + "/api/search", {"query": "warm up", "k": 10})
        first = time.perf_counter() - server.started  # until a first search is answered
        if status != 200:
            raise RuntimeError(f"first search answered {status}")
        for endpoint in ("search", "ask"):
            run_http(base, endpoint, questions[:5], 1)  # warm-up
            for concurrency in args.concurrency:
                rows.append({"system": f"newsqa /api/{endpoint}", "concurrency": concurrency,
                             **run_http(base, endpoint, questions, concurrency)})
        memory = _rss_mb(server.proc.pid)
    finally:
        server.stop()

    txtai = None
    keys = ("requests", "errors", "p50_ms", "p95_ms", "p99_ms", "throughput_per_s")
    if not args.no_txtai:
        try:
            txtai = run_txtai(args.index, questions)
            rows.append({"system": "txtai search (dense, in-process)", "concurrency": 1,
                         **{k: v for k, v in txtai.items() if k in keys}})
            onnx = run_txtai(args.index, questions, "onnx")
            rows.append({"system": "txtai search, our query embedder", "concurrency": 1,
                         **{k: v for k, v in onnx.items() if k in keys}})
            hybrid = run_txtai_hybrid(args.index, questions)
            rows.append({"system": "txtai hybrid + content", "concurrency": 1,
                         **{k: v for k, v in hybrid["without_date_filter"].items() if k in keys}})
            rows.append({"system": "txtai hybrid + content + as-of", "concurrency": 1,
                         **{k: v for k, v in hybrid.items() if k in keys}})
            rows.append({"system": "  the same, our query embedder", "concurrency": 1,
                         **{k: v for k, v in hybrid["with_onnx_query_embedder"].items() if k in keys}})
            txtai = {**txtai, "with_onnx_query_embedder": onnx, "hybrid_content_as_of": hybrid}
        except ImportError:
            print("txtai not installed (pip install 'newsqa[bench]'): its rows are left out", file=sys.stderr)
    # last: opening the engine limits this process's BLAS to one thread (qa.engine.one_thread_numerics)
    rows.append({"system": "newsqa search (in-process)", "concurrency": 1,
                 **run_inprocess(args.index, questions)})

    print(f"server start-up: ready {ready:.2f}s, first search answered {first:.2f}s; RSS {memory}")
    print(f"{'system':<36}{'conc.':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>8}{'errors':>8}")
    for r in rows:
        print(f"{r['system']:<36}{r['concurrency']:>6}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}"
              f"{r['throughput_per_s']:>8}{r['errors']:>8}")
    result = {**conditions(load_before), "index": str(args.index), "questions": len(questions),
              "startup_ready_s": round(ready, 2), "startup_first_search_s": round(first, 2),
              "server_memory_mb": memory, "rows": rows, "txtai": txtai}
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
