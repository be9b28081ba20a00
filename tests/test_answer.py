"""End to end over the demo archive with the real model: our own questions and the facts they expect."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.answer import NO_ANSWER
from tests.conftest import DATA

QUESTIONS = [json.loads(line) for line in (DATA / "demo_questions.jsonl").read_text().splitlines() if line]
ANSWERABLE = [q for q in QUESTIONS if q["expected"]]
UNANSWERABLE = [q for q in QUESTIONS if not q["expected"]]


def _check_citations(engine, answer) -> None:  # type: ignore[no-untyped-def]
    for citation in answer.citations:
        article = engine.reader.article(citation.article_id)
        assert article[citation.field][citation.start:citation.end] == citation.quote  # text, or the headline
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
    # 3 of 5 since the learned model (no veto on a name the archive lacks; issue 19); was 4 of 5 with the veto
    assert len(abstained) >= len(UNANSWERABLE) - 2, abstained
    answer = engine.answerer.answer("Who won the chess tournament held in Brindlemouth this spring?")
    assert answer.answer == NO_ANSWER and answer.citations == [] and answer.nearest


def test_focus_sentence_of_a_quiz_question() -> None:
    from qa.text import focus_sentence

    assert focus_sentence("Who won?") == "Who won?"
    assert focus_sentence("Queen Elizabeth II died Thursday. When did she ascend to the throne?") == (
        "When did she ascend to the throne?")
    assert focus_sentence("A court ruled this week. Which court was it? Name it.") == "Which court was it?"


@pytest.mark.parametrize(("question", "focus"), [
    # an initial, an abbreviation or "v." does not end the asking sentence, which keeps its question word
    ("Following the vote, which fellow author did J. K. Merrow praise?",
     "Following the vote, which fellow author did J. K. Merrow praise?"),
    ("The U.S. Open ended on Sunday. Who did Dr. Adeyemi beat in the final?",
     "Who did Dr. Adeyemi beat in the final?"),
    ("Who most recently agreed to meet the committee on the Jan. 6 attack on the U.S. Capitol?",
     "Who most recently agreed to meet the committee on the Jan. 6 attack on the U.S. Capitol?"),
])
def test_focus_sentence_is_not_cut_at_abbreviations(question: str, focus: str) -> None:
    from qa.text import focus_sentence, names, wanted_labels

    assert focus_sentence(question) == focus
    assert "PERSON" in wanted_labels(question)  # "who" and "which author" still ask for a person
    assert "capitol" in names(" Who met at the U.S. Capitol?")  # a name after "U.S." is a name, not a sentence start


def test_a_headline_that_only_restates_the_question_is_not_quoted(engine) -> None:  # type: ignore[no-untyped-def]
    # every word of "Mayor Grainger Will Not Seek Re-election After Turbulent Term" is in the question
    answer = engine.answerer.answer("Why did Mayor Grainger say he will not seek re-election after a turbulent term?")
    assert not answer.abstained and answer.citations
    _check_citations(engine, answer)
    assert all(c.field == "text" for c in answer.citations), answer.answer
    assert any("Grainger" in c.quote for c in answer.citations)


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


@pytest.fixture(scope="module")
def court_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from corpus.article import Article
    from corpus.chunk import Chunker
    from index.update import Writer
    from qa.engine import Engine, embedder_factory
    from qa.settings import Settings

    settings = Settings.from_env({}, index_dir=tmp_path_factory.mktemp("court") / "index")
    text = ("Ana Ruiz was sworn in on Thursday as the first woman to sit on the Valdora high court. "
            "Crowds gathered outside the court building in the capital to watch the ceremony. "
            "Ruiz takes the seat of retiring judge Tomas Berg, who served for 28 years.")
    with Writer(settings.index_dir, "sentence-transformers/all-MiniLM-L6-v2", Chunker(),
                embedder_factory(settings)) as writer:
        writer.ingest([Article(id="court", text=text, title="First woman joins Valdora high court",
                               date="2024-03-01", source="ledger.example", origin="court")])
    return Engine.open(settings)


def test_quiz_question_answer_goes_past_the_restatement(court_engine) -> None:  # type: ignore[no-untyped-def]
    answer = court_engine.answerer.answer(
        "Ana Ruiz made history this week, becoming the first woman to sit on the Valdora high court. "
        "Whose seat is she taking?")
    # The sentence restating the question's background still scores best here (a known limit); the
    # sentence naming whose seat it was must still be quoted, not cut off behind it.
    assert any("Tomas Berg" in c.quote for c in answer.citations)


@pytest.mark.parametrize("question, label", [
    ("Which wildly popular show was recently green lit for a new season?", "WORK_OF_ART"),
    ("Revered actor Philip Baker Hall died this week. Who was he married to?", "PERSON"),
    ("Which automaker recalled 2.9 million vehicles this week?", "ORG"),
    ("Which tennis star pulled out of Wimbledon ahead of the semi-finals?", "PERSON"),
    ("Rudy Giuliani appeared before a grand jury this week. Where is the inquiry taking place?", "GPE"),
    ("Microsoft retired its Internet Explorer browser this week. What year did it debut?", "DATE"),
    ("Which head of state announced his resignation this week?", "PERSON"),
])
def test_answer_type_read_from_the_asking_sentence(question: str, label: str) -> None:
    from qa.text import wanted_labels

    assert label in wanted_labels(question)


@pytest.mark.parametrize("question", [
    "Which measure did lawmakers leave out of the deal?",  # no typed noun before the verb
    "The plague may have originated in what animal over 600 years ago?",  # "years" is past the phrase
])
def test_no_answer_type_past_the_noun_phrase(question: str) -> None:
    from qa.text import wanted_labels

    assert wanted_labels(question) == set()


def test_questions_and_photo_credits_are_never_quoted() -> None:
    from qa.candidates import quotable as _quotable

    assert not _quotable("Who can get boosted?")
    assert not _quotable("HURRICANE IAN TRACKER: Where is Ian headed?”")
    assert not _quotable("Andreea Alexandru/Pool/AP")
    assert _quotable('"Why now?" the minister asked, and resigned on Friday.')
    assert _quotable("The band AC/DC will tour Europe next year.")


def test_the_best_articles_headline_is_quoted_with_a_title_citation(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.answerer.answer("What did the dock union reject?")
    _check_citations(engine, answer)
    headlines = [c for c in answer.citations if c.field == "title"]
    assert len(headlines) == 1 and headlines[0].quote == headlines[0].title  # no site name in this one
    assert f"{headlines[0].quote} [{headlines[0].n}]" in answer.answer and "Rejects" in headlines[0].quote


@pytest.mark.parametrize(("title", "source", "headline"), [
    ("Biden on '60 Minutes': 'The pandemic is over' | CNN Politics", "cnn.com",
     "Biden on '60 Minutes': 'The pandemic is over'"),
    ("Artemis 1: behind Nasa's 'Moon-to-Mars' mission | The Week UK", "www.theweek.co.uk",
     "Artemis 1: behind Nasa's 'Moon-to-Mars' mission"),
    ("Why the pound fell | The ...", "theweek.co.uk", "Why the pound fell"),  # a site name cut short
    ("Stocks slip on rate fears - 24/7 Wall St.", "usatoday.com", "Stocks slip on rate fears - 24/7 Wall St."),
    ("Obama - in his own words", "cnn.com", "Obama - in his own words"),  # not the site's name
])
def test_headline_stops_before_the_site_name(title: str, source: str, headline: str) -> None:
    from qa.candidates import headline_end

    assert title[:headline_end(title, source)] == headline


def test_a_sentence_that_no_longer_fits_is_cut_at_a_word_boundary() -> None:
    from qa.answer import AnswerParams, choose_sentences
    from qa.candidates import Candidate, cut
    from qa.search import Hit

    first = ("The harbour board voted on Monday to replace the three oldest container cranes of the Western Basin, "
             "ending a dispute that had run since the spring, and asked the port authority to report by June.")
    detail = ("The new cranes will be built by Ostmark Heavy Industries at a cost of 214 million crowns, the board "
              "said, and the first will arrive in Saltmere next spring, with the other two following a year "
              "later, once the quay wall beneath them has been rebuilt.")
    short = "Dock workers welcomed the vote."
    params = AnswerParams(max_chars=400)
    probability = np.array([0.9, 0.8, 0.6])
    lengths = [len(first), len(detail), len(short)]
    chosen = choose_sentences(probability, lengths, [first, detail, short], [False] * 3, [], params, 0.6)
    assert chosen[:2] == [(0, False), (1, True)]  # the detail no longer fits whole: it is cut
    text = f"{first} {detail} {short}"
    hit = Hit(chunk_id=1, article_id="a", title=None, date=None, source=None, url=None, text=text, start=0,
              end=len(text), score=1.0)
    start = text.index(detail)
    shortened = cut(Candidate(hit, start, start + len(detail), detail, rank=0), 400 - len(first) - 6)
    assert shortened is not None and shortened.cut
    assert detail.startswith(shortened.text) and text[shortened.start:shortened.end] == shortened.text
    assert "214 million crowns" in shortened.text and not shortened.text.endswith((" ", ","))
    # too little of it would fit: the shorter sentence is taken instead
    narrow = AnswerParams(max_chars=len(first) + params.cut_min_chars)
    assert choose_sentences(probability, lengths, [first, detail, short], [False] * 3, [], narrow, 0.6) == [
        (0, False), (2, False)]


def test_a_headline_is_quoted_only_as_the_lead() -> None:
    from qa.answer import AnswerParams, choose_sentences

    probability = np.array([0.9, 0.85, 0.8])
    # the headline scores second: between two body sentences it would answer nothing they do not
    assert choose_sentences(probability, [60, 50, 40], ["a", "b", "c"], [False, True, False], [],
                            AnswerParams(), 0.6) == [(0, False), (2, False)]
    # the sentence holding the short answer leads even when another sentence scores higher
    assert choose_sentences(probability, [60, 50, 40], ["a", "b", "c"], [False] * 3, [2],
                            AnswerParams(), 0.6)[0] == (2, False)


@pytest.mark.parametrize(("sentence", "quotable"), [
    ("The bank raised rates by half a point.", True),
    ("iPhone sales rose by 4 percent.", True),
    ("“We will win,” she said.", True),
    ("time the central bank has raised rates since December, and follows recent hikes by the The Bank", False),
    ("Who can get boosted?", False),
    ("Manuel Balce Ceneta/AP", False),
])
def test_fragments_questions_and_credits_are_not_quoted(sentence: str, quotable: bool) -> None:
    from qa.candidates import quotable as is_quotable

    assert is_quotable(sentence) is quotable
