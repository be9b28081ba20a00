"""Hybrid, time-aware, actor-aware retrieval on constructed archives (real model, real BM25 and FAISS)."""

from __future__ import annotations

import datetime as dt

import pytest

from corpus.article import Article
from corpus.chunk import Chunker
from index.update import Writer
from qa.engine import Engine, embedder_factory
from qa.search import Query
from qa.settings import Settings
from qa.timeparse import parse_time


def _article(id: str, date: str, title: str, text: str, source: str = "ledger.example") -> Article:
    return Article(id=id, text=text, title=title, date=date, source=source, origin=id)


ARTICLES = [
    # exact rare name: the model sees two near-identical statements; only BM25 tells the names apart
    _article("rare", "2024-03-01", "Budget statement",
             "Zbigniew Oyelaran-Kowalczyk said the new budget would cut spending on roads."),
    _article("rare-decoy", "2024-03-01", "Budget statement",
             "Wojciech Adeyemi-Nowakowski said the new budget would cut spending on roads."),
    # paraphrase: few shared words with the question; a decoy shares the words but not the meaning
    _article("para", "2024-03-02", "Clinic news",
             "Physicians warned that the measles outbreak was growing among unvaccinated children."),
    _article("para-decoy", "2024-03-02", "School news",
             "Children who were never told which illness they had were spreading rumours, the school said."),
    # the same event reported twice: newer and older
    _article("old", "2023-01-10", "Port workers strike over pay",
             "Dock workers at the Port of Valdora went on strike over pay, the union said."),
    _article("new", "2024-05-10", "Port workers strike over pay",
             "Dock workers at the Port of Valdora went on strike over pay again, the union said."),
    _article("future", "2024-09-01", "Port strike ends",
             "The Port of Valdora strike ended after dock workers accepted a new pay offer."),
    _article("actor-full", "2024-04-01", "Banker returns",
             "Mukhtar Ablyazov, the former chairman of BTA Bank, returned to Almaty on Monday."),
    _article("actor-other", "2024-04-02", "Another banker returns",
             "A former chairman of a bank returned to Almaty on Monday after years abroad."),
]


@pytest.fixture(scope="module")
def small_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    settings = Settings.from_env({}, index_dir=tmp_path_factory.mktemp("retrieval") / "index")
    with Writer(settings.index_dir, "sentence-transformers/all-MiniLM-L6-v2", Chunker(),
                embedder_factory(settings)) as writer:
        writer.ingest(ARTICLES)
    return Engine.open(settings)


def _top(engine: Engine, query: Query) -> list[str]:
    return [h.article_id for h in engine.searcher.search(query)]


def test_hybrid_beats_either_retriever(small_engine: Engine) -> None:
    rare = "What did Oyelaran-Kowalczyk say about the budget?"
    para = "Which illness is spreading among children who were never vaccinated?"

    def rank(question: str, wanted: str, mode: str) -> int:
        top = _top(small_engine, Query(question, k=len(ARTICLES), mode=mode, time_aware=False))  # type: ignore[arg-type]
        return top.index(wanted) if wanted in top else 99

    ranks = {mode: (rank(rare, "rare", mode), rank(para, "para", mode)) for mode in ("dense", "bm25", "hybrid")}
    assert ranks["hybrid"] == (0, 0), ranks
    assert ranks["dense"][0] > 0 and ranks["bm25"][1] > 0, ranks  # each alone misses one of them


def test_as_of_excludes_later_articles(small_engine: Engine) -> None:
    top = _top(small_engine, Query("Port of Valdora strike", k=9, as_of=dt.date(2024, 6, 1)))
    assert "future" not in top and top[0] == "new"
    assert "future" in _top(small_engine, Query("Port of Valdora strike", k=9))


def test_recently_prefers_the_newer_of_two_equal_articles(small_engine: Engine) -> None:
    top = _top(small_engine, Query("Did dock workers recently strike over pay?", k=3, as_of=dt.date(2024, 6, 1)))
    assert top.index("new") < top.index("old")


def test_date_phrases_become_filters(small_engine: Engine) -> None:
    top = _top(small_engine, Query("Why did dock workers strike in January 2023?", k=9, as_of=dt.date(2024, 6, 1)))
    assert top[0] == "old" and "new" not in top
    intent = parse_time("What happened on September 21, 2019?")
    assert intent.since == dt.date(2019, 9, 20) and intent.until == dt.date(2019, 9, 28)
    assert parse_time("What did she say last year?", dt.date(2022, 6, 1)).since == dt.date(2021, 1, 1)


def test_explicit_filters(small_engine: Engine) -> None:
    top = _top(small_engine, Query("Port of Valdora strike", k=9, since=dt.date(2024, 1, 1),
                                   until=dt.date(2024, 6, 30)))
    assert set(top) <= {a.id for a in ARTICLES if "2024-01-01" <= a.date <= "2024-06-30"} and "new" in top
    assert _top(small_engine, Query("Port of Valdora strike", k=9, source="nowhere.example")) == []


def test_actor_filter_and_aliases(small_engine: Engine) -> None:
    for name in ("Ablyazov", "Mukhtar Ablyazov", "mukhtar ablyazov"):
        assert _top(small_engine, Query("former bank chairman returned", k=9, actor=name)) == ["actor-full"]
    top = _top(small_engine, Query("Where did Ablyazov return to?", k=2))
    assert top[0] == "actor-full"
    entities = small_engine.reader.entities(["actor-full"])["actor-full"]
    assert ("Mukhtar Ablyazov", "PERSON") in [(e.name, e.label) for e in entities]
