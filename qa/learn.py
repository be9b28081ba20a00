"""Fitting the answer model (qa.model) from training records (qa.train), and measuring it cross-validated.

Everything here is deterministic: the same records give the same model file, byte for byte. The figures are
measured on questions held out from the fit: leave-one-group-out, where a group is a RealTime QA week (with the
same questions asked a month early), a BBC section or one outlet's page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qa.answer import AnswerParams, choose_sentences, choose_short_answers
from qa.features import SEMANTIC_FEATURES, SENTENCE_FEATURES, semantic_features, shortlist_of
from qa.model import AnswerModel, LinearModel, Scorer, TreeModel
from qa.question import Question
from qa.spans import DYNAMIC_FEATURES, SPAN_FEATURES, STATIC_FEATURES, Span, dynamic_features

SHORTLIST = 6
SPAN_SENTENCES = AnswerParams().span_sentences
# Wrongly abstaining costs a user an answer the archive holds: the threshold is the highest under which at most
# this share of the training questions whose gold article ranked first (and says the answer) abstain.
MAX_WRONG_ABSTAIN = 0.01
RUNNER_UP = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# per model: "logistic" or "trees" (gradient-boosted)
KINDS = {"shortlist": "trees", "sentence": "trees", "span": "trees"}
TREES, DEPTH = 100, 3
C = 1.0  # inverse regularisation of the logistic regressions (scikit-learn's default)


def _fit(x: np.ndarray, y: np.ndarray, names: Sequence[str], kind: str = "logistic") -> Scorer:
    if kind == "trees" and len(set(y.tolist())) == 2:
        return _fit_trees(x, y, names)
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    if len(set(y.tolist())) < 2:
        return LinearModel(tuple(names), tuple(mean), tuple(scale), tuple(0.0 for _ in names), -5.0)
    clf = LogisticRegression(C=C, max_iter=2000, solver="lbfgs")
    clf.fit((x - mean) / scale, y)
    return LinearModel(tuple(names), tuple(float(v) for v in mean), tuple(float(v) for v in scale),
                       tuple(float(v) for v in clf.coef_[0]), float(clf.intercept_[0]))


def _fit_trees(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> TreeModel:
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=TREES, max_depth=DEPTH, learning_rate=0.1, min_samples_leaf=40,
                                         l2_regularization=1.0, early_stopping=False, random_state=0)
    clf.fit(x, y)
    trees = []
    for (predictor,) in clf._predictors:  # one tree per iteration for a binary problem
        nodes = predictor.nodes
        trees.append((tuple(int(v) for v in nodes["feature_idx"]), tuple(float(v) for v in nodes["num_threshold"]),
                      tuple(int(v) if not leaf else 0 for v, leaf in zip(nodes["left"], nodes["is_leaf"], strict=True)),
                      tuple(int(v) for v in nodes["right"]), tuple(float(v) for v in nodes["value"])))
    return TreeModel(tuple(names), float(np.ravel(clf._baseline_prediction)[0]), tuple(trees))


def _sentence_label(c: dict[str, Any], r: dict[str, Any]) -> int:
    return int(c["says"] != 0 and not c["wrong"] and (c["gold"] or not r["cite_gold"]))


@dataclass
class _Stage:
    shortlist: list[int]
    probability: np.ndarray
    spans: list[dict[str, Any]]
    span_x: np.ndarray


def _stage(r: dict[str, Any], first: Scorer | None, second: Scorer | None) -> _Stage:
    """The shortlist of a record by the first model, its probabilities by the second (when given), and its
    candidate spans with their features."""
    cands = r["candidates"]
    if not cands:
        return _Stage([], np.zeros(0), [], np.zeros((0, len(SPAN_FEATURES))))
    x = np.array([c["x"] for c in cands], dtype=np.float32)
    logits = first.logits(x) if first else np.zeros(len(cands))
    shortlist = shortlist_of(logits, x, SHORTLIST)
    if second is None:
        return _Stage(shortlist, np.zeros(len(shortlist)), [], np.zeros((0, len(SPAN_FEATURES))))
    probability = second.probabilities(_second_x(r, shortlist))
    best = [int(i) for i in np.argsort(-probability, kind="stable")[:SPAN_SENTENCES]]
    position = {c: i for i, c in enumerate(shortlist)}
    spans, rows = [], []
    for s in r["spans"]:
        i = position.get(s["s"])
        if i is None or i not in best:
            continue
        repeats = [position[j] for j in s["rep"] if j in position]
        spans.append({**s, "s": i})
        rows.append(np.concatenate([s["x"], dynamic_features(i, repeats, list(probability))]))
    return _Stage(shortlist, probability, spans,
                  np.array(rows, dtype=np.float32) if rows else np.zeros((0, len(SPAN_FEATURES))))


def _second_x(r: dict[str, Any], shortlist: list[int]) -> np.ndarray:
    cands = r["candidates"]
    x = np.array([cands[i]["x"] for i in shortlist], dtype=np.float32)
    return np.hstack([x, semantic_features(np.array([cands[i]["cos"] for i in shortlist]))])


def fit(records: Sequence[dict[str, Any]], info: dict[str, Any] | None = None) -> AnswerModel:
    """The three models and the thresholds from records (one BLAS thread: a multi-threaded sum may round
    differently from run to run, and the same records must give the same file)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _fit_all(records, info)


