"""The learned answer stage: short answers, abstention, the shipped model file and its training command."""

from __future__ import annotations

import json

import pytest

from qa.answer import NO_ANSWER
from tests.conftest import DATA

ARTICLES = [
    ("vote", "Ilves sweeps to victory in governor's race", "2025-11-05",
     "Marta Ilves was elected governor on Tuesday, taking 54 percent of the vote against two rivals. "
     "Ilves, a former mayor of Casterby, will take office in January. "
     "Turnout was the highest in two decades, election officials said."),
    ("summit", "Regional leaders gather for trade talks", "2025-11-04",
     "Leaders of the six coastal provinces began two days of trade talks on Monday. "
     "The summit opened in the port city of Peltra, where delegates were greeted by protesters. "
     "Tariffs on grain and timber top the agenda, officials said."),
    ("bridge", "Old Tenmouth bridge to close for repairs", "2025-11-03",
     "The Tenmouth river bridge will close for eight months from March for repairs costing 31 million crowns. "
     "Commuters will be sent over the northern ring road, the transport office said."),
    ("orchestra", "City orchestra names new conductor", "2025-10-30",
     "The Casterby Philharmonic has appointed Jonas Fell as its principal conductor. "
     "Fell, 41, succeeds Ingrid Maas, who led the orchestra for twelve years."),
]


@pytest.fixture(scope="module")
def own_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from corpus.article import Article
    from corpus.chunk import Chunker
    from index.update import Writer
    from qa.engine import Engine, embedder_factory
    from qa.settings import Settings

    settings = Settings.from_env({}, index_dir=tmp_path_factory.mktemp("own") / "index")
    with Writer(settings.index_dir, "sentence-transformers/all-MiniLM-L6-v2", Chunker(),
                embedder_factory(settings)) as writer:
        writer.ingest([Article(id=i, text=text, title=title, date=date, source="ledger.example", origin=i)
                       for i, title, date, text in ARTICLES])
    return Engine.open(settings)


def _exact(engine, answer) -> None:  # type: ignore[no-untyped-def]
    by_n = {c.n: c for c in answer.citations}
    for short in answer.short_answers:
        quote = by_n[short.citation].quote
        assert quote[short.start:short.end] == short.text
    for c in answer.citations:
        article = engine.reader.article(c.article_id)
        assert article[c.field][c.start:c.end] == c.quote


def test_no_abstention_when_the_question_names_what_the_passage_does_not(own_engine) -> None:  # type: ignore[no-untyped-def]
    # "Northwick" is in no article: the passage answering it says "governor", "vote", not the state's name
    answer = own_engine.answerer.answer("Who won the governor election in the state of Northwick on Tuesday, and "
                                        "with what share of the vote?")
    assert not answer.abstained, answer
    _exact(own_engine, answer)
    assert "Marta Ilves" in answer.answer and "54 percent" in answer.answer
    assert answer.citations[0].article_id == "vote"


@pytest.mark.xfail(strict=True, reason="known gap of the learned model (issue 19): the short-answer threshold learnt "
                   "on RealTime QA is too high for a person's name here; remove when a retrained model passes")
def test_two_things_asked_get_two_short_answers(own_engine) -> None:  # type: ignore[no-untyped-def]
    answer = own_engine.answerer.answer("Who won the governor's race, and with what share of the vote?")
    _exact(own_engine, answer)
    texts = [s.text for s in answer.short_answers]
    assert any("Ilves" in t for t in texts) and any("54" in t for t in texts), texts


@pytest.mark.xfail(strict=True, reason="known gap of the learned model (issue 19): it prefers the article's lead over "
                   "the next sentence that names the place; remove when a retrained model passes")
def test_a_where_question_quotes_the_sentence_naming_the_place(own_engine) -> None:  # type: ignore[no-untyped-def]
    answer = own_engine.answerer.answer("Where did the coastal provinces' leaders meet for trade talks?")
    _exact(own_engine, answer)
    assert "Peltra" in answer.citations[0].quote, answer.answer
    assert answer.short_answer is not None and "Peltra" in answer.short_answer.text


def test_the_archive_silent_abstains(own_engine) -> None:  # type: ignore[no-untyped-def]
    answer = own_engine.answerer.answer("Which team won the national basketball championship final?")
    assert answer.abstained and answer.answer == NO_ANSWER and answer.short_answer is None


