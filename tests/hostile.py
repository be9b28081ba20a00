"""Generate a hostile input archive: every kind of broken, odd or malicious input seen in real news dumps.

`python -m tests.hostile DIR` writes it; `generate(DIR)` also returns what ingest must make of each record, so a
test can check that every good record is ingested, every bad one is reported with where and why, and the counts
add up. Articles are generated (seeded), never copied from anywhere.
"""

from __future__ import annotations

import codecs
import json
import os
import random
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from corpus.article import derive_id
from corpus.readers import file_id_basis

WORDS = ("harbour council ferry strike budget minister tender election mayor river bridge railway court ruling "
         "vote union wages port crane hospital school drought flood festival museum senator contract").split()
PLACES = ("Corvenna", "Saltmere", "Brightwater", "Aldermark", "Orsk", "Tevel", "Halden", "Marrow Bay")


@dataclass
class Expected:
    """What ingest must report: good record ids, and bad records as (where fragment, reason fragment)."""

    good: set[str] = field(default_factory=set)
    bad: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0  # the very same record again: counted apart, neither new nor an error
    no_script: set[str] = field(default_factory=set)  # ids whose stored text must hold no markup or script

    @property
    def records(self) -> int:
        return len(self.good) + len(self.bad) + self.duplicates


class _Writer:
    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.n = 0

    def story(self, sentences: int = 4) -> str:
        """Distinct, sentence-shaped text (boilerplate detection must not see repeated lines)."""
        self.n += 1
        out = []
        for i in range(sentences):
            words = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(6, 12)))
            out.append(f"In {self.rng.choice(PLACES)} the {words} story {self.n} part {i} was reported.")
        return " ".join(out)

    def record(self, article_id: str, **fields: object) -> dict[str, object]:
        return {"id": article_id, "title": f"Report {article_id}", "date": "2024-05-01", "source": "hostile.test",
                "text": self.story(), **fields}


