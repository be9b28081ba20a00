"""Hybrid, time-aware, actor-aware retrieval on constructed archives (real model, real BM25 and FAISS)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from corpus.article import Article
from qa.engine import Engine, writer
from qa.search import Query, Searcher, _mention_test, _question_names
from qa.settings import Settings
from qa.timeparse import parse_time


def _article(id: str, date: str, title: str, text: str, source: str = "ledger.example") -> Article:
    return Article(id=id, text=text, title=title, date=date, source=source, origin=id)


ARTICLES = [
    # exact rare name: the model prefers a statement by a similar-looking name; BM25 knows the exact one
    _article("rare", "2024-03-01", "Budget statement",
             "Zbigniew Oyelaran-Kowalczyk told the chamber that road spending would fall."),
    _article("rare-decoy", "2024-03-01", "Budget statement",
             "Marta Kowalewska said what she thought about the budget on Friday."),
    # paraphrase: the answer shares one word with the question, a decoy shares three but means nothing alike
    _article("para", "2024-03-02", "Clinic news",
             "Measles is spreading fast among unvaccinated children, physicians warned."),
    _article("para-decoy", "2024-03-02", "Fair news",
             "Kids took shots at the coconut stall, spreading sand everywhere."),
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


def _engine(tmp_path_factory: pytest.TempPathFactory, name: str, articles: list[Article], store: str) -> Engine:
    """An engine over a fresh index of these articles (real model; real BM25, FAISS and SQLite, or Milvus Lite)."""
    where = tmp_path_factory.mktemp(name)
    settings = Settings.from_env({}, index_dir=where / "index", store=store,
                                 milvus_uri=str(where / "milvus.db") if store == "milvus" else None)
    with writer(settings) as w:
        w.ingest(articles)
    return Engine.open(settings)


@pytest.fixture(scope="module")
def small_engine(tmp_path_factory: pytest.TempPathFactory, store: str) -> Engine:
    return _engine(tmp_path_factory, "retrieval", ARTICLES, store)


def _top(engine: Engine, query: Query) -> list[str]:
    return [h.article_id for h in engine.searcher.search(query)]


def test_hybrid_beats_either_retriever(small_engine: Engine) -> None:
    rare = "What did Kowalczyk say about the budget?"
    para = "Which disease is spreading among kids who had no shots?"

    def first(question: str, mode: str, fusion: str | None = None) -> str:
        return _top(small_engine, Query(question, k=5, mode=mode, time_aware=False, fusion=fusion))[0]  # type: ignore[arg-type]

    assert (first(rare, "dense"), first(para, "bm25")) == ("rare-decoy", "para-decoy")  # each alone misses one
    assert (first(rare, "bm25"), first(para, "dense")) == ("rare", "para")
    assert (first(rare, "hybrid", "rrf"), first(para, "hybrid", "rrf")) == ("rare", "para")
    # The default score fusion (chosen on the real dev questions, see README) gets the exact name; it gives
    # up this paraphrase, where BM25's best match outweighs a small cosine margin.
    assert first(rare, "hybrid") == "rare"


def test_as_of_excludes_later_articles(small_engine: Engine) -> None:
    top = _top(small_engine, Query("Port of Valdora strike", k=9, as_of=dt.date(2024, 6, 1)))
    assert "future" not in top and top[0] == "new"
    assert "future" in _top(small_engine, Query("Port of Valdora strike", k=9))


def test_recently_prefers_the_newer_of_two_equal_articles(small_engine: Engine) -> None:
    top = _top(small_engine, Query("Did dock workers recently strike over pay?", k=3, as_of=dt.date(2024, 6, 1)))
    assert top.index("new") < top.index("old")


def test_reports_of_the_last_two_days_are_equally_recent(small_engine: Engine) -> None:
    def score(as_of: dt.date, **options: str) -> float:
        hits = small_engine.searcher.search(Query("Port of Valdora strike", k=9, as_of=as_of, **options))  # type: ignore[arg-type]
        return next(h.score for h in hits if h.article_id == "new")  # published 2024-05-10

    fresh = score(dt.date(2024, 5, 10))
    assert score(dt.date(2024, 5, 12)) == pytest.approx(fresh)  # recency_grace: two days later, still fresh
    assert score(dt.date(2024, 5, 14)) < fresh
    # the eval's BM25 + time baseline keeps the data README's prior, 1 + exp(-age / scale): 2x, not 5x, when fresh
    assert score(dt.date(2024, 5, 10), recency="simple") == pytest.approx(fresh * 2 / 5)


def test_date_phrases_become_filters(small_engine: Engine) -> None:
    top = _top(small_engine, Query("Why did dock workers strike in January 2023?", k=9, as_of=dt.date(2024, 6, 1)))
    assert top[0] == "old" and "new" not in top
    intent = parse_time("What happened on September 21, 2019?")
    assert intent.since == dt.date(2019, 9, 20) and intent.until == dt.date(2019, 9, 28)
    assert parse_time("What did she say last year?", dt.date(2022, 6, 1)).since == dt.date(2021, 1, 1)
    rolling = parse_time("How many books were banned over the last year?", dt.date(2022, 6, 1))
    assert (rolling.since, rolling.until) == (dt.date(2021, 6, 1), dt.date(2022, 6, 1))  # not calendar 2021


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


LONG = [
    # one story told over several chunks: no single chunk holds all the question's words
    _article("story", "2024-03-05", "Harbour plan",
             " ".join(["The Valdora harbour board met on Tuesday to discuss its long-term plans."] * 12
                      + ["Engineers said dredging of the channel would start in the spring."] * 12)),
    _article("mention", "2024-03-05", "Council notes",
             "The Valdora council also discussed parking fees, bins and a new bus timetable."),
]


@pytest.fixture(scope="module")
def long_engine(tmp_path_factory: pytest.TempPathFactory, store: str) -> Engine:
    return _engine(tmp_path_factory, "articles", LONG, store)


def test_article_level_ranks_articles_once_each_by_their_best_passage(long_engine: Engine) -> None:
    assert long_engine.reader.manifest.chunks >= 3  # the story spans several chunks
    hits = long_engine.searcher.search(Query("When will Valdora harbour dredging start?", k=5))
    assert [h.article_id for h in hits] == ["story", "mention"]
    assert "dredging" in hits[0].text  # the passage that answers, not the first chunk
    chunks = long_engine.searcher.search(Query("When will Valdora harbour dredging start?", k=5, level="chunk"))
    assert len(chunks) > 2 and {h.article_id for h in chunks} == {"story", "mention"}


def test_eval_baseline_is_article_level_bm25_with_time() -> None:
    from qa.evaluate import SYSTEMS

    assert SYSTEMS["bm25+time"] == {"mode": "bm25", "time_aware": True, "prefer_reports": False, "level": "article",
                                    "recency": "simple"}
    assert SYSTEMS["bm25"]["level"] == SYSTEMS["dense"]["level"] == "chunk"


def test_eval_choices_are_matched_as_whole_words_with_punctuation_normalised() -> None:
    from qa.evaluate import mentions

    assert mentions("One share of Google’s parent company Alphabet ...", "Google")  # a possessive names its owner
    assert mentions("North Korea's Kim Jong Un declares victory", "north korea")
    assert mentions("Her single, “Break My Soul,” dropped late Monday.", '"Break My Soul"')
    assert mentions("Pac-12 powerhouses UCLA, USC joining Big Ten", "pac 12")
    assert not mentions("The Googles of this world", "Google")  # another word, not a mention
    assert not mentions("US Open updates", "Open championship") and not mentions("anything", "")


def test_a_mention_is_a_whole_word_of_any_named_actor() -> None:
    mentions = _mention_test(_question_names("What did Marta Kowalewska and Oyelaran-Kowalczyk's party say?"))
    assert mentions is not None and _mention_test([]) is None
    assert mentions("Kowalewska said") and mentions("(Oyelaran-Kowalczyk)") and mentions("Ms Kowalewska.")
    assert not mentions("Kowalewskas said") and not mentions("Marta said") and not mentions("xKowalewska")


GENRES = [
    _article("story", "2024-03-05", "Harbour board approves Valdora channel dredging",
             "The Valdora harbour board approved dredging of the main channel on Tuesday. Work starts in April."),
    _article("digest", "2024-03-06", "5 things to know for March 6: Dredging, Rates, Measles",
             "Dredging: the Valdora harbour board approved dredging of the channel. Rates: the central bank held "
             "rates. Measles: cases rose again in Drayhaven."),
]


@pytest.fixture(scope="module")
def genre_engine(tmp_path_factory: pytest.TempPathFactory, store: str) -> Engine:
    return _engine(tmp_path_factory, "genres", GENRES, store)


DREDGING = "What did the Valdora harbour board decide about dredging?"


def _scores(searcher: Searcher, query: Query) -> dict[str, float]:
    return {h.article_id: h.score for h in searcher.search(query)}


def test_reports_come_before_opinion_and_digests_of_the_same_news(genre_engine: Engine) -> None:
    searcher = genre_engine.searcher
    plain = _scores(searcher, Query(DREDGING, k=5, prefer_reports=False))
    hits = _scores(searcher, Query(DREDGING, k=5))
    assert {"story", "digest"} <= set(plain) and set(hits) == set(plain)
    prior = searcher.params.commentary_prior
    assert prior == 0.6 and hits["digest"] == pytest.approx(prior * plain["digest"])  # its headline says what it is
    assert hits["story"] == pytest.approx(plain["story"])
    # the prior is a ranking parameter: a searcher given another one applies that one
    neutral = Searcher(genre_engine.reader, searcher.embedder, params=replace(searcher.params, commentary_prior=1.0))
    assert _scores(neutral, Query(DREDGING, k=5)) == pytest.approx(plain)


def test_a_digest_added_in_a_later_generation_is_discounted_too(tmp_path_factory: pytest.TempPathFactory,
                                                                store: str) -> None:
    engine = _engine(tmp_path_factory, "genres-later", GENRES[:1], store)  # the report only
    assert set(_scores(engine.searcher, Query(DREDGING, k=5))) == {"story"}  # the first generation's flags are known
    with writer(engine.settings) as w:  # with Milvus: published as an update of the first generation
        w.ingest(GENRES[1:])
    plain = _scores(engine.searcher, Query(DREDGING, k=5, prefer_reports=False))
    hits = _scores(engine.searcher, Query(DREDGING, k=5))
    assert hits["digest"] == pytest.approx(engine.searcher.params.commentary_prior * plain["digest"])


@pytest.mark.parametrize(("title", "marked"), [
    ("Opinion: The port strike shows what dock workers are owed", True),
    ("ANALYSIS | Why the rate cut came early", True),
    ("5 things to know for June 8: Primaries, Gun laws, January 6, Ukraine", True),
    ("Ten Things You Need to Know Today: 10 August 2022", True),
    ("Morning briefing: strike ends, rates cut", True),
    ("What we know about the drinking water crisis in Jackson", True),
    ("Opinion polls put Castellane ahead in Corvenna", False),
    ("Ford recalls 2.9M vehicles for inability to shift into gear", False),
    ("Things to know before the ferry timetable changes", False),
    ("What happens when a prime minister resigns? - CNN", True),  # a headline that asks heads an explainer
    ("Who was Vessa Orlen? The latest on the former minister ...", True),
    ("Is the ferry strike over?", True),
    ("Harbour board asks: who pays for the cranes", False),
    ("Ferry strike: everything you need to know", True),  # explainers, timelines, fact checks
    ("The Kellerby affair: a timeline", True),
    ("Fact check: the mayor did not sell the cranes", True),
    ("Ferry strike live updates: talks resume", True),  # rolling pages and recaps list what reports report
    ("Council vote recap: budget passes", True),
    ("Photos: the harbour at dawn", True),  # galleries
    ("Photographers gather for the harbour festival", False),
    ("Yahoo!-owned site sold", False),
    (None, False),
])
def test_commentary_explainer_and_digest_headlines(title: str | None, marked: bool) -> None:
    from corpus.article import is_commentary_or_digest

    assert is_commentary_or_digest(title) is marked
