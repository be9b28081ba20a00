"""Evaluation on RealTime QA-style data: article-level retrieval metrics and answer-level coverage.

Questions: {"id", "question", "date", "choices", "answer": [...], "gold_ids": [...]}. Retrieval metrics use the
questions with gold_ids: an article's rank is the rank of its first chunk among the results. Answer coverage is
the share of questions whose answer text contains a correct choice; wrong-choice rate the share containing a
wrong one (case, quotes, punctuation and spaces normalised).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qa.answer import Answerer
from qa.search import Query, Searcher

SYSTEMS: dict[str, dict[str, Any]] = {
    "bm25": {"mode": "bm25", "time_aware": False, "prefer_reports": False, "level": "chunk"},
    "dense": {"mode": "dense", "time_aware": False, "prefer_reports": False, "level": "chunk"},
    # the data README's baseline: BM25 over title + whole text, one document per article, as_of cut, recency
    "bm25+time": {"mode": "bm25", "time_aware": True, "prefer_reports": False, "level": "article",
                  "recency": "simple"},
    "full": {"mode": "hybrid", "time_aware": True, "level": "article"},
    # variants for choosing the fusion by measurement (newsqa eval --systems ...)
    "hybrid": {"mode": "hybrid", "time_aware": False},
    "bm25-articles": {"mode": "bm25", "time_aware": False, "level": "article"},
    "bm25+time-chunks": {"mode": "bm25", "time_aware": True, "level": "chunk"},
    "full-chunks": {"mode": "hybrid", "time_aware": True, "level": "chunk"},
    "full-rrf": {"mode": "hybrid", "time_aware": True, "fusion": "rrf", "level": "chunk"},
    "full-score": {"mode": "hybrid", "time_aware": True, "fusion": "score", "level": "chunk"},
}
RESULT_CHUNKS = 60  # enough chunks to rank 10 distinct articles


def load_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def normalize(text: str) -> str:
    """Lower case, every punctuation mark (quotes and apostrophes too) a space, spaces collapsed.

    An apostrophe is a word boundary like any other mark: a possessive still names its owner ("Google’s parent
    company" mentions Google). Deleting apostrophes instead made it the non-word "googles", and 5 of the 459 dev
    answers that name a correct choice only in the possessive counted as not covering it (2 more as not naming a
    wrong one)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def mentions(answer: str, choice: str) -> bool:
    needle = normalize(choice)
    return bool(needle) and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", normalize(answer)) is not None


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def article_ranking(hits: Sequence[Any]) -> list[str]:
    ranking: list[str] = []
    for hit in hits:
        for article_id in (hit.article_id, *hit.duplicates):
            if article_id not in ranking:
                ranking.append(article_id)
    return ranking


def retrieval_metrics(searcher: Searcher, questions: Sequence[dict[str, Any]], system: dict[str, Any],
                      as_of_question_date: bool, progress: Callable[[], None] | None = None) -> dict[str, float]:
    hits_at = {1: 0, 4: 0, 10: 0}
    reciprocal = 0.0
    latencies = []
    gold_questions = [q for q in questions if q.get("gold_ids")]
    for q in gold_questions:
        query = Query(q["question"], k=RESULT_CHUNKS, as_of=_as_of(q, as_of_question_date), **system)
        started = time.perf_counter()
        ranking = article_ranking(searcher.search(query))[:10]
        latencies.append(time.perf_counter() - started)
        ranks = [ranking.index(g) + 1 for g in q["gold_ids"] if g in ranking]
        best = min(ranks) if ranks else None
        for cut in hits_at:
            hits_at[cut] += int(best is not None and best <= cut)
        reciprocal += 1.0 / best if best else 0.0
        if progress:
            progress()
    n = max(1, len(gold_questions))
    return {"questions": len(gold_questions), "hits@1": hits_at[1] / n, "hits@4": hits_at[4] / n,
            "hits@10": hits_at[10] / n, "mrr@10": reciprocal / n,
            "latency_p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
            "latency_p95_ms": 1000 * _percentile(latencies, 0.95)}


def answer_metrics(answerer: Answerer, questions: Sequence[dict[str, Any]], system: dict[str, Any],
                   as_of_question_date: bool, k: int = 5, progress: Callable[[], None] | None = None,
                   examples: list[dict[str, Any]] | None = None) -> dict[str, float]:
    covered = wrong = abstained = 0
    latencies = []
    for q in questions:
        query = Query(q["question"], k=k, as_of=_as_of(q, as_of_question_date), **system)
        started = time.perf_counter()
        answer = answerer.answer(query)
        latencies.append(time.perf_counter() - started)
        right_choices = set(q.get("answer") or [])
        wrong_choices = [c for c in q.get("choices") or [] if c not in right_choices]
        is_covered = any(mentions(answer.answer, c) for c in right_choices)
        is_wrong = any(mentions(answer.answer, c) for c in wrong_choices)
        covered += is_covered
        wrong += is_wrong
        abstained += answer.abstained
        if examples is not None:
            examples.append({"id": q.get("id"), "question": q["question"], "answer": answer.answer,
                             "correct": sorted(right_choices), "covered": is_covered, "wrong": is_wrong})
        if progress:
            progress()
    n = max(1, len(questions))
    return {"questions": len(questions), "answer_coverage": covered / n, "wrong_choice_rate": wrong / n,
            "abstained": abstained / n, "latency_p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
            "latency_p95_ms": 1000 * _percentile(latencies, 0.95)}


def _as_of(q: dict[str, Any], enabled: bool) -> dt.date | None:
    if not enabled or not q.get("date"):
        return None
    return dt.date.fromisoformat(q["date"][:10])


def evaluate(searcher: Searcher, answerer: Answerer, questions: Sequence[dict[str, Any]], *,
             systems: Sequence[str] = tuple(SYSTEMS), as_of_question_date: bool = True,
             answers_for: Sequence[str] = ("full",),
             progress: Callable[[], None] | None = None, examples: list[dict[str, Any]] | None = None
             ) -> dict[str, Any]:
    """Metrics per system, all measured in this one run on the same index."""
    out: dict[str, Any] = {"questions": len(questions),
                           "gold_questions": sum(1 for q in questions if q.get("gold_ids")),
                           "as_of_question_date": as_of_question_date, "systems": {}}
    for name in systems:
        system = SYSTEMS[name]
        result: dict[str, Any] = {"retrieval": retrieval_metrics(searcher, questions, system, as_of_question_date,
                                                                 progress)}
        if name in answers_for:
            result["answers"] = answer_metrics(answerer, questions, system, as_of_question_date,
                                               progress=progress, examples=examples)
        out["systems"][name] = result
    return out


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{'system':<11}{'Hits@1':>8}{'Hits@4':>8}{'Hits@10':>9}{'MRR@10':>8}{'p50 ms':>8}{'p95 ms':>8}"
             f"{'coverage':>10}{'wrong':>7}{'ans p50':>9}"]
    for name, res in result["systems"].items():
        r = res["retrieval"]
        a = res.get("answers")
        tail = (f"{a['answer_coverage']:>10.3f}{a['wrong_choice_rate']:>7.3f}{a['latency_p50_ms']:>9.0f}" if a
                else f"{'':>10}{'':>7}{'':>9}")
        lines.append(f"{name:<11}{r['hits@1']:>8.3f}{r['hits@4']:>8.3f}{r['hits@10']:>9.3f}{r['mrr@10']:>8.3f}"
                     f"{r['latency_p50_ms']:>8.1f}{r['latency_p95_ms']:>8.1f}" + tail)
    lines.append(f"({result['gold_questions']} questions with gold articles for retrieval; {result['questions']} "
                 f"for answers; as of question date: {result['as_of_question_date']})")
    return "\n".join(lines)



