"""Render every bench/results/*.json into docs/benchmarks.md, so the figures in the docs cannot go stale.

    .venv/bin/python bench/render_docs.py            # writes docs/benchmarks.md
    .venv/bin/python bench/render_docs.py --check    # exit 1 if docs/benchmarks.md is not what it would write

One section per results file, in file-name order: a fixed description of what the benchmark measures and the
command that produces it (DESCRIPTIONS below), then the file's figures as markdown tables. The layout is generic:
a results file this script has never seen renders too (scalars as a key/value table, a dict or list of records as
a table with one row per record, sibling dicts with the same keys side by side). The output depends only on the
results files: no timestamp of its own, stable number formatting.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
OUT = ROOT / "docs" / "benchmarks.md"
WIDE = 9  # a record table with more columns than this and at most TALL rows is shown transposed
TALL = 4


class Description(NamedTuple):
    title: str
    measures: str
    command: str


DESCRIPTIONS: dict[str, Description] = {
    "actors-quotes": Description(
        "Quotes and actors, on hand-made labels",
        "Direct quotes of 21 dev articles from four outlets (CNN, USA Today, The Week, BBC), every quote and its "
        "speaker labelled by reading the articles (bench/data/quotes.jsonl: ids, offsets, speakers, hashes; no "
        "text): attribution precision and recall (a quote right when its span overlaps a labelled one by half "
        "and its speaker is the labelled one). Actor merging: labelled name pairs (bench/data/alias_pairs.jsonl), "
        "the share of the pairs the linker put in one actor that are one actor. Linking the dev sample (600 "
        "articles) as ingest does, its time, and the actor names that look like headline fragments or "
        "possessives (a crude pattern: titles of works such as 'Orange Is the New Black' match it too). The "
        "quote rules were written while reading these labels, so `quotes` is not held out; `quotes_held_out` is "
        "4 more articles labelled afterwards (their errors, read once, led to two general fixes: role titles "
        "such as 'Correspondent', a pronoun ending the words before a verb). `quotes_blind` and `actors_blind`: "
        "130 quotes of 19 other articles and 139 name pairs labelled by a second annotator who never saw the "
        "extractor, the linker or their output (bench/data/*-blind.jsonl); quotes_blind has since been read for "
        "error classes. `quotes_held_out_blind` is the quote figure to judge by: 187 quotes of 26 further articles "
        "(BBC, CNN, USA Today, The Week; every Nth article with at least 8 quotation marks) labelled by a third "
        "annotator under the same blindness (bench/data/quotes-blind2.jsonl). `quotes_dev3` and `quotes_dev4`: 276 and "
        "311 quotes of 38 articles each (BBC sections, CNN, USA Today, The Week, by a fixed rule) labelled by four "
        "more annotators under the same blindness to widen the development data; dev3 has been read for error "
        "classes, dev4 only measured in aggregate. `quotes_annotator_agreement`: blind2's articles labelled again by "
        "a fourth annotator blind to the first labels (quotes-blind2-second.jsonl), scored as the extractor is. "
        "A pair's names are merged when each "
        "resolves to the same actor in its labelled article, as a mention there would be linked.",
        ".venv/bin/python bench/actors_quotes.py"),
    "answers-cv": Description(
        "Answer model, cross-validated",
        "Leave-one-group-out cross-validation of the answer model (qa/answer_model.json): each group of "
        "questions (a week, a section, an outlet) is answered by a model fitted without it. Per data set and, "
        "for the HTML pages, per outlet: answered, answer coverage, short answer given and correct, wrongly "
        "abstained, retrieval hits.",
        "newsqa train fit training/*.jsonl.gz --json bench/results/answers-cv.json"),
    "batching": Description(
        "int8 encoding: batches vs one text at a time",
        "ONNX int8 encode of the same chunk texts (about 200 word pieces each) as batches of 32 and one at a "
        "time, back to back: the median speed ratio, and how far a text's vector moves when batched (dynamic "
        "int8 scales are per tensor, so a batched vector depends on its batchmates).",
        ".venv/bin/python bench/batching.py --json bench/results/batching.json"),
    "eval": Description(
        "Retrieval and answers on RealTime QA (whole corpus, torch)",
        "RealTime QA dev questions, each answered as of its own date, every system on the same index in one run. "
        "Retrieval (questions with a gold article): Hits@1/4/10 and MRR@10 of the gold article. Answers (all "
        "questions): coverage = share of answers that contain a correct choice; wrong-choice rate = share that "
        "contain a wrong one. Latencies are per question, in-process.",
        "newsqa eval --corpus ../shared/data/realtimeqa/corpus.jsonl "
        "--questions ../shared/data/realtimeqa/questions.jsonl --as-of-question-date --json bench/results/eval.json"),
    "eval-int8": Description(
        "Retrieval and answers on RealTime QA (whole corpus, onnx-int8)",
        "The same evaluation as `eval` on a fresh index built with the int8 ONNX backend: what quantisation "
        "costs on the whole archive.",
        "NEWSQA_BACKEND=onnx-int8 newsqa eval --index ../eval/realtimeqa-full-int8 "
        "--corpus ../shared/data/realtimeqa/corpus.jsonl --questions ../shared/data/realtimeqa/questions.jsonl "
        "--as-of-question-date --json bench/results/eval-int8.json"),
    "eval-milvus": Description(
        "Retrieval and answers on RealTime QA: the Milvus engine",
        "The full system of `eval` answering from Milvus Lite in process (NEWSQA_STORE=milvus), the same "
        "whole-corpus index published to it. Compare with `eval-milvus-embedded`, the embedded engine on the same "
        "index in the same session. Milvus scores BM25 for the top NEWSQA_MILVUS_BM25_TOP (1,000) chunks and "
        "articles a question's date allows, with its own document statistics, over the same stemmed terms.",
        "NEWSQA_STORE=milvus NEWSQA_MILVUS_URI=DIR/milvus.db newsqa eval --index DIR "
        "--corpus ../shared/data/realtimeqa/corpus.jsonl --questions ../shared/data/realtimeqa/questions.jsonl "
        "--as-of-question-date --systems full --json bench/results/eval-milvus.json"),
    "eval-milvus-embedded": Description(
        "Retrieval and answers on RealTime QA: the embedded engine, beside Milvus",
        "The full system of `eval` on the embedded engine, run just before `eval-milvus` on the same index.",
        "newsqa eval --index DIR --corpus ../shared/data/realtimeqa/corpus.jsonl "
        "--questions ../shared/data/realtimeqa/questions.jsonl --as-of-question-date --systems full "
        "--json bench/results/eval-milvus-embedded.json"),
    "eval-small-fp32": Description(
        "int8 vs fp32 retrieval on corpus-small: torch fp32",
        "Dense-only and full (chunk-level score fusion) retrieval on corpus-small (1,006 articles, every dev "
        "gold article), index and queries embedded with torch fp32. Compare with `eval-small-int8`.",
        "NEWSQA_BACKEND=torch NEWSQA_ONNX_QUERIES=0 newsqa eval --index DIR "
        "--corpus ../shared/data/realtimeqa/corpus-small.jsonl --questions ../shared/data/realtimeqa/questions.jsonl "
        "--as-of-question-date --systems dense,full-score --json bench/results/eval-small-fp32.json"),
    "eval-small-int8": Description(
        "int8 vs fp32 retrieval on corpus-small: onnx-int8",
        "The same as `eval-small-fp32` on an index built with the int8 ONNX backend.",
        "NEWSQA_BACKEND=onnx-int8 newsqa eval --index DIR --corpus ../shared/data/realtimeqa/corpus-small.jsonl "
        "--questions ../shared/data/realtimeqa/questions.jsonl --as-of-question-date --systems dense,full-score "
        "--json bench/results/eval-small-int8.json"),
    "feeds": Description(
        "A feed of 200 new items, polled into an empty index",
        "A loopback RSS feed (tests/feedsite.py) of 200 items, each linking to its article page, polled once by "
        "qa.feeds.poll with the model loaded: items per second end to end and the share of each stage (fetch: "
        "feed and pages; extract: trafilatura and cleaning; embed; index: chunking, SQLite, BM25, FAISS); then "
        "a question per item, its own article cited and its answer named; and an unchanged poll (one 304).",
        ".venv/bin/python bench/feeds.py --items 200 --json bench/results/feeds.json"),
    "fusion": Description(
        "Chunk-level fusion of BM25 and dense scores",
        "Retrieval metrics on the dev questions (as of each question's date) for reciprocal rank fusion and for "
        "score fusion at cosine weights 0.3-0.8, with BM25 scaled by a full-match score (score-query) or by the "
        "query's best hit (score-max). Chunk-level ranking only; the default article-level ranking has its own "
        "weights (qa/search.py).",
        ".venv/bin/python bench/fusion.py --index DIR --level chunk --json bench/results/fusion.json"),
    "generative": Description(
        "Generative answers checked sentence by sentence (RealTime QA dev subset, SmolLM2-135M)",
        "A subset of the RealTime QA dev questions (its size and spacing in `subset`), each answered as of its "
        "own date in generative mode through llama.cpp's OpenAI-compatible server running the packaged "
        "SmolLM2-135M-Instruct, on the whole-corpus index. Sentences: how many the model wrote and the share "
        "verification kept (numbers, dates and names found in the cited passages, and one of their sentences "
        "supporting it). Answers: coverage (names a correct choice) and wrong-choice rate of the model's raw "
        "text, of the verified answers, of what generative mode returns (verified, else extractive) and of the "
        "extractive answers of the same questions; latencies per question in-process. The tiny model answers "
        "poorly: what this measures is that nothing unsupported gets through.",
        ".venv/bin/python bench/generative.py --index ../eval/rtqa --n 20 --context-tokens 800 --timeout 90 "
        "--json bench/results/generative.json"),
    "ingest": Description(
        "Ingest throughput, torch fp32",
        "`newsqa ingest` of corpus-small into an empty index (read, clean, chunk, entities, embed, SQLite, BM25, "
        "FAISS; model load excluded) against the raw `SentenceTransformer.encode` of exactly the texts it "
        "embedded; time per stage; a re-ingest of the same file (nothing to embed).",
        ".venv/bin/python bench/ingest.py --backends torch --json bench/results/ingest.json"),
    "ingest-int8": Description(
        "Ingest throughput, onnx-int8, and txtai",
        "The same as `ingest` with the int8 ONNX backend, and txtai's `Embeddings.index` of the same texts "
        "(torch fp32, its defaults) for contrast.",
        ".venv/bin/python bench/ingest.py --backends onnx-int8 --json bench/results/ingest-int8.json"),
    "ingest-cost": Description(
        "What actors, quotes and stories cost at ingest",
        "Issue 24's bound: ingest within 1.25x of its time before actors, quotes and stories. `newsqa ingest` of "
        "corpus-small into an empty index by the code before that work (`baseline`, extracted with `git archive`) "
        "and by this tree, each a fresh CLI process from the same venv and environment, alternating ABBA over the "
        "rounds. Wall time (start-up and model load included) and its ratio per round; the in-process time (the "
        "ingest's own stages, one after another) and each stage's time; the rows of issue 24's tables in each "
        "index (none in the baseline's). onnx-int8, ONNX export cached by an untimed warm-up ingest; no vectors are "
        "cached, so every run embeds every chunk.",
        ".venv/bin/python bench/ingest_cost.py --repeats 2 --json bench/results/ingest-cost.json"),
    "ray-ingest": Description(
        "Ingest on Ray against a local ingest",
        "`newsqa ingest` and `newsqa ingest --ray local` of the same input, each a fresh CLI process into an empty "
        "index (model load and Ray's start-up included: the wall time a user sees), then both indexes compared "
        "(articles, chunk ids and texts, largest vector difference). On one machine both use the same cores: no "
        "speed-up is to be expected, and for a small input Ray's start-up makes it slower.",
        ".venv/bin/python bench/ray_ingest.py --corpus ../shared/data/realtimeqa/corpus-small.jsonl "
        "--json bench/results/ray-ingest.json"),
    "load": Description(
        "Load test",
        "A real server on the demo archive (rate limit off, loopback only); concurrent clients alternate "
        "`/api/ask` and `/api/search` for a fixed time. Any non-200 answer counts as an error.",
        ".venv/bin/python bench/load.py --demo --clients 16 --duration 30 --json bench/results/load.json"),
    "query": Description(
        "Query latency over HTTP, start-up and memory, against txtai",
        "A real `newsqa serve` on the whole-corpus index: time until it answers, server memory, and p50/p95/p99 "
        "latency of `/api/search` (k=10) and `/api/ask` for the dev questions (each as of its date) at each "
        "concurrency. txtai runs in-process on the same stored vectors: dense only (its default), and hybrid "
        "with content and the as-of date filter (what our search does), each with its own and with our query "
        "embedder; last, our search in-process.",
        ".venv/bin/python bench/query.py --index ../eval/realtimeqa-full-v3 --limit 100 --concurrency 1 8 "
        "--json bench/results/query.json"),
    "scale": Description(
        "Vector index by archive size",
        "Exact (`IDMap2,Flat`) against the approximate index newsqa switches to past NEWSQA_ANN_THRESHOLD "
        "(`IVF<n>,SQ8`, nprobe 32): build time, resident memory, single-query latency and recall@10, on the real "
        "whole-corpus vectors and on synthetic 384-d vectors with topic structure.",
        ".venv/bin/python bench/scale.py --real ../eval/realtimeqa-full --sizes 100000 1000000 "
        "--json bench/results/scale.json"),
    "scale-real": Description(
        "Vector index on the real vectors, with the as-of filter",
        "The real rows of `scale` on a quieter machine, plus the approximate index's recall under each dev "
        "question's as-of date filter.",
        ".venv/bin/python bench/scale.py --real ../eval/realtimeqa-full --sizes --json bench/results/scale-real.json"),
    "scale-update": Description(
        "The index as the archive grows",
        "Synthetic archives (Zipf text whose commonest ranks stand for stopwords, vectors around 5,000 topic "
        "centres, 100 articles a day, no entities) written through the real Writer (actors and stories included); "
        "for each size the time to add 50 articles by stage, the BM25 stage beside re-indexing every text, and "
        "queries in a fresh process: search and ask p50/p95, RSS, recall@10 of the vector search against exact. "
        "`query_nprobe_48`: the largest archive's queries again with the default NEWSQA_NPROBE (48).",
        ".venv/bin/python bench/scale_update.py --sizes 10000 100000 1000000 "
        "--json bench/results/scale-update.json"),
    "scale-milvus": Description(
        "The Milvus engine as the archive grows",
        "The synthetic archives of scale-update published to Milvus Lite (in process, one file each): the time "
        "to add 50 articles with the writer's publish to Milvus, search and ask p50/p95 answered from Milvus "
        "alone (40 queries), the query process's RSS (Milvus Lite runs inside it), and recall@10 (Milvus's FLAT "
        "index is exact).",
        ".venv/bin/python bench/scale_milvus.py --keep DIR --sizes 10000 100000 "
        "--json bench/results/scale-milvus.json  # after bench/scale_update.py --keep DIR"),
    "stories": Description(
        "Story grouping against labelled article pairs",
        "245 article pairs from RealTime QA (CNN, USA Today, The Week) and the BBC archive, labelled same story or "
        "not by reading both articles (bench/data/story_pairs.jsonl: ids only), with hard negatives (same actors, "
        "another event; daily digests). Pairwise precision and recall of the grouping made from scratch over an "
        "index of each corpus; even pairs calibrated StoryParams, odd ones are held out. Ingest cost: the grouping "
        "step's own time for a whole index and for the corpus-small articles alone, and for a later update of the "
        "50 newest articles: its time, the stories it rewrote and the stored articles it read. `blind`: 334 pairs "
        "of other articles labelled by a second annotator who never saw the grouper or its output "
        "(bench/data/story_pairs-blind.jsonl), since read for error classes and parameter sweeps (no setting of "
        "the link threshold, vector share or window reached precision 0.90 with recall 0.80 on both label sets). "
        "`held_out_blind` is the figure to judge by: 256 further pairs by a third annotator under the same "
        "blindness, drawn by a fixed rule (bench/data/story_pairs-blind3.jsonl). `annotator_agreement`: the same "
        "256 pairs labelled again by other annotators blind to the first labels (story_pairs-blind3-second.jsonl), "
        "scored against them as the grouping is: how far people agree, the ceiling of the figure.",
        ".venv/bin/python bench/stories.py --index realtimeqa=DIR --index news-dev/bbc=DIR2 "
        "--sample ../shared/data/realtimeqa/corpus-small.jsonl --json bench/results/stories.json"),
    "verify-calibration": Description(
        "Calibrating the support threshold of generated sentences",
        "On the demo archive, for demo questions: claims scored against the passages a generative answer would "
        "be given (support = (MiniLM cosine + share of the claim's content terms in the sentence) / 2, best "
        "sentence). Supported kinds: a passage sentence as written and cut to its first clause; unsupported "
        "kinds: a sentence from another question's passage, and from another passage of the same question (a "
        "related story, sometimes really supported). Per threshold, the share of each kind kept; "
        "VerifyParams.threshold is 0.6.",
        ".venv/bin/python bench/calibrate_verify.py --json bench/results/verify-calibration.json"),
    "update": Description(
        "Incremental update vs full rebuild",
        "A full build of corpus-small into an empty index, then adding 50 articles to the built index: both "
        "times, their ratio and the update's stages.",
        ".venv/bin/python bench/update.py --backend onnx-int8 --json bench/results/update.json"),
}

HEADER = """# Benchmarks

