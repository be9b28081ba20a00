"""`newsqa train`: record training data for the answer model from labelled questions, and fit the model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from qa.settings import Settings

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "qa" / "answer_model.json"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("train", help="train the answer model from labelled questions",
                       description="Two steps. `features` records what the answer stage sees for labelled "
                                   "questions (RealTime QA or news-dev format) on an index: numbers only, no "
                                   "article text. `fit` fits the answer model from such files, deterministically, "
                                   "and reports its cross-validated figures.")
    steps = p.add_subparsers(dest="step", required=True, metavar="STEP")
    f = steps.add_parser("features", parents=[common], help="record training features of labelled questions")
    f.add_argument("--questions", required=True, type=Path, help="questions JSONL (RealTime QA or news-dev)")
    f.add_argument("--out", required=True, type=Path, help="records file to write (.jsonl.gz)")
    f.add_argument("--asked-early", type=int, metavar="DAYS", default=0,
                   help="ask each dated question DAYS before its date instead (nothing should answer it)")
    f.add_argument("--uncovered", action="store_true",
                   help="the questions are about another archive: nothing in this index should answer them")
    f.add_argument("--limit", type=int, default=0, help="only the first N questions")
    t = steps.add_parser("fit", parents=[common], help="fit the answer model from recorded features")
    t.add_argument("records", nargs="+", type=Path, help="records files (newsqa train features)")
    t.add_argument("--out", type=Path, default=DEFAULT_MODEL, help=f"model file (default {DEFAULT_MODEL})")
    t.add_argument("--json", type=Path, metavar="OUT", help="write the cross-validated figures as JSON to OUT")
    t.add_argument("--no-cv", action="store_true", help="skip cross-validation (fit only)")
    for parser in (f, t):
        parser.set_defaults(command="train")


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    return _features(args, settings) if args.step == "features" else _fit(args)


def _features(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from qa.engine import Engine
    from qa.labelled import asked_early, asked_elsewhere, load_labelled
    from qa.train import write_records

    if not args.questions.exists():
        print(f"newsqa train: {args.questions} not found (labelled data lives in ../shared/data beside the "
              "repository in CI; a plain clone does not have it)", file=sys.stderr)
        return 2
    items = load_labelled(args.questions)[: args.limit or None]
    if args.asked_early:
        items = asked_early(items, args.asked_early)
    if args.uncovered:
        items = asked_elsewhere(items, settings.index_dir.name)
    engine = Engine.open(settings)
    with tqdm(total=len(items), desc="recording", unit="q", disable=args.quiet) as bar:
        n = write_records(engine.answerer, items, args.out, progress=lambda: bar.update(1))
    print(f"newsqa train: {n} questions recorded in {args.out}", file=sys.stderr)
    return 0


def _fit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from qa.learn import cross_validate, fit, summarise
    from qa.train import data_version, read_records

    missing = [p for p in args.records if not p.exists()]
    if missing:
        print(f"newsqa train: not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    records = list(read_records(args.records))
    info: dict[str, Any] = {"training_data": [p.name for p in args.records], "data_version": data_version(args.records),
                            "questions": len(records)}
    if not args.no_cv:
        groups = len({r["group"] for r in records})
        with tqdm(total=groups, desc="cross-validating", unit="fold", disable=args.quiet) as bar:
            results = cross_validate(records, progress=lambda: bar.update(1))
        info["cross_validated"] = {k: {m: round(v, 4) for m, v in d.items()}
                                   for k, d in summarise(records, results).items()}
        by_outlet = summarise([r for r in records if r["dataset"] == "html"],
                              [res for r, res in zip(records, results, strict=True) if r["dataset"] == "html"],
                              key="outlet")
        print(_table(info["cross_validated"]))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({**info, "html_by_outlet": by_outlet}, indent=1, sort_keys=True) + "\n")
    model = fit(records, info)
    model.save(args.out)
    print(f"newsqa train: model written to {args.out} (abstain below {model.abstain_below:.3f}, short answer "
          f"below {model.answer_below:.3f})", file=sys.stderr)
    return 0


def _table(figures: dict[str, dict[str, float]]) -> str:
    cols = ["questions", "answered", "coverage", "wrong_choice", "abstained", "wrongly_abstained", "short_correct",
            "hits@1", "hits@10"]
    lines = ["data set".ljust(22) + "".join(c[:10].rjust(11) for c in cols)]
    for name, d in figures.items():
        lines.append(name.ljust(22) + "".join((f"{d[c]:.3f}" if c != "questions" else str(d[c])).rjust(11)
                                              for c in cols))
    return "\n".join(lines)
