"""The learned answer model: three small scorers (gradient-boosted trees, or logistic regressions), stored as JSON
and applied with numpy.

- shortlist: scores every candidate sentence;
- sentence: rescores the shortlist, trained on such shortlists; its probability decides whether the archive
  answers at all (abstain_below) and which sentences are quoted;
- span: scores candidate short answers inside the best sentences (answer_below: no short answer).
The thresholds (abstain_below, answer_below, runner_up) are chosen on the training questions too.

Trained by `newsqa train fit` (qa.train) from features that `newsqa train features` extracts from labelled
questions; scikit-learn fits, the file holds the trees (or coefficients), so answering needs no scikit-learn.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "answer_model.json"
_NUMBERS = re.compile(r"\[\s*([-+0-9.,eE\s]+?)\s*\]")


@dataclass(frozen=True)
class LinearModel:
    """Standardised features -> logistic regression log-odds."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        z = (np.asarray(x, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LinearModel:
        return cls(tuple(d["features"]), tuple(d["mean"]), tuple(d["scale"]), tuple(d["coef"]), float(d["intercept"]))


@dataclass(frozen=True)
class TreeModel:
    """Gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier, exported) -> log-odds."""

    features: tuple[str, ...]
    baseline: float
    # per tree, per node: feature index, threshold (go left when x <= it), left child, right child, leaf value;
    # a leaf has left == 0
    trees: tuple[tuple[tuple[int, ...], tuple[float, ...], tuple[int, ...], tuple[int, ...], tuple[float, ...]], ...]

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, ...]:
        """The trees as (trees x nodes) arrays, padded: every tree is walked at once, one level a step."""
        width = max((len(t[0]) for t in self.trees), default=1)

        def stack(k: int, dtype: type) -> np.ndarray:
            out = np.zeros((len(self.trees), width), dtype=dtype)
            for i, tree in enumerate(self.trees):
                out[i, :len(tree[k])] = tree[k]
            return out

        return stack(0, np.int64), stack(1, np.float64), stack(2, np.int64), stack(3, np.int64), stack(4, np.float64)

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if not len(x) or not self.trees:
            return np.full(len(x), self.baseline)
        feature, threshold, left, right, value = self._arrays
        tree = np.arange(len(self.trees))[None, :]
        row = np.arange(len(x))[:, None]
        node = np.zeros((len(x), len(self.trees)), dtype=np.int64)
        while True:
            lo = left[tree, node]
            inner = lo != 0
            if not inner.any():
                break
            go_left = x[row, feature[tree, node]] <= threshold[tree, node]
            node = np.where(inner, np.where(go_left, lo, right[tree, node]), node)
        return self.baseline + value[tree, node].sum(axis=1)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "trees", "features": list(self.features), "baseline": round(self.baseline, 6),
                "trees": [[list(f), [round(v, 10) for v in t], list(lo), list(hi), [round(v, 6) for v in val]]
                          for f, t, lo, hi, val in self.trees]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TreeModel:
        return cls(tuple(d["features"]), float(d["baseline"]),
                   tuple((tuple(f), tuple(t), tuple(lo), tuple(hi), tuple(v)) for f, t, lo, hi, v in d["trees"]))


Scorer = LinearModel | TreeModel


def scorer_from_dict(d: dict[str, Any]) -> Scorer:
    return TreeModel.from_dict(d) if d.get("kind") == "trees" else LinearModel.from_dict(d)


@dataclass(frozen=True)
class AnswerModel:
    shortlist: Scorer
    sentence: Scorer
    span: Scorer
    abstain_below: float  # sentence probability of the best candidate under which the archive "does not say"
    answer_below: float  # span probability under which no short answer is given
    shortlist_size: int = 6
    runner_up: float = 0.6  # further sentences are quoted when at least this probable relative to the lead one
    info: dict[str, Any] = field(default_factory=dict)  # training data version, cross-validated figures

    def to_json(self) -> str:
        def rounded(m: Scorer) -> dict[str, Any]:
            if isinstance(m, TreeModel):
                return m.to_dict()
            d = asdict(m)
            for key in ("mean", "scale", "coef"):
                d[key] = [round(float(v), 5) for v in d[key]]
            d["intercept"] = round(float(d["intercept"]), 5)
            return d

        body = {"shortlist": rounded(self.shortlist), "sentence": rounded(self.sentence), "span": rounded(self.span),
                "abstain_below": round(self.abstain_below, 4), "answer_below": round(self.answer_below, 4),
                "shortlist_size": self.shortlist_size, "runner_up": self.runner_up, "info": self.info}
        # a list of numbers on one line: the trees would be tens of thousands of lines otherwise
        return _NUMBERS.sub(lambda m: "[" + "".join(m.group(1).split()) + "]",
                            json.dumps(body, indent=1, sort_keys=True)) + "\n"

    def save(self, path: Path) -> None:
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def from_json(cls, text: str) -> AnswerModel:
        d = json.loads(text)
        return cls(scorer_from_dict(d["shortlist"]), scorer_from_dict(d["sentence"]),
                   scorer_from_dict(d["span"]), float(d["abstain_below"]), float(d["answer_below"]),
                   int(d.get("shortlist_size", 6)), float(d.get("runner_up", 0.6)), d.get("info", {}))

    @classmethod
    def load(cls, path: Path | None = None) -> AnswerModel:
        """The model at path, or the one shipped in the package."""
        if path is not None:
            return cls.from_json(Path(path).read_text(encoding="utf-8"))
        return cls.from_json(resources.files("qa").joinpath(MODEL_FILE).read_text(encoding="utf-8"))
