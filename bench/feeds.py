"""A feed of N new items on loopback, polled into an empty index: items per second end to end, and the share
spent fetching (feed and pages), extracting (trafilatura, cleaning), embedding and indexing (chunking, SQLite,
BM25, FAISS); then every item is asked about: its article should be cited (the answer naming the right person
is counted too; names made of the same syllables sometimes read alike to the models, which is not what this
measures: every item must be stored as its page's article).

    .venv/bin/python bench/feeds.py [--items 200] [--backend torch|onnx-int8] [--json bench/results/feeds.json]

The pages are served by tests/feedsite.py (a ThreadingHTTPServer on 127.0.0.1), so fetching costs what the
client and the loopback cost, not a network. Model load is excluded (the service has its model loaded).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set

SYLLABLES = ["ka", "lo", "mer", "tis", "va", "dun", "hel", "or", "bri", "san", "tu", "vek", "mo", "ria", "quen",
             "zap", "gro", "fen", "wick", "lum", "ash", "pol", "dre", "ix", "nor", "bex", "cal", "ys", "thorn", "gul"]


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx-int8"])
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "feeds.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    from qa.engine import Engine, embedder_factory
    from qa.feeds import poll
    from qa.search import Query
    from qa.settings import Settings
    from tests.feedsite import Route, Site, rss

    rng = random.Random(22)
    with tempfile.TemporaryDirectory() as tmp, Site() as site:
        settings = Settings.from_env({"NEWSQA_BACKEND": args.backend}, index_dir=Path(tmp) / "index")
        facts, items, used = [], [], set()
        for i in range(args.items):
            town, person = "", ""
            # each question has one right article; names that share a beginning read alike to the models
            while not town or town in used or person in used or town[:5] in used or person[:5] in used:
                town, person = f"{_name(rng, 3)}haven", f"{_name(rng, 2)} {_name(rng, 3)}"
            used.update((town, person, town[:5], person[:5]))
            paragraphs = [f"{person} was named harbour master of {town} on Monday, the port authority said.",
                          f"The harbour of {town} handles about {rng.randint(2, 90)} ships a week and employs "
                          f"{rng.randint(40, 900)} people, most of them in cargo handling.",
                          f"{person} said the first task would be to repair the northern breakwater, damaged in "
                          f"the storms of last winter, and to dredge the main channel.",
                          "Local fishing crews welcomed the appointment but asked for lower mooring fees."]
            url = site.page(f"/news/{i}.html", f"{person} named harbour master of {town}", paragraphs)
            items.append({"guid": f"bench-{i}", "link": url, "title": f"New harbour master for {town}",
                          "description": paragraphs[0], "date": "Tue, 01 Dec 2026 08:00:00 GMT"})
            facts.append((town, person, url))
        site.routes["/rss.xml"] = Route(rss("Bench", items), content_type="application/rss+xml", conditional=True)

        from index import feeds
        from qa.feeds import open_store

        conn = open_store(settings)
        feeds.add_feed(conn, site.url + "/rss.xml", 900)
        conn.close()
        started = time.perf_counter()
        embedder = embedder_factory(settings, args.backend)()
        model_load = time.perf_counter() - started
        embedder.encode(["warm up"])

        started = time.perf_counter()
        report = poll(settings, get_embedder=lambda: embedder)
        total = time.perf_counter() - started
        (result,) = report.feeds
        assert result.status == "ok" and len(result.new) == args.items, result.to_dict()
        split = dict(result.seconds)
        split["other"] = max(total - sum(split.values()), 0.0)

        started = time.perf_counter()
        poll(settings, get_embedder=lambda: embedder)
        unchanged = time.perf_counter() - started

        engine = Engine.open(settings, get_embedder=lambda: embedder)
        stored = {r[0] for r in engine.reader.conn.execute("SELECT url FROM articles")}
        assert stored == {url for _, _, url in facts}, "every item is stored as its page's article"
        missed, uncited = [], []
        for town, person, url in facts:
            answer = engine.answerer.answer(Query(f"Who was named harbour master of {town}?", k=5))
            if url not in {c.url for c in answer.citations}:
                uncited.append(town)
            if person not in answer.answer:
                missed.append((town, person))
        answered = args.items - len(missed)
        for town, person in missed[:10]:
            print(f"not answered: who was named harbour master of {town}? ({person})")

    figures = {
        "items": args.items, "backend": args.backend, "seconds": round(total, 2),
        "items_per_second": round(args.items / total, 1),
        "share": {stage: round(seconds / total, 3) for stage, seconds in split.items()},
        "seconds_by_stage": {stage: round(seconds, 2) for stage, seconds in split.items()},
        "answered": answered, "answered_share": round(answered / args.items, 3),
        "stored": len(stored), "cited_own_article": args.items - len(uncited),
        "unchanged_poll_seconds": round(unchanged, 3), "model_load_seconds_excluded": round(model_load, 1),
        **conditions(load_before),
    }
    print(f"{args.items} items in {total:.1f} s: {figures['items_per_second']} items/s; share "
          + ", ".join(f"{k} {v:.0%}" for k, v in figures["share"].items())
          + f"; answered {answered}/{args.items}, own article cited {args.items - len(uncited)}/{args.items}; "
          f"an unchanged poll (304) took {unchanged * 1000:.0f} ms")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
