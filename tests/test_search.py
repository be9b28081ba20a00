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
