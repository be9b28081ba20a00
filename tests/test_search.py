"""Searcher.next_passages on the demo archive indexed with the real model: the passages of a hit's article that
come after it for a question."""

from __future__ import annotations

import dataclasses

import pytest

pytestmark = pytest.mark.slow

QUESTIONS = ["How much will Lumora's Halo home hub cost?", "Why did the dock workers strike?",
             "What did the mayoral candidates say about the tram depot?", "Where did the wildfire jump the highway?"]


def _hit_with_neighbours(engine):  # type: ignore[no-untyped-def]
    """A hit whose article has more passages, with its question and the question's vector."""
    for question in QUESTIONS:
        vector = engine.searcher.embed_query(question)
        for hit in engine.searcher.search(question, k=5):
            if engine.searcher.next_passages(hit, question, vector, 1):
                return hit, question, vector
    pytest.fail("no demo article with more than one passage among the hits")


def test_next_passages_are_the_article_s_other_passages_best_first(engine) -> None:  # type: ignore[no-untyped-def]
    hit, question, vector = _hit_with_neighbours(engine)
    passages = engine.searcher.next_passages(hit, question, vector, 1000)
    text = engine.reader.article(hit.article_id)["text"]
    assert passages and len({p.chunk_id for p in passages} | {hit.chunk_id}) == len(passages) + 1
    for passage in passages:
        assert passage.article_id == hit.article_id and passage.text == text[passage.start:passage.end]
        assert (passage.title, passage.date, passage.source) == (hit.title, hit.date, hit.source)
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= hit.score for s in scores)
    assert engine.searcher.next_passages(hit, question, vector, 2) == passages[:2]


def test_the_passage_the_question_matches_comes_first(engine) -> None:  # type: ignore[no-untyped-def]
    hit, question, vector = _hit_with_neighbours(engine)
    last = engine.searcher.next_passages(hit, question, vector, 1000)[-1]
    words = last.text.split()
    middle = " ".join(words[max(0, len(words) // 2 - 12):len(words) // 2 + 12])  # away from the overlap with neighbours
    [first] = engine.searcher.next_passages(hit, middle, engine.searcher.embed_query(middle), 1)
    assert first.chunk_id == last.chunk_id


def test_no_passages_without_a_vector_a_count_or_a_known_article(engine) -> None:  # type: ignore[no-untyped-def]
    hit, question, vector = _hit_with_neighbours(engine)
    assert engine.searcher.next_passages(hit, question, None, 3) == []
    assert engine.searcher.next_passages(hit, question, vector, 0) == []
    assert engine.searcher.next_passages(dataclasses.replace(hit, article_id="no-such-article"), question,
                                         vector, 3) == []


def _engine_with(demo_settings, dense_weight: str):  # type: ignore[no-untyped-def]
    from qa.engine import Engine
    from qa.settings import Settings

    return Engine.open(Settings.from_env({"NEWSQA_DENSE_WEIGHT": dense_weight}, index_dir=demo_settings.index_dir))


def test_newsqa_dense_weight_sets_the_article_level_cosine_weight(engine, demo_settings) -> None:  # type: ignore[no-untyped-def]
    from qa.search import Query

    lexical, dense = _engine_with(demo_settings, "0"), _engine_with(demo_settings, "1")
    assert engine.searcher.params.article_dense_weight == 0.3  # the default, as measured
    assert (lexical.searcher.params.article_dense_weight, dense.searcher.params.article_dense_weight) == (0.0, 1.0)
    questions = [*QUESTIONS, "What did the union say about pay?", "Which company makes smart thermostats?"]
    # the default article-level ranking (no actor named, no time or genre prior: the fused score only)
    rankings = {w: [[(h.article_id, h.score) for h in e.searcher.search(Query(q, k=5, time_aware=False,
                                                                              prefer_reports=False))]
                    for q in questions] for w, e in (("0", lexical), ("1", dense))}
    assert rankings["0"] != rankings["1"]
    assert any([a for a, _ in r0] != [a for a, _ in r1] for r0, r1 in zip(rankings["0"], rankings["1"], strict=True))
    # at weight 1 an article's score is its best chunk's cosine alone
    table = dense.reader.table
    question = "Why did the dock workers strike?"
    vector = dense.searcher.embed_query(question)
    for article_id, score in rankings["1"][QUESTIONS.index(question)]:
        chunks = table.article_chunks(table.article_position[article_id])
        assert score == pytest.approx(float(dense.reader.cosines(vector, chunks).max()))
