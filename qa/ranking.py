"""The values that tune retrieval, as one frozen RankingParams passed to the Searcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from corpus.article import is_commentary_or_digest

Fusion = Literal["rrf", "score"]
BM25Scale = Literal["max", "query"]


@dataclass(frozen=True)
class RankingParams:
    """Ranking parameters; the defaults are the measured ones.

    The article-level weights (article_dense_weight, passage_dense_weight, chunk_bm25_share, recency_amplitude,
    recency_grace, commentary_prior) were chosen together on the RealTime QA dev questions (149 with a gold
    article) and checked by leave-one-week-out cross-validation (16 weeks): over cosine weight 0.3-0.5 x passage
    BM25 share 0 / 0.2 x recency amplitude 3 / 4 x grace 0-2 days x commentary prior 0.6 / 0.8, every fold chose
    these values, held-out MRR@10 0.854 (0.820 with the weights before). Each neighbour (one change) scored lower.
    The commentary prior: opinion, analysis, explainers and digests filled 134 places of the dev top 10s and were
    never gold; a discount of 0.9 already helped, and with the recency prior 0.6 did best (0.8: -0.004).
    """

    candidates: int = 100  # per retriever, before fusion
    fusion: Fusion = "score"  # "score": weighted scores (articles ranked at article level); "rrf": chunk-level RRF
    rrf_k: int = 60  # reciprocal rank fusion: 1 / (rrf_k + rank)
    bm25_scale: BM25Scale = "max"  # chunk-level BM25 over the query's best hit ("max", measured best) or a full match
    chunk_dense_weight: float = 0.7  # chunk-level score fusion: weight of the cosine, 1 - it for the scaled BM25
    article_dense_weight: float = 0.3  # article level: weight of the best chunk's cosine in the article's score
    passage_dense_weight: float = 0.5  # ... and in choosing the passage that represents an article (answers quote it)
    # the BM25 part of an article's score: mostly the whole article's (which story it is), this share from its best
    # passage's (how closely one passage matches: a report states the asked-about facts together)
    chunk_bm25_share: float = 0.2
    # recency: a report from just before as_of scores up to 1 + amplitude times an old one, fading over the
    # question's scale (30 days; 14 for "this week"); the last recency_grace days count as equally fresh, because a
    # question is asked a day or two after the report it is about
    recency_amplitude: float = 4.0
    recency_grace: int = 2
    actor_prior: float = 1.1  # score factor of a passage naming an actor the question names
    near_duplicate: float = 0.95  # cosine between passages of two articles above which they are copies of one report
    # score factor of an article whose headline marks it as opinion, analysis, an explainer, a live page, a recap,
    # a gallery or a digest (corpus.article.is_commentary_or_digest): a question about an event is best answered
    # by the report of it, and a digest's one paragraph on every story matches many questions
    commentary_prior: float = 0.6

    def __post_init__(self) -> None:
        for name in ("chunk_dense_weight", "article_dense_weight", "passage_dense_weight", "chunk_bm25_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"RankingParams.{name} must be between 0 and 1, got {getattr(self, name)!r}")
        if self.fusion not in ("score", "rrf"):
            raise ValueError(f"RankingParams.fusion must be 'score' or 'rrf', got {self.fusion!r}")


def commentary_flags(titles: list[str | None]) -> np.ndarray:
    """Per article (by its headline): True where it is commentary, an explainer or a digest, not a report."""
    return np.array([is_commentary_or_digest(title) for title in titles], dtype=bool)