Generated by `bench/render_docs.py` from `bench/results/*.json`; do not edit by hand. After a benchmark writes
new results, run `.venv/bin/python bench/render_docs.py` (a test checks that this file is current).

Figures were taken on a shared 2-core machine; each file records its date and, where the benchmark measured it,
the machine's load average before and after. Compare rows within one file, not across files. The evaluation data
(`../shared/data/`) lives beside the repository; a plain clone does not have it.
"""


# -- formatting ------------------------------------------------------------------------------------------

def fmt(value: Any) -> str:
    """One cell: stable formatting whatever the platform."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        size = abs(value)
        if value == 0:
            return "0"
        if size >= 1:  # trailing zeros dropped: 17.1, not 17.10
            text = f"{value:,.1f}" if size >= 100 else f"{value:.2f}"
            return text.rstrip("0").rstrip(".")
        if size >= 0.01:  # shares and metrics keep three decimals, as they are usually quoted
            return f"{value:.3f}"
        return f"{value:.2g}"
    if isinstance(value, list) and is_scalar(value):
        return " / ".join(fmt(v) for v in value)
    if isinstance(value, dict | list):  # deeper structure inside a cell: shown as compact JSON
        return fmt(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return str(value).strip().replace("|", "\\|").replace("\n", " ")


def is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list) or (
        isinstance(value, list) and all(not isinstance(v, dict | list) for v in value))


