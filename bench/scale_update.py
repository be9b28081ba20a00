"""The index as the archive grows: what adding 50 articles costs (BM25 in segments and vector deltas: each
update writes what it adds) beside re-indexing every text (what updates did before segments), and what queries
cost at each size (bench/scale_query.py in a process of its own: search and ask p50/p95, RSS, recall@10 of the
vector search against exact), with the index's size on disk.

    .venv/bin/python bench/scale_update.py [--sizes 10000 100000] [--new 50] [--json OUT] [--plot PNG]

Synthetic archives (no data needed): articles of generated text (a Zipf vocabulary of 30,000 words, so BM25's
postings look like news text's; its most frequent ranks are written as English stopwords, which BM25 drops as it
drops them in real text, so that the commonest indexed term is in about half the chunks, as "said" is in RealTime
QA's) written through the real Writer (SQLite, FAISS, BM25 segments, actors, stories) with random 384-d vectors
instead of a model (the cost of embedding the new articles is the model's, the same at any size, and left out), no
entity extraction, and dates at a large outlet's pace (100 articles a day). For each size: the archive's chunks,
the time of a second add of --new articles by stage (the first may convert the vector index to IVF), the BM25
stage's time, the time to re-index every text
as the old full rebuild did, and the query figures.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set

WORDS = 30_000
# Real news chunks' commonest indexed term ("said") is in ~50 % of them (RealTime QA, 57k chunks); the generated
# ranks more frequent than that stand for stopwords
TOP_DOCUMENT_FREQUENCY = 0.5
# a large outlet's pace: 10^6 chunks are ~8 years of it (stories group articles of nearby days)
ARTICLES_PER_DAY = 100
FIRST_DAY = datetime.date(2000, 1, 1)
CENTRES = 5_000
CHUNKS_PER_ARTICLE = 4


class RandomEmbedder:
    """Unit vectors with the structure real embeddings have, without the model's cost: each article's chunks lie
    around one of CENTRES topic centres (chosen by its title), with noise of their own (uniform random vectors
    have no neighbours worth finding, and an approximate index's recall on them says nothing)."""

    name = "synthetic"
    dim = 384

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        centres = np.random.default_rng(1).normal(size=(CENTRES, self.dim)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        topic = [int(hashlib.md5(t.split("\n")[0].encode()).hexdigest()[:8], 16) % CENTRES for t in texts]
        v = self.centres[topic] + 0.04 * self.rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _stopwords() -> list[str]:
    from index.lexical import _stopwords as words

    return sorted(words())


def _articles(n: int, start: int, rng: np.random.Generator, chunk_words: int) -> list:
    from corpus.article import Article

    weights = 1.0 / np.arange(1, WORDS + 1)
    weights /= weights.sum()
    vocab = np.array([f"w{i}" for i in range(WORDS)], dtype=object)
    # ranks whose chance of occurring in a chunk exceeds TOP_DOCUMENT_FREQUENCY: stopwords, as in real text
    in_chunk = 1 - (1 - weights) ** chunk_words
    stop = _stopwords()
    common = int(np.sum(in_chunk > TOP_DOCUMENT_FREQUENCY))
    vocab[:common] = [stop[i % len(stop)] for i in range(common)]
    out = []
    for i in range(start, start + n):
        words = vocab[rng.choice(WORDS, size=CHUNKS_PER_ARTICLE * chunk_words, p=weights)]
        sentences = [" ".join(words[j:j + 15]) + "." for j in range(0, len(words), 15)]
        day = FIRST_DAY + datetime.timedelta(days=i // ARTICLES_PER_DAY)
        out.append(Article(id=f"syn{i:08d}", text=" ".join(sentences), title=f"Story {i}", date=day.isoformat(),
                           origin=f"synthetic:{i}"))
    return out


def _measure(size: int, new: int, folder: Path, reuse: bool = False) -> dict:
    from corpus.chunk import Chunker
    from index import lexical, store
    from index.update import Writer

    chunker = Chunker()
    chunk_words = int(chunker.max_tokens * 0.35)  # a generated word ("w1234") is ~2.5 tokens, and chunks overlap
    rng = np.random.default_rng(size)
    embedder = RandomEmbedder()
    path = folder / f"index-{size}"

    def writer() -> Writer:
        return Writer(path, "synthetic", chunker, lambda: embedder, with_entities=False)

    started = time.perf_counter()
    # as many articles as make size chunks, by the chunker's own count on a sample (the words' token lengths vary)
    sample = _articles(40, 0, np.random.default_rng(7), chunk_words)
    per_article = sum(len(chunker.split(a)) for a in sample) / len(sample)
    n_articles = int(np.ceil(size / per_article))
    batch = 5_000
    reuse = reuse and (path / store.DB_NAME).is_file()
    if reuse:  # an archive kept by an earlier run (--keep): built already
        n_articles = store.counts(store.connect(path, readonly=True))[0]
        print(f"reusing {path} ({n_articles} articles)", file=sys.stderr)
    else:
        for first in range(0, n_articles, batch):
            with writer() as w:
                w.ingest(_articles(min(batch, n_articles - first), first, rng, chunk_words))
    build_seconds = time.perf_counter() - started

    with writer() as w:  # not timed: an add that crosses NEWSQA_ANN_THRESHOLD converts to IVF once
        w.ingest(_articles(new, n_articles, rng, chunk_words))
    os.sync()  # the build's writes are on disk, not flushed by the measured update's fsyncs
    with writer() as w:
        started = time.perf_counter()
        report = w.ingest(_articles(new, n_articles + new, rng, chunk_words))
        add_seconds = time.perf_counter() - started
    queries = _query_figures(path)
    conn = store.connect(path, readonly=True)
    chunks = store.counts(conn)[1]
    started = time.perf_counter()
    lexical.Lexical.build(*store.chunk_texts(conn), cache=store.TermCache(conn))
    lexical.Lexical.build(*store.article_docs(conn), cache=store.TermCache(conn))
    reindex_seconds = time.perf_counter() - started
    conn.close()
    stages = {k: round(v, 3) for k, v in report.seconds.items()}
    return {"chunks": chunks, "articles": store.counts(store.connect(path, readonly=True))[0],
            "build_seconds": None if reuse else round(build_seconds, 1),
            "added_articles": new, "added_chunks": report.chunks_added,
            "add_seconds": round(add_seconds, 3),
            "add_seconds_beyond_embedding": round(add_seconds - report.seconds.get("embed", 0.0), 3),
            "add_stage_seconds": stages, "bm25_seconds_segments": stages.get("bm25"),
            "bm25_seconds_reindex_all": round(reindex_seconds, 3),
            "index_mb": round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1),
            "query": queries}


def _query_figures(path: Path) -> dict:
    """bench/scale_query.py on the index, in a fresh process (so that its RSS is a query process's alone)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "scale_query.py"), "--index", str(path)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _plot(rows: list[dict], out: Path) -> None:
    """Add time and search p50 against archive size (log-log), as a PNG; skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no PNG: matplotlib is not installed (pip install -e '.[bench]')", file=sys.stderr)
        return
    chunks = [r["chunks"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(chunks, [r["add_seconds_beyond_embedding"] for r in rows], "o-", label="add 50 articles (s)")
    ax.plot(chunks, [r["bm25_seconds_reindex_all"] for r in rows], "s--", label="re-index all BM25 (s)")
    ax.plot(chunks, [r["query"]["search"]["p50_ms"] / 1000 for r in rows], "^-", label="search p50 (s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks in the archive")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"plot: {out}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="archive sizes in chunks")
    parser.add_argument("--new", type=int, default=50, help="articles added by the measured update")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the synthetic indexes in DIR (index-SIZE)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: measure on the archives kept there by an earlier run instead of building")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="draw the figures (default: beside --json)")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            print(f"building a synthetic archive of ~{size} chunks ...", file=sys.stderr)
            row = _measure(size, args.new, folder, args.reuse)
            rows.append(row)
            print(f"{row['chunks']:>9} chunks: add {args.new} articles {row['add_seconds']:.2f} s "
                  f"({row['add_seconds_beyond_embedding']:.2f} s beyond embedding); BM25 stage "
                  f"{row['bm25_seconds_segments']:.3f} s with segments vs {row['bm25_seconds_reindex_all']:.2f} s "
                  f"re-indexing all; stages {row['add_stage_seconds']}; queries {row['query']}")
    base = rows[0]
    for row in rows[1:]:
        row["add_ratio_to_smallest"] = round(row["add_seconds_beyond_embedding"]
                                             / max(1e-9, base["add_seconds_beyond_embedding"]), 2)
        print(f"{row['chunks']} vs {base['chunks']} chunks: adding costs {row['add_ratio_to_smallest']}x")
    if args.json:
        write_json(args.json, {**conditions(load), "sizes": rows})
    if args.plot or args.json:
        _plot(rows, args.plot or args.json.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
