"""`newsqa eval`: retrieval and answer metrics on labelled questions (RealTime QA or news-dev format)."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from qa.settings import Settings

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("eval", parents=[common], help="retrieval and answer metrics on labelled questions",
                       description="Build (or reuse) an index of --corpus, then, for RealTime QA questions, report "
                                   "Hits@1/4/10 and MRR@10 for BM25, dense, BM25+time and the full system, and answer "
                                   "coverage / wrong-choice rate, all in one run; for news-dev questions (must "
                                   "strings and a gold article or page), report per data set and per outlet: "
                                   "answered, short answer correct, wrongly abstained, Hits@1/10.")
    p.add_argument("--corpus", required=True, help="articles (any ingest format), e.g. realtimeqa/corpus.jsonl")
    p.add_argument("--questions", required=True, help="questions JSONL: RealTime QA (id, question, date, choices, "
                                                      "answer, gold_ids) or news-dev (id, question, must, article_id "
                                                      "or file)")
    p.add_argument("--as-of-question-date", action="store_true",
                   help="answer each question as of its date (articles published later are excluded)")
    p.add_argument("--systems", default=",".join(["bm25", "dense", "bm25+time", "full"]),
                   help="comma-separated subset of: bm25, dense, bm25+time, full")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument("--json", type=str, metavar="OUT", help="also write the metrics as JSON to OUT")
    p.add_argument("--examples", type=str, metavar="OUT", help="write every answer of the full system to OUT")


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from qa.engine import Engine, ingest
    from qa.evaluate import SYSTEMS, evaluate, format_table, load_questions

    corpus, questions_path = Path(args.corpus), Path(args.questions)
    for path in (corpus, questions_path):
        if not path.exists():
            print(f"newsqa eval: {path} not found (the RealTime QA data lives in ../shared/data/realtimeqa beside "
                  "the repository in CI; a plain clone does not have it)", file=sys.stderr)
            return EXIT_USAGE
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        print(f"newsqa eval: unknown systems {unknown}; choose from {list(SYSTEMS)}", file=sys.stderr)
        return EXIT_USAGE
    if args.index is None and not os.environ.get("NEWSQA_INDEX"):
        digest = hashlib.sha1(f"{corpus.resolve()}:{corpus.stat().st_size}".encode()).hexdigest()[:8]
        settings = replace(settings, index_dir=settings.index_dir.parent / "eval" / f"{corpus.stem}-{digest}")
    print(f"newsqa eval: index {settings.index_dir} (built on first use, reused after)", file=sys.stderr)
    report = ingest(settings, [corpus], progress=not args.quiet)
    if report.embedded:
        print(f"newsqa eval: indexed {len(report.new) + len(report.updated)} articles", file=sys.stderr)
    engine = Engine.open(settings)
    if _is_labelled(questions_path):
        return _eval_labelled(args, engine, questions_path)
    questions = load_questions(questions_path)[: args.limit or None]
    steps = sum(len([q for q in questions if q.get("gold_ids")]) for _ in systems) + len(questions)
    examples: list[dict[str, Any]] = []
    with tqdm(total=steps, desc="evaluating", disable=args.quiet, unit="q") as bar:
        result = evaluate(engine.searcher, engine.answerer, questions, systems=systems,
                          as_of_question_date=args.as_of_question_date, progress=lambda: bar.update(1),
                          examples=examples)
    result.update({"corpus": str(corpus), "questions_file": str(questions_path),
                   "articles": engine.reader.manifest.articles, "chunks": engine.reader.manifest.chunks,
                   "model": engine.reader.manifest.model,
                   "date": dt.date.today().isoformat()})
    print(format_table(result))
    _write_eval(args, result, examples)
    return EXIT_OK


def _write_eval(args: argparse.Namespace, result: dict[str, Any], examples: list[dict[str, Any]]) -> None:
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.examples:
        Path(args.examples).write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples))


def _is_labelled(path: Path) -> bool:
    """news-dev questions (must strings and a gold article or page) rather than RealTime QA's choices."""
    with path.open(encoding="utf-8") as f:
        first = next((line for line in f if line.strip()), "{}")
    return "must" in json.loads(first)


def _eval_labelled(args: argparse.Namespace, engine: Any, questions_path: Path) -> int:
    from tqdm import tqdm

    from qa.evaluate import labelled_metrics
    from qa.labelled import load_labelled

    items = load_labelled(questions_path)[: args.limit or None]
    examples: list[dict[str, Any]] = []
    with tqdm(total=len(items), desc="evaluating", disable=args.quiet, unit="q") as bar:
        result = labelled_metrics(engine.answerer, items, progress=lambda: bar.update(1), examples=examples)
    cols = ["questions", "answered", "short_correct", "abstained", "wrongly_abstained", "hits@1", "hits@10",
            "answer_p50_ms"]
    for part in ("by_dataset", "by_outlet"):
        print(f"{part.replace('_', ' '):<40}" + "".join(c[:12].rjust(13) for c in cols))
        for name, d in result[part].items():
            print(f"{name[:40]:<40}" + "".join((f"{d[c]:.3f}" if isinstance(d[c], float) else str(d[c])).rjust(13)
                                               for c in cols))
    result.update({"corpus": str(args.corpus), "questions_file": str(questions_path),
                   "articles": engine.reader.manifest.articles, "model": engine.reader.manifest.model,
                   "answer_model": engine.answerer.model.info.get("data_version")})
    _write_eval(args, result, examples)
    return EXIT_OK
