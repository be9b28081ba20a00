"""Boilerplate learnt over the archive: an article posted alone is cleaned as in a bulk load (real SQLite and
FAISS; a fake embedder keeps it fast)."""

from pathlib import Path

from corpus.load import load_records
from index import store
from index.store import LineHistory
from tests.conftest import FakeEmbedder
from tests.test_index import _writer

NAV = "Readers can sign up for the Harbour Herald newsletter every morning."


def _record(i: int, source: str = "Harbour Herald") -> dict[str, str]:
    body = (f"The ferry timetable changed for the {i}th time this year. Crews on route {i} said the new times "
            f"were announced on short notice.")
    return {"id": f"h{i}", "title": f"Ferry change {i}", "source": source, "date": "2024-03-01",
            "text": f"{body}\n{NAV}\nThe council will review timetable {i} in April."}


def _ingest(path: Path, embedder: FakeEmbedder, records: list[dict[str, str]], history: bool = True) -> object:
    with _writer(path, embedder) as w:
        loaded = load_records(records, "test", history=LineHistory(w.conn) if history else None)
        return w.ingest(loaded.articles, loaded.skipped)


def _text(path: Path, article_id: str) -> str:
    found = store.get_article(store.connect(path, readonly=True), article_id)
    assert found is not None
    return str(found["text"])


def test_an_article_alone_is_cleaned_as_in_a_bulk_load(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    bulk, alone, forgetful = tmp_path / "bulk", tmp_path / "alone", tmp_path / "forgetful"
    _ingest(bulk, fake_embedder, [_record(i) for i in range(6)])
    assert NAV not in _text(bulk, "h5") and "council will review" in _text(bulk, "h5")

    _ingest(alone, fake_embedder, [_record(i) for i in range(5)])
    _ingest(alone, fake_embedder, [_record(5)])  # posted alone, after the others
    assert _text(alone, "h5") == _text(bulk, "h5")

    _ingest(forgetful, fake_embedder, [_record(i) for i in range(5)], history=False)
    _ingest(forgetful, fake_embedder, [_record(5)], history=False)  # what learning per batch did
    assert NAV in _text(forgetful, "h5")


def test_re_ingesting_counts_each_text_once_and_sources_apart(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    path = tmp_path / "index"
    two = [_record(i) for i in range(2)]
    _ingest(path, fake_embedder, two)
    for _ in range(3):  # the same two texts again: still two, below the three a line needs
        report = _ingest(path, fake_embedder, two)
        assert report.unchanged == 2 and not report.updated  # type: ignore[attr-defined]
    _ingest(path, fake_embedder, [_record(9, source="Other Gazette")])
    _ingest(path, fake_embedder, [_record(10, source="Other Gazette")])
    assert NAV in _text(path, "h10")  # another source's counts do not count
    _ingest(path, fake_embedder, [_record(3)])  # the Herald's third text with the line: now it is boilerplate
    assert NAV not in _text(path, "h3")
