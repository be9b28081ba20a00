"""Story grouping against labelled article pairs: pairwise precision and recall, and what grouping costs.

The labels (bench/data/story_pairs.jsonl: article ids, same story or not, a few words on why; no article text)
were made by reading both articles of pairs drawn from ../shared/data/realtimeqa (CNN, USA Today, The Week) and
../shared/data/news-dev/bbc, across the range of content similarity, with hard negatives (same actors, another
event; daily digests). The grouping runs from scratch over an index of each corpus, in a transaction that is
rolled back (the index is left as it was). Pairs with an even line number calibrate StoryParams; the odd ones
are reported apart as held out. bench/data/story_pairs-blind.jsonl was labelled by a second annotator who never saw
the grouper or its output, on other articles (same story = the same incident, trial, match or announcement and
its follow-ups within days). It has since been read for error classes and parameter sweeps; the figure to judge by is
bench/data/story_pairs-blind3.jsonl: 256 pairs labelled by a third annotator under the same blindness, drawn by a
fixed rule (2022 articles at most 7 days apart sharing one or more capitalised names in headline and lead, the
corpus's 30 commonest names left out, plus random pairs; BBC pairs of one section), conventions as above with
digests never one story with their items and one tournament run or award edition one story.

    .venv/bin/python bench/stories.py --index realtimeqa=DIR --index news-dev/bbc=DIR2 --json bench/results/stories.json
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, conditions, write_json  # noqa: E402
from index import store, stories  # noqa: E402

LABELS = ROOT / "bench" / "data" / "story_pairs.jsonl"
BLIND = ROOT / "bench" / "data" / "story_pairs-blind.jsonl"
BLIND3 = ROOT / "bench" / "data" / "story_pairs-blind3.jsonl"
# the same pairs labelled again by another annotator, blind to the first labels
BLIND3_SECOND = ROOT / "bench" / "data" / "story_pairs-blind3-second.jsonl"


def load_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    return [dict(json.loads(line), line=i) for i, line in enumerate(path.read_text().splitlines()) if line.strip()]


def group(index_dir: Path, params: stories.StoryParams) -> tuple[dict[str, str], dict[str, str | None], float]:
    """(article -> story, article -> original it copies, seconds) of a from-scratch grouping; nothing is kept."""
    conn = store.connect(index_dir)
    conn.isolation_level = None
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM meta WHERE key IN ('stories')")
        vectors = stories.article_vectors(conn)  # read first: the grouping's own cost is what is timed
        started = time.perf_counter()
        stories.update_stories(conn, [], vectors, params)
        seconds = time.perf_counter() - started
        rows = conn.execute("SELECT article_id, story_id, copy_of FROM story_members").fetchall()
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return {r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}, seconds


def update_cost(index_dir: Path, params: stories.StoryParams, n: int = 50,
                sample: set[str] | None = None) -> dict[str, Any]:
    """What grouping costs inside an ingest: every article (or those of `sample`, the others deleted first, as
    an ingest of just that file would hold) grouped in one update, then its n newest articles taken out and added
    back as a later update: its time, the stories it rewrote and the stored articles it read. Rolled back."""
    conn = store.connect(index_dir)
    conn.isolation_level = None
    try:
        conn.execute("BEGIN IMMEDIATE")
        if sample is not None:
            keep = sorted(sample)
            conn.execute("CREATE TEMP TABLE keep (id TEXT PRIMARY KEY)")
            conn.executemany("INSERT INTO keep VALUES (?)", [(i,) for i in keep])
            conn.execute("DELETE FROM articles WHERE id NOT IN (SELECT id FROM keep)")  # chunks, entities cascade
        conn.execute("DELETE FROM meta WHERE key IN ('stories')")
        vectors = stories.article_vectors(conn)
        newest = [r[0] for r in conn.execute("SELECT id FROM articles WHERE date IS NOT NULL ORDER BY date DESC, id "
                                             "LIMIT ?", (n,))]
        started = time.perf_counter()
        stories.update_stories(conn, [], vectors, params)
        whole = time.perf_counter() - started
        total = conn.execute("SELECT COUNT(*) FROM stories").fetchone()[0]
        stories.update_stories(conn, newest, {}, params)
        started = time.perf_counter()
        done = stories.update_stories(conn, [], {a: vectors[a] for a in newest}, params)
        seconds = time.perf_counter() - started
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return {"articles": len(vectors), "all_at_once_seconds": round(whole, 2), "stories": total,
            f"update_{n}_seconds": round(seconds, 3), f"update_{n}_stories_touched": len(done.touched | done.deleted),
            f"update_{n}_stored_articles_read": done.compared}


def score(pairs: list[dict[str, Any]], assigned: dict[str, str]) -> dict[str, Any]:
    missing = [p for p in pairs if p["a"] not in assigned or p["b"] not in assigned]  # not in the index: left out
    pairs = [p for p in pairs if p not in missing]
    tp = sum(1 for p in pairs if p["same"] and assigned[p["a"]] == assigned[p["b"]])
    fp = sum(1 for p in pairs if not p["same"] and assigned[p["a"]] == assigned[p["b"]])
    fn = sum(1 for p in pairs if p["same"] and assigned[p["a"]] != assigned[p["b"]])
    return {"pairs": len(pairs), "positives": sum(p["same"] for p in pairs),
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None, "true_pos": tp, "false_pos": fp,
            "false_neg": fn, "not_in_index": len(missing)}


def agreement(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> dict[str, Any]:
    """The second annotator's labels scored against the first as the grouper's are, and Cohen's kappa."""
    theirs = {(p["corpus"], p["a"], p["b"]): p["same"] for p in second}
    keys = [(p["same"], (p["corpus"], p["a"], p["b"])) for p in first]
    both = [(same, theirs[key]) for same, key in keys if key in theirs]
    tp = sum(1 for a, b in both if a and b)
    fp = sum(1 for a, b in both if b and not a)
    fn = sum(1 for a, b in both if a and not b)
    n = len(both)
    observed = sum(1 for a, b in both if a == b) / max(1, n)
    p1, p2 = sum(a for a, _ in both) / max(1, n), sum(b for _, b in both) / max(1, n)
    chance = p1 * p2 + (1 - p1) * (1 - p2)
    return {"pairs": n, "precision": round(tp / max(1, tp + fp), 3), "recall": round(tp / max(1, tp + fn), 3),
            "agreement": round(observed, 3), "kappa": round((observed - chance) / max(1e-9, 1 - chance), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", action="append", required=True, metavar="CORPUS=DIR",
                        help="an index of a labelled corpus (realtimeqa, news-dev/bbc); repeat for each")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a StoryParams field to vary (as users would through the same dataclass)")
    parser.add_argument("--sample", type=Path, metavar="JSONL",
                        help="also time grouping as an ingest of just these articles would (e.g. corpus-small.jsonl; "
                             "its articles must be in the first --index)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    params = stories.StoryParams()
    for item in args.set:
        name, value = item.split("=", 1)
        params = replace(params, **{name: type(getattr(params, name))(value)})
    labels = load_labels()
    assigned: dict[str, str] = {}
    per_corpus: dict[str, Any] = {}
    for item in args.index:
        corpus, path = item.split("=", 1)
        mine, copies, seconds = group(Path(path), params)
        assigned.update({f"{corpus}:{a}": s for a, s in mine.items()})
        conn = sqlite3.connect(Path(path) / store.DB_NAME)
        n_articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        conn.close()
        sizes = sorted((list(mine.values()).count(s) for s in set(mine.values())), reverse=True)
        per_corpus[corpus] = {"articles": n_articles, "stories": len(set(mine.values())),
                              "stories_of_2_or_more": sum(1 for s in sizes if s > 1), "largest_story": sizes[0],
                              "copies": sum(1 for c in copies.values() if c), "grouping_seconds": round(seconds, 2),
                              "ms_per_article": round(1000 * seconds / max(1, n_articles), 3)}
    first = Path(args.index[0].split("=", 1)[1])
    cost = {"whole_index": update_cost(first, params)}
    if args.sample:
        ids = {json.loads(line)["id"] for line in args.sample.read_text().splitlines() if line.strip()}
        cost["sample"] = {"file": args.sample.name, **update_cost(first, params, sample=ids)}
    def keyed_pairs(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [dict(p, a=f"{p['corpus']}:{p['a']}", b=f"{p['corpus']}:{p['b']}") for p in pairs
                if any(item.startswith(p["corpus"] + "=") for item in args.index)]

    keyed = keyed_pairs(labels)
    blind = keyed_pairs(load_labels(BLIND)) if BLIND.exists() else []
    blind3 = keyed_pairs(load_labels(BLIND3)) if BLIND3.exists() else []
    result = {
        "command": "bench/stories.py " + " ".join(f"--index {i.split('=')[0]}=DIR" for i in args.index)
                   + (f" --sample {args.sample.name}" if args.sample else ""),
        "params": asdict(params),
        "held_out_blind": score(blind3, assigned),
        "annotator_agreement": agreement(load_labels(BLIND3), load_labels(BLIND3_SECOND))
        if BLIND3_SECOND.exists() else None,
        "blind": score(blind, assigned),
        "all": score(keyed, assigned),
        "calibration_half": score([p for p in keyed if p["line"] % 2 == 0], assigned),
        "held_out_half": score([p for p in keyed if p["line"] % 2 == 1], assigned),
        "by_corpus": {c: score([p for p in keyed if p["corpus"] == c], assigned) for c in per_corpus},
        "grouping": per_corpus,
        "ingest_cost": cost,
        "conditions": conditions(load),
    }
    shown = ("held_out_blind", "annotator_agreement", "blind", "all", "calibration_half", "held_out_half",
             "by_corpus", "grouping", "ingest_cost")
    print(json.dumps({k: result[k] for k in shown},
                     indent=1))
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
