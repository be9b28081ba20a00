import codecs
import json
from pathlib import Path

from corpus.article import derive_id
from corpus.load import load_articles

BODY = "The harbour board met on Monday and approved the new crane contract after a long debate."


def test_jsonl_aliases_and_given_ids(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"id": "keep-me", "headline": "Cranes Approved", "body": BODY, "published_at": "2024-02-03T10:00:00Z",
         "publisher": "ledger", "author": "A. Writer, B. Writer"},
        {"url": "https://example.org/x", "title": "T", "content": BODY + " Second.", "publish_date": "3 March 2024"},
        {"text": BODY + " Third.", "published": 1709251200},
    ]))
    loaded = load_articles([path])
    assert loaded.skipped == []
    first, second, third = loaded.articles
    assert (first.id, first.title, first.date, first.source) == ("keep-me", "Cranes Approved", "2024-02-03", "ledger")
    assert first.authors == ("A. Writer", "B. Writer")
    assert second.id == derive_id("https://example.org/x", "") and second.date == "2024-03-03"
    assert third.id == derive_id(None, third.text) and third.date == "2024-03-01"


def test_json_list_csv_and_utf16(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"articles": [{"id": "j1", "text": BODY}]}))
    (tmp_path / "b.csv").write_text('id,title,date,text\nc1,Cranes,2024-01-05,"' + BODY + '"\n')
    (tmp_path / "c.jsonl").write_bytes(codecs.BOM_UTF16_LE + json.dumps({"id": "u1", "text": BODY}).encode("utf-16-le"))
    loaded = load_articles([tmp_path])
    assert loaded.skipped == []
    assert sorted(a.id for a in loaded.articles) == ["c1", "j1", "u1"]


def test_txt_id_is_stable_when_the_text_changes(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text("Cranes Approved\n" + BODY)
    first = load_articles([tmp_path]).articles[0]
    path.write_text("Cranes Approved\n" + BODY + " A correction was added.")
    second = load_articles([tmp_path]).articles[0]
    assert first.id == second.id and first.text != second.text


def test_bad_inputs_are_named_and_good_ones_ingested(tmp_path: Path) -> None:
    """Acceptance: malformed JSONL line, invalid UTF-8, empty article, binary file, CSV missing a column."""
    (tmp_path / "good.jsonl").write_text(
        json.dumps({"id": "g1", "text": BODY}) + "\n{not json\n" + json.dumps({"id": "g2", "text": "  "}) + "\n"
        + json.dumps({"id": "g3", "text": BODY + " Again."}) + "\n")
    (tmp_path / "latin1.txt").write_bytes(("Caf\xe9 Opens\n" + BODY).encode("latin-1"))
    (tmp_path / "mixed.jsonl").write_bytes(json.dumps({"id": "m1", "text": BODY}).encode() + b"\n"
                                           + b'{"id": "m2", "text": "caf\xe9 bad bytes here."}\n')
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "nocol.csv").write_text("id,title,date\nx1,Cranes,2024-01-05\n")
    (tmp_path / "short.csv").write_text('id,title,text\nr1,Ok,"' + BODY + '"\nr2,Missing\n')
    (tmp_path / "story.txt").write_text("Cranes Approved\n" + BODY)
    loaded = load_articles([tmp_path, tmp_path / "does-not-exist.jsonl"])
    assert sorted(a.id for a in loaded.articles if a.id.startswith(("g", "m", "r"))) == ["g1", "g3", "m1", "r1"]
    assert len(loaded.articles) == 5  # + story.txt
    reasons = {s.where.replace(str(tmp_path) + "/", ""): s.reason for s in loaded.skipped}
    assert "malformed JSON" in reasons["good.jsonl:2"]
    assert "empty" in reasons["good.jsonl:3"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "UTF-8" in reasons["mixed.jsonl:2"]
    assert "binary" in reasons["image.txt"]
    assert "no text column" in reasons["nocol.csv"]
    assert "too few fields" in reasons["short.csv:row 2 (line 3)"]
    assert "no such file" in reasons["does-not-exist.jsonl"]
    assert loaded.records == len(loaded.articles) + len(loaded.skipped) == 13