def generate(root: Path, seed: int = 7) -> Expected:  # noqa: PLR0915 - one place lists every hostile case
    root.mkdir(parents=True, exist_ok=True)
    w = _Writer(root, seed)
    exp = Expected()

    # JSONL: good lines mixed with broken ones, each bad line reported by its line number
    lines: list[str | bytes] = []

    def good(article_id: str, **fields: object) -> None:
        lines.append(json.dumps(w.record(article_id, **fields)))
        exp.good.add(article_id)

    def bad(raw: str | bytes, reason: str) -> None:
        lines.append(raw)
        exp.bad.append((f"lines.jsonl:{len(lines)}", reason))

    good("ok-1")
    bad('{"id": "broken", "text": "unterminated', "malformed JSON")
    good("no-title-no-date", title=None, date=None)
    bad(b'{"id": "latin1", "text": "caf\xe9 au lait in Orsk was served to the visiting minister today."}',
        "not valid UTF-8")
    bad('{"id": "deep", "text": "x", "extra": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply")
    bad('{"id": "empty", "text": ""}', "no text")
    bad('{"id": "blank", "text": "   \\n\\t  \\n "}', "empty after cleaning")
    bad('["not", "an", "object"]', "expected an object")
    bad('42', "expected an object")
    bad('{"id": "textlist", "text": ["a", "list"]}', "must be a string")
    bad('{"id": {"nested": 1}, "text": "The ferry to Saltmere ran late again on Tuesday evening."}',
        "field 'id' must be a string")
    lines.append("   ")  # whitespace-only lines are no records
    for i, date in enumerate(["2021-02-30", "30/02/2021", "1699-13-45", "next Tuesday-ish", "20210405",
                              "April 5th, 2021 at 3pm EST", "0", "-99999999999999", "9999-12-31T99:99"]):
        good(f"odd-date-{i}", date=date)
    bad(json.dumps(w.record("dup", text=w.story())), "superseded by a later record with the same id")
    good("dup")  # same id, different content: the later record wins, the earlier is reported
    lines.append(json.dumps(w.record("twice", text="The Tevel museum reopened after the flood repairs ended.")))
    exp.good.add("twice")
    lines.append(lines[-1])  # the very same record again: counted as a duplicate, not an error
    exp.duplicates += 1
    huge = "The Orsk port authority published its tender documents today. " * 330_000  # ~20 MB
    bad(json.dumps({"id": "huge", "title": "Huge", "text": huge}), "over the limit")
    sentence = ", ".join(w.rng.choice(WORDS) + " " + w.rng.choice(PLACES) for _ in range(3_000))
    good("one-sentence", text=("The council debated " + sentence)[:50_000])
    good("control-chars", text="The mayor\x00 of Halden\x07 said\u200b the \ufeffbridge will\x1b reopen in May.")
    good("rtl-and-emoji", text="Protesters in Marrow Bay carried signs reading \u202eevil\u202c and 🚢🚢 today.")
    bad('{"id": "trunc", "text": "The last line of the file stops in the mid', "malformed JSON")
    with open(root / "lines.jsonl", "wb") as handle:
        for i, line in enumerate(lines):
            data = line if isinstance(line, bytes) else line.encode("utf-8")
            handle.write(data + (b"\n" if i < len(lines) - 1 else b""))  # the last line has no newline

    # UTF-16 with BOM, as JSON list and JSONL; and UTF-8 with BOM
    (root / "utf16.json").write_bytes(codecs.BOM_UTF16_LE + json.dumps(
        [w.record("u16-a"), w.record("u16-b", title="Ünïcödé “quoted” title")], ensure_ascii=False
    ).encode("utf-16-le"))
    exp.good |= {"u16-a", "u16-b"}
    (root / "utf16.jsonl").write_bytes(codecs.BOM_UTF16_BE + "\n".join(
        json.dumps(w.record(f"u16l-{i}")) for i in range(2)).encode("utf-16-be"))
    exp.good |= {"u16l-0", "u16l-1"}
    (root / "bom8.jsonl").write_bytes(codecs.BOM_UTF8 + json.dumps(w.record("bom8")).encode())
    exp.good.add("bom8")

    # Whole files that cannot be read as articles
    (root / "binary.txt").write_bytes(bytes(w.rng.randrange(256) for _ in range(4096)) + b"\x00\x00")
    exp.bad.append(("binary.txt", "binary data"))
    (root / "cp1252.txt").write_bytes("Caf\u00e9 owners in Tevel \u2013 \u201cwe are ruined\u201d.".encode("cp1252"))
    exp.good.add(derive_id(file_id_basis(root / "cp1252.txt"), ""))  # a legacy encoding is decoded
    (root / "empty.txt").write_bytes(b"")
    exp.bad.append(("empty.txt", "empty file"))
    (root / "whitespace.txt").write_text(" \n\t\n   \n")
    exp.bad.append(("whitespace.txt", "empty file"))
    (root / "scalar.json").write_text("42")
    exp.bad.append(("scalar.json", "expected a list"))
    (root / "broken.json").write_text('[{"id": "b1", "text": "fine"}, {"id": ')
    exp.bad.append(("broken.json", "malformed JSON"))
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    exp.bad.append(("deep.json", "nested too deeply"))
    (root / "nested.json").write_text(json.dumps({"articles": [w.record("wrapped-1"), {"meta": {"x": [1, 2]}}]}))
    exp.good.add("wrapped-1")
    exp.bad.append(("nested.json[1]", "no text"))
    (root / "noext").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    exp.bad.append(("noext", "unsupported file type"))

    # CSV with missing and extra columns
    header = "id,title,date,text\n"
    rows = [f'csv-ok,Title,2024-01-02,"{w.story()}"',
            f'csv-extra,Title,2024-01-02,"{w.story()}",surplus,more',
            "csv-short,Title",
            f'csv-nodate,Title,,"{w.story()}"']
    (root / "table.csv").write_text(header + "\n".join(rows) + "\n")
    exp.good |= {"csv-ok", "csv-nodate"}
    exp.bad += [("table.csv:row 2", "fields where the header has 4"), ("table.csv:row 3", "too few fields")]
    (root / "notext.csv").write_text("id,headline\n1,Only a headline\n")
    exp.bad.append(("notext.csv", "no text column"))

    # HTML with script, style and inline handlers: the text is kept, the code is not
    (root / "hostile.html").write_text(
        "<html><head><title>Harbour vote</title><style>body{color:red}</style>"
        "<script>alert('pwned');document.cookie</script></head><body><article><h1>Harbour vote</h1>"
        f"<p onclick=\"alert('x')\">{w.story(6)}</p><img src=x onerror=\"alert('img')\">"
        f"<p>{w.story(6)}<script>steal()</script></p><iframe src=\"javascript:alert(1)\"></iframe>"
        "</article></body></html>")
    html_id = derive_id(file_id_basis(root / "hostile.html"), "")  # files without ids: from their path
    exp.good.add(html_id)
    exp.no_script.add(html_id)

    # A zip bomb-like archive (highly compressed zeros) and folder traps: a symlink loop, a broken symlink
    with zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.jsonl", b"\x00" * 20_000_000)
    exp.bad.append(("bomb.zip", "unsupported file type"))
    nested = root / "sub" / "deeper"
    nested.mkdir(parents=True)
    (nested / "inner.jsonl").write_text(json.dumps(w.record("inner")) + "\n")
    exp.good.add("inner")
    os.symlink("../..", nested / "loop")  # points back up: a walker that follows it never ends
    os.symlink("missing-target.jsonl", root / "dangling.jsonl")
    exp.bad.append(("dangling.jsonl", "cannot read"))
    os.symlink("../lines.jsonl", root / "sub" / "alias.jsonl")  # the same file again under another name
    return exp


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.hostile DIR", file=sys.stderr)
        return 2
    exp = generate(Path(argv[0]))
    print(f"wrote {exp.records} records ({len(exp.good)} good, {len(exp.bad)} bad) under {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
