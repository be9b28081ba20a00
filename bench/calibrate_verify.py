"""Calibrates the support threshold of generated-sentence verification (qa.llm.verify.VerifyParams.threshold).

    .venv/bin/python bench/calibrate_verify.py --json bench/results/verify-calibration.json

On the bundled demo archive (indexed into a temporary folder, or --index), for each demo question, the passages a
generative answer would be given: a claim is scored against a passage's sentences (the best support score,
(cosine + share of the claim's content terms in the sentence) / 2) for
  supported claims: a passage sentence as written, and shortened to its first clause (at least six words), as a
  model restates a sentence; scored against its own passage;
  unsupported claims: a sentence of another question's first passage ("a claim from no passage"), and a sentence
  of another passage of the same question (a related story; some of these are in fact supported, as two reports
  of one event say the same thing).
Prints and writes, per threshold, the share of each kind that would be kept.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_json  # noqa: E402
from corpus.demo import demo_dir  # noqa: E402
from corpus.sentences import split_sentences  # noqa: E402
from qa.llm.verify import support_scores  # noqa: E402
from qa.search import Query  # noqa: E402
from qa.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text) if len(text[s:e]) >= 40]


def first_clause(sentence: str) -> str | None:
    head = re.split(r",|;| - | — ", sentence)[0].strip()
    return head.rstrip(".") + "." if len(head.split()) >= 6 and head != sentence else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="a demo index (default: build one in a temporary folder)")
    parser.add_argument("--questions", type=int, default=12, help="demo questions used (each is ~60 claims)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from qa.engine import Engine, ingest

    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or Path(tmp) / "index"
        settings = Settings.from_env({}, index_dir=index)
        if not (index / "manifest.json").exists():
            ingest(settings, [demo_dir()])
        engine = Engine.open(settings)
        questions = [json.loads(line) for line in (ROOT / "tests" / "data" / "demo_questions.jsonl").read_text()
                     .splitlines() if line.strip()][:args.questions]
        contexts = [engine.generator.prepare(Query(q["question"], k=settings.top_k)).passages for q in questions]
        embedder = engine.searcher.embedder
        scores: dict[str, list[float]] = {"verbatim": [], "first clause": [], "other question": [],
                                          "other passage, same question": []}
        for i, passages in enumerate(contexts):
            for p in passages[:3]:
                own = sentences(p.text)
                for s in own[:4]:
                    scores["verbatim"].append(float(support_scores(s, own, embedder).max()))
                    clause = first_clause(s)
                    if clause:
                        scores["first clause"].append(float(support_scores(clause, own, embedder).max()))
            first = sentences(passages[0].text) if passages else []
            other = contexts[(i + 1) % len(contexts)]
            for s in (sentences(other[0].text)[:4] if other else []):
                if first and other[0].hit.article_id != passages[0].hit.article_id:
                    scores["other question"].append(float(support_scores(s, first, embedder).max()))
            for p in passages[1:3]:
                if first and p.hit.article_id != passages[0].hit.article_id:
                    for s in sentences(p.text)[:4]:
                        scores["other passage, same question"].append(
                            float(support_scores(s, first, embedder).max()))
    result: dict[str, Any] = {
        "claims": {k: len(v) for k, v in scores.items()},
        "kept_at_threshold": {f"{t:.2f}": {k: round(sum(x >= t for x in v) / len(v), 3) if v else 0.0
                                            for k, v in scores.items()} for t in THRESHOLDS},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