def _fit_all(records: Sequence[dict[str, Any]], info: dict[str, Any] | None) -> AnswerModel:
    names1 = SENTENCE_FEATURES
    x1 = np.array([c["x"] for r in records for c in r["candidates"]], dtype=np.float32)
    y1 = np.array([_sentence_label(c, r) for r in records for c in r["candidates"]])
    first = _fit(x1, y1, names1, KINDS["shortlist"])
    x2, y2 = [], []
    for r in records:
        shortlist = _stage(r, first, None).shortlist
        if shortlist:
            x2.append(_second_x(r, shortlist))
            y2 += [_sentence_label(r["candidates"][i], r) for i in shortlist]
    second = _fit(np.vstack(x2), np.array(y2), names1 + SEMANTIC_FEATURES, KINDS["sentence"])
    stages = [_stage(r, first, second) for r in records]
    x3 = [s.span_x for s in stages if len(s.span_x)]
    y3 = [int(sp["y"]) for s in stages for sp in s.spans]
    span = _fit(np.vstack(x3), np.array(y3), STATIC_FEATURES + DYNAMIC_FEATURES, KINDS["span"])
    model = AnswerModel(first, second, span, abstain_below=0.0, answer_below=0.0, shortlist_size=SHORTLIST,
                        info=info or {})
    abstain = _abstain_threshold(records, stages)
    answer = _answer_threshold(records, stages, span)
    model = AnswerModel(first, second, span, abstain, answer, SHORTLIST, info=model.info)
    return replace(model, runner_up=_runner_up(records, model, stages))


def _runner_up(records: Sequence[dict[str, Any]], model: AnswerModel, stages: Sequence[_Stage]) -> float:
    """The share of the lead sentence's probability that further sentences need: the one under which the
    training answers hold the most answers less wrong choices."""
    best, best_gain = RUNNER_UP[0], -1e9
    for value in RUNNER_UP:
        trial = replace(model, runner_up=value)
        results = [replay(r, trial, stage=s) for r, s in zip(records, stages, strict=True)]
        gain = sum(res["answered"] or (res["covered"] and not r["all"]) for r, res in zip(records, results,
                                                                                            strict=True))
        gain -= sum(res["wrong"] for res in results)
        if gain > best_gain:
            best, best_gain = value, gain
    return best


def _abstain_threshold(records: Sequence[dict[str, Any]], stages: Sequence[_Stage]) -> float:
    must_answer = sorted(float(s.probability.max()) for r, s in zip(records, stages, strict=True)
                         if r["covered"] and r["gold_rank"] == 1 and r["gold_says"] and len(s.probability))
    if not must_answer:
        return 0.0
    allowed = int(MAX_WRONG_ABSTAIN * len(must_answer))
    return must_answer[allowed] - 1e-6 if allowed < len(must_answer) else 0.0


def _answer_threshold(records: Sequence[dict[str, Any]], stages: Sequence[_Stage], span: Scorer) -> float:
    """The span probability above which a short answer is more often right than wrong."""
    scored = []
    for s in stages:
        if len(s.span_x):
            p = span.probabilities(s.span_x)
            best = int(np.argmax(p))
            scored.append((float(p[best]), bool(s.spans[best]["y"])))
    best_t, best_gain = 0.5, -1e9
    for t in sorted({round(p, 3) for p, _ in scored}):
        gain = sum(1 if y else -1 for p, y in scored if p >= t)
        if gain > best_gain:
            best_t, best_gain = t, gain
    return best_t


