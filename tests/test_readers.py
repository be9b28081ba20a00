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
    """Acceptance: malformed JSONL line, invalid UTF-8 in JSONL, empty article, binary file, CSV missing a column."""
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
    assert len(loaded.articles) == 6  # + story.txt and latin1.txt (a legacy encoding, decoded)
    reasons = {s.where.replace(str(tmp_path) + "/", ""): s.reason for s in loaded.skipped}
    assert "malformed JSON" in reasons["good.jsonl:2"]
    assert "empty" in reasons["good.jsonl:3"]
    assert "UTF-8" in reasons["mixed.jsonl:2"]
    assert "binary" in reasons["image.txt"]
    assert "no text column" in reasons["nocol.csv"]
    assert "too few fields" in reasons["short.csv:row 2 (line 3)"]
    assert "no such file" in reasons["does-not-exist.jsonl"]
    assert loaded.records == len(loaded.articles) + len(loaded.skipped) == 13


def test_txt_id_does_not_depend_on_how_the_folder_was_named(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One file is one article, whether its folder, the folder above, a relative path or the file is named."""
    story = tmp_path / "archive" / "2024" / "story.txt"
    story.parent.mkdir(parents=True)
    story.write_text("Cranes Approved\n" + BODY)
    monkeypatch.chdir(tmp_path)
    ids = {load_articles([given]).articles[0].id
           for given in (story.parent, tmp_path / "archive", "archive/2024", story, "archive/2024/story.txt")}
    assert len(ids) == 1


def test_jsonl_malformed_json_says_where_and_what(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({"id": "ok", "text": BODY}) + '\n{"id": "x" "text": "missing comma"}\n')
    [skipped] = load_articles([path]).skipped
    assert skipped.where.endswith("feed.jsonl:2")
    assert skipped.reason.startswith("malformed JSON at column 12: expecting ',' delimiter")
    assert '"text"' in skipped.reason  # the text near the error, so a long line can be searched


def test_empty_files_are_reported_alike_whatever_their_format(tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.txt", "c.json", "d.csv", "e.html"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "f.jsonl").write_text("\n  \n\n")
    (tmp_path / "g.txt").write_text(" \n\t\n")
    loaded = load_articles([tmp_path])
    reasons = {Path(s.where).name: s.reason for s in loaded.skipped}
    assert reasons == dict.fromkeys(["a.jsonl", "b.txt", "c.json", "d.csv", "e.html", "f.jsonl", "g.txt"],
                                    "empty file")


def test_legacy_encodings_are_decoded_and_binary_still_refused(tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes(("Caf\xe9 Opens In Ma\xf1ana Square\n" + BODY + " Se\xf1or N\xfa\xf1ez "
                                           "said the fa\xe7ade would be rebuilt.").encode("latin-1"))
    (tmp_path / "cp1252.txt").write_bytes(("Port Strike Ends\n" + BODY + " \u201cWe won\u201d \u2013 the union "
                                           "leader said.").encode("cp1252"))
    (tmp_path / "cp1251.txt").write_bytes(("\u041d\u043e\u0432\u043e\u0441\u0442\u0438 \u0434\u043d\u044f\n"
                                           "\u041c\u044d\u0440 \u0433\u043e\u0440\u043e\u0434\u0430 "
                                           "\u0441\u043a\u0430\u0437\u0430\u043b, \u0447\u0442\u043e "
                                           "\u043c\u043e\u0441\u0442 \u043e\u0442\u043a\u0440\u043e\u044e\u0442 "
                                           "\u0432 \u043f\u043e\u043d\u0435\u0434\u0435\u043b\u044c\u043d\u0438\u043a."
                                           ).encode("cp1251"))
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    loaded = load_articles([tmp_path])
    texts = {Path(a.origin).name: (a.title or "") + " " + a.text for a in loaded.articles}
    assert "Caf\xe9 Opens" in texts["latin1.txt"] and "Se\xf1or N\xfa\xf1ez" in texts["latin1.txt"]
    assert "fa\xe7ade" in texts["latin1.txt"]
    assert "\u201cWe won\u201d \u2013 the union" in texts["cp1252.txt"]
    assert "\u041c\u044d\u0440 \u0433\u043e\u0440\u043e\u0434\u0430" in texts["cp1251.txt"]
    assert [(Path(s.where).name, "binary" in s.reason) for s in loaded.skipped] == [("image.txt", True)]


def test_an_index_folder_inside_an_input_folder_is_not_read(tmp_path: Path) -> None:
    from index import store
    from index.lock import LOCK_NAME
    from index.update import MANIFEST_NAME

    (tmp_path / "story.txt").write_text("Cranes Approved\n" + BODY)
    index = tmp_path / "index"
    index.mkdir()
    for name in (store.DB_NAME, MANIFEST_NAME, LOCK_NAME, "vectors-1.faiss"):
        (index / name).write_bytes(b"x")
    (index / "stray.jsonl").write_text(json.dumps({"id": "inside-index", "text": BODY}) + "\n")
    loaded = load_articles([tmp_path])
    assert loaded.skipped == [] and [Path(a.origin).name for a in loaded.articles] == ["story.txt"]
    named = load_articles([index])
    assert named.articles == [] and "newsqa index" in named.skipped[0].reason
