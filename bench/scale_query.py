"""Query figures of one synthetic archive written by bench/scale_update.py, in a process of its own (its RSS is
the query process's): search and ask latency p50/p95, resident memory, and recall@10 of the vector search
against an exact scan of the stored vectors.

    .venv/bin/python bench/scale_query.py --index DIR [--queries 200] [--json OUT]

Queries are made of the words of stored chunks (so BM25 has work to do) and their vectors are those chunks'
stored vectors plus noise (so the dense search has true neighbours); embedding them costs the model's time, the
same at every archive size, and is left out.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class LookupEmbedder:
    """The vector prepared for each query text (a stored chunk's, plus noise)."""

    name = "synthetic"

    def __init__(self, vectors: dict[str, np.ndarray], dim: int) -> None:
        self.vectors = vectors
        self.dim = dim

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return np.stack([self.vectors.get(t, np.zeros(self.dim, np.float32)) for t in texts])


def _queries(reader: Any, index_dir: Path, n: int, seed: int) -> dict[str, np.ndarray]:
    """n query texts (six words of a stored chunk) and their vectors (that chunk's stored vector plus noise)."""
    from index import store

    dim = reader.manifest.dim
    rng = np.random.default_rng(seed)
    picked = rng.choice(reader.table.ids, size=n, replace=False)
    rows = reader.chunks([int(c) for c in picked])
    conn = store.connect(index_dir, readonly=True)
    hashes = [store.embed_hashes_of(conn, [int(c)]) for c in picked]
    stored = [store.vectors_for(conn, h, dim)[0] for h in hashes]
    conn.close()
    queries: dict[str, np.ndarray] = {}
    for chunk_id, vec in zip(picked, stored, strict=True):
        words = str(rows[int(chunk_id)]["text"]).split()
        start = int(rng.integers(0, max(1, len(words) - 6)))
        noisy = vec + rng.normal(scale=0.02, size=dim).astype(np.float32)
        queries[" ".join(words[start:start + 6]).strip(".")] = noisy / np.linalg.norm(noisy)
    return queries


def serve_lookup(index_dir: Path, port: int, n_queries: int, seed: int, nprobe: int) -> None:
    """The service's own app (create_app, uvicorn) on this archive, with the prepared query vectors in place of
    the model: run in a process of its own by measure_http."""
    import uvicorn

    import qa.engine
    from index.reader import IndexReader
    from qa.settings import Settings
    from server import create_app

    probe = IndexReader(index_dir, nprobe=nprobe)
    queries = _queries(probe, index_dir, n_queries, seed)
    del probe
    lookup = LookupEmbedder(queries, len(next(iter(queries.values()))))
    qa.engine._load_query_embedder = lambda *args, **kwargs: lookup  # type: ignore[assignment]
    settings = Settings.from_env(index_dir=index_dir, nprobe=nprobe, rate_limit=0, log_level="WARNING",
                                 model=LookupEmbedder.name)  # the archive's model: its vectors are synthetic
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def measure_http(index_dir: Path, n_queries: int, seed: int = 0, nprobe: int = 0) -> dict:
    """/api/search and /api/ask over HTTP, from this process to a server process (serve_lookup) on the archive.
    The model's time per question, the same at every archive size, is left out: `--with-model` reports it as
    query_embedding."""
    import subprocess
    import urllib.error
    import urllib.request

    from index.reader import IndexReader

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = subprocess.Popen([sys.executable, __file__, "--index", str(index_dir), "--serve-lookup", str(port),
                               "--queries", str(n_queries), "--nprobe", str(nprobe)])
    probe = IndexReader(index_dir, nprobe=nprobe)
    texts = list(_queries(probe, index_dir, n_queries, seed))  # the same texts as the server's, by the same seed
    del probe

    def post(path: str, body: dict) -> float:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        return time.perf_counter() - t0

    try:
        deadline = time.time() + 600
        while True:
            try:
                post("/api/search", {"query": texts[0]})  # also the first-call costs, out of the figures
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the bench's server process did not start") from None
                time.sleep(0.5)
        search = [post("/api/search", {"query": t, "k": 10}) for t in texts]
        ask = [post("/api/ask", {"question": t}) for t in texts[: max(1, n_queries // 2)]]
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"engine": "embedded", "over": "HTTP, to a server process running the service's app", "nprobe": nprobe,
            "api_search": _percentiles(search), "api_ask": _percentiles(ask), "queries": len(texts)}


def _memory_mb() -> dict[str, float]:
    """Resident memory: all of it, and the part that is file pages (mapped index files, which the kernel can
    drop and read again) apart from the process's own (anonymous) memory."""
    out = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": out.get("VmRSS", 0.0), "rss_anon_mb": out.get("RssAnon", 0.0),
            "rss_file_mb": out.get("RssFile", 0.0)}


def _percentiles(times: list[float]) -> dict[str, float]:
    ms = np.array(times) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def measure(index_dir: Path, n_queries: int, seed: int = 0, milvus_uri: str | None = None, nprobe: int = 0,
            with_model: bool = False) -> dict:
    """The figures on index_dir, or (milvus_uri) on the Milvus it was published to, read through the Milvus
    engine's reader alone; the queries are made from index_dir's stored chunks either way. with_model: the query
    embedder the service loads (settings' model and backend) is loaded and run on every query text too, so that
    its memory is in the figure; the searches still use the prepared vectors."""
    from index import store
    from index.reader import IndexReader
    from qa.answer import Answerer
    from qa.engine import one_thread_numerics
    from qa.search import Searcher

    one_thread_numerics()
    started = time.perf_counter()
    if milvus_uri:
        from index.milvus import MilvusConfig
        from index.milvus_reader import MilvusReader

        reader = MilvusReader(MilvusConfig(milvus_uri))
    else:
        reader = IndexReader(index_dir, nprobe=nprobe)
    open_seconds = time.perf_counter() - started
    opened = _memory_mb()["rss_mb"]
    dim = reader.manifest.dim
    queries = _queries(reader, index_dir, n_queries, seed)
    conn = store.connect(index_dir, readonly=True)
    model: Any = None
    embed_times: list[float] = []
    if with_model:
        from qa.engine import _load_query_embedder
        from qa.settings import Settings

        settings = Settings.from_env()
        model = _load_query_embedder(settings.model, "torch" if settings.backend == "auto" else settings.backend,
                                     settings.cache_dir, bool(settings.onnx_queries))
        for text in queries:  # one at a time, as the service embeds a question
            t0 = time.perf_counter()
            model.encode([text])
            embed_times.append(time.perf_counter() - t0)
    searcher = Searcher(reader, LookupEmbedder(queries, dim))
    answerer = Answerer(searcher)
    answerer.warm_up()
    texts = list(queries)
    searcher.search(texts[0])  # first-call costs (imports, caches) out of the figures
    search_times, ask_times = [], []
    for text in texts:
        t0 = time.perf_counter()
        searcher.search(text, k=10)
        search_times.append(time.perf_counter() - t0)
    for text in texts[: max(1, n_queries // 2)]:
        t0 = time.perf_counter()
        answerer.answer(text)
        ask_times.append(time.perf_counter() - t0)
    memory = _memory_mb()
    query_model = ({"embedder": type(model).__name__, "query_embedding": _percentiles(embed_times)}
                   if model is not None else None)
    # recall@10 of the vector search: against an exact scan of every stored vector, chunk by chunk of rows
    ids, matrix = store.all_chunk_vectors(conn, dim)
    recalls = []
    for vec in list(queries.values())[:100]:
        exact = ids[np.argsort(-(matrix @ vec))[:10]]
        found = [c for c, _ in reader.search(vec, 10)]
        recalls.append(len(set(found) & set(exact.tolist())) / 10)
    return {"engine": "milvus" if milvus_uri else "embedded", "chunks": reader.manifest.chunks,
            "vector_index": reader.stats()["vector_index"],
            "open_seconds": round(open_seconds, 2), "rss_after_open_mb": opened, "search": _percentiles(search_times),
            "ask": _percentiles(ask_times), **memory,
            "recall_at_10": round(float(np.mean(recalls)), 3), "queries": len(texts), "query_model": query_model}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index written by bench/scale_update.py")
    parser.add_argument("--queries", type=int, default=200, help="search queries (asks: half as many)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    parser.add_argument("--milvus-uri", help="answer from the Milvus this index was published to (NEWSQA_STORE=milvus)")
    parser.add_argument("--nprobe", type=int, default=0, help="IVF lists scanned per query (NEWSQA_NPROBE; 0: as "
                                                                "the index was saved)")
    parser.add_argument("--with-model", action="store_true", help="load and run the query embedder the service "
                                                                      "would (NEWSQA_MODEL, NEWSQA_BACKEND), so "
                                                                      "that its memory counts")
    parser.add_argument("--http", action="store_true", help="time /api/search and /api/ask over HTTP instead (the "
                                                                "service's app in a server process; no memory "
                                                                "figures)")
    parser.add_argument("--serve-lookup", type=int, metavar="PORT", help=argparse.SUPPRESS)  # measure_http's server
    args = parser.parse_args(argv)
    if args.serve_lookup:
        serve_lookup(args.index, args.serve_lookup, args.queries, 0, args.nprobe)
        return 0
    if args.http:
        figures = measure_http(args.index, args.queries, nprobe=args.nprobe)
        print(json.dumps(figures))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return 0
    figures = measure(args.index, args.queries, milvus_uri=args.milvus_uri, nprobe=args.nprobe,
                      with_model=args.with_model)
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