def is_records(value: Any) -> bool:
    """A dict of dicts or a list of dicts: one table row per entry."""
    if isinstance(value, dict):
        return bool(value) and all(isinstance(v, dict) for v in value.values())
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def table(header: list[str], rows: list[list[str]]) -> str:
    numeric = [all(_looks_numeric(r[i]) for r in rows if r[i]) and any(r[i] for r in rows)
               for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if n and i else "---" for i, n in enumerate(numeric)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _looks_numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "", 1).replace("-", "", 1).replace(" / ", "").isdigit()


# -- layout ----------------------------------------------------------------------------------------------

def key_values(obj: dict[str, Any]) -> str:
    return table(["", "value"], [[f"`{k}`", fmt(v)] for k, v in obj.items()])


def records_table(caption: str, records: list[tuple[str, dict[str, Any]]], label: str | None = None) -> list[str]:
    """One row per record (scalar fields as columns); each nested dict field as a table of its own, its rows
    labelled like the records' own."""
    label = caption.rsplit(" / ", 1)[-1] if label is None else label
    columns: list[str] = []
    nested: list[str] = []
    for _, record in records:
        for key, value in record.items():
            if key not in columns and key not in nested:
                (columns if is_scalar(value) else nested).append(key)
    text_columns = [c for c in columns if all(isinstance(r.get(c), str) for _, r in records if c in r)]
    columns = text_columns + [c for c in columns if c not in text_columns]
    labelled = any(name for name, _ in records)
    names = [name or (fmt(r[text_columns[0]]) if text_columns and text_columns[0] in r else f"#{i + 1}")
             for i, (name, r) in enumerate(records)]
    out: list[str] = []
    if columns:
        if caption:
            out.append(f"**{caption}**")
        if len(columns) > WIDE and len(records) <= TALL:
            rows = [[f"`{c}`", *(fmt(r.get(c)) for _, r in records)] for c in columns]
            out.append(table([label, *names], rows))
        else:
            head = [label] if labelled else []
            rows = [([names[i]] if labelled else []) + [fmt(r.get(c)) for c in columns]
                    for i, (_, r) in enumerate(records)]
            out.append(table(head + [f"`{c}`" for c in columns], rows))
    for key in nested:
        inner = [(names[i], r[key]) for i, (_, r) in enumerate(records) if key in r]
        sub = f"{caption} / {key}" if caption else key
        if all(isinstance(v, dict) for _, v in inner):
            out += records_table(sub, inner, label)
        else:
            out += [f"**{sub}**", key_values({name: v for name, v in inner})]
    return out