def labelled_metrics(answerer: Answerer, items: Sequence[Any], k: int = 5,
                     progress: Callable[[], None] | None = None,
                     examples: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The product's answers to labelled questions (qa.labelled), judged per data set and per outlet: answered
    (every must string in the answer and the gold article cited; for choice questions, a correct choice named),
    short answer correct, wrongly abstained (gold article first and saying the answer), retrieval Hits@1/10."""
    from qa.labelled import contains_must, url_key
    from qa.labelled import mentions as says

    rows = []
    for item in items:
        query = Query(item.question, k=k, as_of=item.as_of)
        started = time.perf_counter()
        answer = answerer.answer(query)
        seconds = time.perf_counter() - started
        ranking = article_ranking(answerer.searcher.search(Query(item.question, k=RESULT_CHUNKS,
                                                                 as_of=item.as_of)))[:10]
        reader = answerer.searcher.reader
        gold_urls = {url_key(u) for u in item.gold_urls}
        gold = set(item.gold_ids) | {a for a in ranking if gold_urls and
                                     url_key((reader.article(a) or {}).get("url")) in gold_urls}
        test = contains_must if item.cite_gold else says
        found = [test(answer.answer, p) for p in item.positives]
        cited = {c.article_id for c in answer.citations}
        answered = (all(found) if item.all_positives else any(found)) and bool(found)
        answered = answered and (bool(cited & gold) or not item.cite_gold)
        short = answer.short_answer.text if answer.short_answer else ""
        short_right = bool(short) and any(test(short, p) or (says(p, short) and len(short) >= 0.5 * len(p))
                                          for p in item.positives)
        gold_text = " ".join(str((reader.article(a) or {}).get("text", "")) for a in ranking[:1] if a in gold)
        rows.append({"dataset": item.dataset, "outlet": item.outlet, "answered": answered,
                     "wrong": any(says(answer.answer, n) for n in item.negatives),
                     "abstained": answer.abstained, "short": bool(short), "short_right": short_right,
                     "wrongly_abstained": answer.abstained and item.covered and bool(gold_text)
                     and any(test(gold_text, p) for p in item.positives),
                     "has_gold": bool(item.gold_ids or item.gold_urls),
                     "rank": next((r for r, a in enumerate(ranking, 1) if a in gold), None), "seconds": seconds})
        if examples is not None:
            examples.append({"id": item.id, "question": item.question, "answer": answer.answer,
                             "short_answer": short, "answered": answered})
        if progress:
            progress()
    return {"by_dataset": _labelled_summary(rows, "dataset"), "by_outlet": _labelled_summary(rows, "outlet")}


def _labelled_summary(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    out = {}
    for name in sorted({r[key] for r in rows}):
        part = [r for r in rows if r[key] == name]
        n = len(part)
        gold = [r for r in part if r["has_gold"]]
        times = [r["seconds"] for r in part]
        out[name] = {"questions": n, "answered": sum(r["answered"] for r in part) / n,
                     "wrong_choice": sum(r["wrong"] for r in part) / n,
                     "short_correct": sum(r["short_right"] for r in part) / n,
                     "short_given": sum(r["short"] for r in part) / n,
                     "abstained": sum(r["abstained"] for r in part) / n,
                     "wrongly_abstained": sum(r["wrongly_abstained"] for r in part) / n,
                     "hits@1": sum(r["rank"] == 1 for r in gold) / max(1, len(gold)),
                     "hits@10": sum(r["rank"] is not None for r in gold) / max(1, len(gold)),
                     "answer_p50_ms": 1000 * statistics.median(times)}
    return out