def test_a_headline_that_does_not_answer_is_not_quoted(own_engine) -> None:  # type: ignore[no-untyped-def]
    # the headline names the story; what is asked is in the body
    answer = own_engine.answerer.answer("How much will the repairs of the Tenmouth bridge cost?")
    _exact(own_engine, answer)
    assert all(c.field == "text" for c in answer.citations), answer.answer
    assert "31 million crowns" in answer.citations[0].quote


def test_short_answers_are_exact_spans_on_the_demo(engine) -> None:  # type: ignore[no-untyped-def]
    questions = [json.loads(line) for line in (DATA / "demo_questions.jsonl").read_text().splitlines() if line]
    given = right = 0
    for q in [q for q in questions if q["expected"]][:30]:
        answer = engine.answerer.answer(q["question"])
        _exact(engine, answer)
        if answer.short_answer:
            given += 1
            quote = answer.citations[answer.short_answer.citation - 1].quote
            assert answer.answer.startswith(quote)  # the answer leads with the sentence that holds it
            right += q["expected"].lower() in answer.short_answer.text.lower() or (
                answer.short_answer.text.lower() in q["expected"].lower())
    # the model gives a short answer only when confident (qa/answer_model.json answer_below): few, mostly right
    assert given >= 3 and right >= given / 2, (given, right)


def test_the_packaged_model_loads_with_its_provenance() -> None:
    from qa.features import SEMANTIC_FEATURES, SENTENCE_FEATURES
    from qa.model import AnswerModel
    from qa.spans import SPAN_FEATURES

    model = AnswerModel.load()
    assert model.shortlist.features == SENTENCE_FEATURES
    assert model.sentence.features == SENTENCE_FEATURES + SEMANTIC_FEATURES
    assert model.span.features == SPAN_FEATURES
    assert model.info["data_version"] and model.info["cross_validated"]
    assert 0.0 <= model.abstain_below < 1.0 and 0.0 <= model.answer_below < 1.0


@pytest.mark.slow
def test_the_training_command_reproduces_the_packaged_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The records are built from ../shared/data (training/README.md) and never committed: this runs where they
    have been recorded into training/ (or NEWSQA_TRAINING_DIR)."""
    import os
    from pathlib import Path

    from cli.main import main

    root = Path(__file__).resolve().parent.parent
    folder = Path(os.environ.get("NEWSQA_TRAINING_DIR", root / "training"))
    records = sorted(folder.glob("*.jsonl.gz"))
    if not records:
        pytest.skip(f"no training records in {folder}: record them as training/README.md says (they are built "
                    "from ../shared/data and not kept in the repository)")
    out = tmp_path / "model.json"
    assert main(["train", "fit", "-q", *map(str, records), "--out", str(out)]) == 0
    assert out.read_text() == (root / "qa" / "answer_model.json").read_text()


@pytest.mark.slow
def test_recording_and_fitting_are_deterministic(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On the demo archive: the recorded features carry no text, and the same records give the same model."""
    from qa.labelled import load_labelled
    from qa.learn import fit
    from qa.train import read_records, write_records

    items = load_labelled(DATA / "demo_questions.jsonl")[:24]
    out = tmp_path / "demo.jsonl.gz"
    assert write_records(engine.answerer, items, out) == len(items)
    records = list(read_records([out]))
    assert not any(q.question[:30] in str(r) for q, r in zip(items, records, strict=True))
    assert fit(records).to_json() == fit(records).to_json()
    assert write_records(engine.answerer, items, tmp_path / "again.jsonl.gz") == len(items)
    assert list(read_records([tmp_path / "again.jsonl.gz"])) == records


def test_exported_trees_score_as_scikit_learn_does() -> None:
    """The shipped model is applied with numpy, without scikit-learn: its trees, exported and read back from
    JSON, must give scikit-learn's own log-odds."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    from qa import learn
    from qa.model import TreeModel

    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=(2000, 4)), 5)  # records keep five decimals
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=len(x)) > 0).astype(int)
    model = learn._fit(x, y, ["a", "b", "c", "d"], "trees")
    clf = HistGradientBoostingClassifier(max_iter=learn.TREES, max_depth=learn.DEPTH, learning_rate=0.1,
                                         min_samples_leaf=40, l2_regularization=1.0, early_stopping=False,
                                         random_state=0).fit(x, y)
    again = TreeModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert np.allclose(again.logits(x), clf.decision_function(x), atol=1e-4)
    assert len(again.logits(x[:0])) == 0