def blocks(obj: Any, path: str = "") -> list[str]:
    """Markdown blocks (tables, each nested part with a bold caption) for any JSON value."""
    if is_records(obj):
        items = list(obj.items()) if isinstance(obj, dict) else [("", r) for r in obj]
        return records_table(path, items)
    if not isinstance(obj, dict):
        return [f"**{path}**" if path else "", fmt(obj)]
    out: list[str] = []
    scalars = {k: v for k, v in obj.items() if is_scalar(v)}
    if scalars:
        if path:
            out.append(f"**{path}**")
        out.append(key_values(scalars))
    rest = [(k, v) for k, v in obj.items() if not is_scalar(v)]
    done: set[str] = set()
    for key, value in rest:
        if key in done:
            continue
        leaf = isinstance(value, dict) and all(is_scalar(v) for v in value.values())
        if leaf:
            # sibling dicts with the same keys side by side ("stage_seconds" and "stage_share")
            same = [(k, v) for k, v in rest if k not in done and isinstance(v, dict) and list(v) == list(value)
                    and all(is_scalar(x) for x in v.values())]
            done.update(k for k, _ in same)
            out.append("**" + " · ".join(f"{path} / {k}" if path else k for k, _ in same) + "**")
            out.append(table(["", *(f"`{k}`" for k, _ in same)],
                             [[f"`{field}`", *(fmt(v[field]) for _, v in same)] for field in value]))
            continue
        done.add(key)
        out += blocks(value, f"{path} / {key}" if path else key)
    return out