def replay(r: dict[str, Any], model: AnswerModel, params: AnswerParams | None = None,
           stage: _Stage | None = None) -> dict[str, Any]:
    """What the product's answer to a recorded question would be under model, judged against its labels (stage:
    the record's shortlist and spans under model, when already known)."""
    params = params or AnswerParams()
    s = stage or _stage(r, model.shortlist, model.sentence)
    out = {"abstained": True, "answered": False, "covered": False, "wrong": False, "short": None,
           "short_correct": False}
    if not s.shortlist or float(s.probability.max()) < model.abstain_below:
        return out
    cands = [r["candidates"][i] for i in s.shortlist]
    question = Question("", "", (), frozenset(), frozenset(), frozenset(), frozenset(),
                        tuple(frozenset(p) for p in r["parts"]))
    spans = [Span(sp["s"], 0, 0, sp["norm"], sp["label"]) for sp in s.spans]
    span_p = model.span.probabilities(s.span_x) if len(s.span_x) else np.zeros(0)
    picks = choose_short_answers(question, spans, span_p, model.answer_below)
    required = list(dict.fromkeys(spans[i].sentence for i in picks))
    chosen = choose_sentences(s.probability, [c["len"] for c in cands], [c["key"] for c in cands],
                              [c["title"] for c in cands], required, params, model.runner_up)
    says = 0
    for i, _ in chosen:
        says |= cands[i]["says"]
    full = (1 << r["positives"]) - 1
    cited_gold = any(cands[i]["gold"] for i, _ in chosen)
    out.update(abstained=False, covered=says != 0, wrong=any(cands[i]["wrong"] for i, _ in chosen))
    out["answered"] = (says == full if r["all"] else says != 0) and (cited_gold or not r["cite_gold"])
    if picks:
        out["short"] = True
        out["short_correct"] = bool(s.spans[picks[0]]["y"]) and (cands[spans[picks[0]].sentence]["gold"]
                                                                 or not r["cite_gold"])
    return out


def summarise(records: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]], key: str = "dataset"
              ) -> dict[str, dict[str, Any]]:
    """Figures per data set (or per outlet: key="outlet")."""
    groups: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for r, res in zip(records, results, strict=True):
        groups[r[key]].append((r, res))
    out = {}
    for name, pairs in sorted(groups.items()):
        n = len(pairs)
        answered_n = sum(1 for _, res in pairs if not res["abstained"])
        gold = [r for r, _ in pairs if r["has_gold"]]
        out[name] = {
            "questions": n,
            "answered": sum(res["answered"] for _, res in pairs) / n,
            "coverage": sum(res["covered"] for _, res in pairs) / n,
            "wrong_choice": sum(res["wrong"] for _, res in pairs) / n,
            "wrong_choice_of_answers": sum(res["wrong"] for _, res in pairs) / max(1, answered_n),
            "abstained": sum(res["abstained"] for _, res in pairs) / n,
            "wrongly_abstained": sum(1 for r, res in pairs if res["abstained"] and r["gold_rank"] == 1
                                     and r["gold_says"] and r["covered"]) / n,
            "short_correct": sum(res["short_correct"] for _, res in pairs) / n,
            "short_given": sum(1 for _, res in pairs if res["short"]) / n,
            "hits@1": sum(1 for r in gold if r["gold_rank"] == 1) / max(1, len(gold)),
            "hits@10": sum(1 for r in gold if r["gold_rank"] is not None) / max(1, len(gold)),
        }
    return out


def cross_validate(records: Sequence[dict[str, Any]], progress: Callable[[], None] | None = None,
                   params: AnswerParams | None = None) -> list[dict[str, Any]]:
    """Each record's replayed answer under a model fitted without its group (leave-one-group-out)."""
    results: list[dict[str, Any] | None] = [None] * len(records)
    for group in sorted({r["group"] for r in records}):
        train = [r for r in records if r["group"] != group]
        model = fit(train)
        for i, r in enumerate(records):
            if r["group"] == group:
                results[i] = replay(r, model, params)
        if progress:
            progress()
    return [r for r in results if r is not None]
