"""End to end over the demo archive with the real model: our own questions and the facts they expect."""

from __future__ import annotations

import json

import pytest

from qa.answer import NO_ANSWER
from tests.conftest import DATA

QUESTIONS = [json.loads(line) for line in (DATA / "demo_questions.jsonl").read_text().splitlines() if line]
ANSWERABLE = [q for q in QUESTIONS if q["expected"]]
UNANSWERABLE = [q for q in QUESTIONS if not q["expected"]]


def _check_citations(engine, answer) -> None:  # type: ignore[no-untyped-def]
    for citation in answer.citations:
        article = engine.reader.article(citation.article_id)
        assert article["text"][citation.start:citation.end] == citation.quote
        assert citation.title == article["title"]
        assert f"[{citation.n}]" in answer.answer


def test_demo_questions_answered_with_exact_citations(engine) -> None:  # type: ignore[no-untyped-def]
    assert len(ANSWERABLE) >= 20
    wrong = []
    for q in ANSWERABLE:
        answer = engine.answerer.answer(q["question"])
        _check_citations(engine, answer)
        cited = [c for c in answer.citations if q["expected"] in c.quote]
        if not (q["expected"] in answer.answer and any(c.title == q["title"] for c in cited)):
            wrong.append(f"{q['question']} -> expected {q['expected']!r}, got {answer.answer[:160]!r}")
    right = len(ANSWERABLE) - len(wrong)
    print(f"\ndemo questions answered: {right}/{len(ANSWERABLE)}")
    # 60/74 when written (2026-11-25); fail on a real regression, not on one question moving.
    assert right / len(ANSWERABLE) >= 0.75, "\n".join(wrong)


@pytest.mark.parametrize("q", ANSWERABLE[:20], ids=lambda q: q["question"][:50])
def test_answers_quote_the_articles_they_cite(engine, q) -> None:  # type: ignore[no-untyped-def]
    answer = engine.answerer.answer(q["question"])
    assert not answer.abstained and answer.citations
    _check_citations(engine, answer)
    assert len(answer.answer) <= 400 + 4 * len(answer.citations) or len(answer.citations) == 1


def test_abstains_when_the_archive_does_not_know(engine) -> None:  # type: ignore[no-untyped-def]
    abstained = [q["question"] for q in UNANSWERABLE if engine.answerer.answer(q["question"]).abstained]
    assert len(abstained) >= len(UNANSWERABLE) - 1, abstained
    answer = engine.answerer.answer("Who won the chess tournament held in Brindlemouth this spring?")
    assert answer.answer == NO_ANSWER and answer.citations == [] and answer.nearest


def test_search_ranks_the_article_that_holds_the_fact(engine) -> None:  # type: ignore[no-untyped-def]
    found = 0
    for q in ANSWERABLE:
        hits = engine.searcher.search(q["question"], k=5)
        found += any(h.title == q["title"] for h in hits)
        for hit in hits:
            assert engine.reader.article(hit.article_id)["text"][hit.start:hit.end] == hit.text
    assert found / len(ANSWERABLE) >= 0.9


def test_republished_copies_collapse_into_one_hit(engine) -> None:  # type: ignore[no-untyped-def]
    hits = engine.searcher.search("Caldmoor Savings Bank agreed to buy Fennick Mutual", k=5)
    copies = {"4be07a1c92d3", "e81f5d0b6a47"}  # the demo's wire story and its re-published copy
    merger = [h for h in hits if h.article_id in copies]
    assert len({h.article_id for h in merger}) == 1
    assert set(merger[0].duplicates) | {merger[0].article_id} == copies