def section(name: str, data: Any) -> str:
    known = DESCRIPTIONS.get(name)
    parts = [f"## {known.title if known else name}", f"`bench/results/{name}.json`"]
    if known:
        parts += [known.measures, f"    {known.command}"]
    else:
        parts.append("(No description yet: add one to DESCRIPTIONS in bench/render_docs.py.)")
    parts += blocks(data)
    return "\n\n".join(parts)


def render(results: Path = RESULTS) -> str:
    """The whole of docs/benchmarks.md for the results files in `results`."""
    files = sorted(results.glob("*.json"), key=lambda p: p.stem)
    contents = ["- [" + (DESCRIPTIONS[p.stem].title if p.stem in DESCRIPTIONS else p.stem) + "](#"
                + _anchor(DESCRIPTIONS[p.stem].title if p.stem in DESCRIPTIONS else p.stem) + ")" for p in files]
    sections = [section(p.stem, json.loads(p.read_text(encoding="utf-8"))) for p in files]
    return "\n\n".join([HEADER.rstrip("\n"), "\n".join(contents), *sections]) + "\n"


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not current; write nothing")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=OUT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    text = render(args.results)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != text:
            what = "is missing" if current is None else "is out of date"
            print(f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} {what}: "
                  "run `.venv/bin/python bench/render_docs.py` and commit the result", file=sys.stderr)
            return 1
        print(f"{args.out.name} is current")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
