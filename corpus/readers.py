"""Find input files and read raw records out of them: JSONL, JSON, CSV, HTML and scraped text.

Every problem becomes a `Skipped` (where + why) and reading goes on with the next record or file.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.scraped import parse_scraped_text

log = logging.getLogger(__name__)

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".html": "html",
           ".htm": "html", ".txt": "txt", ".text": "txt", ".md": "txt"}
_WHITESPACE = b"\xef\xbb\xbf \t\r\n\f\v"
# The files that mark a folder as a newsqa index (index.store.DB_NAME with index.update.MANIFEST_NAME or
# index.lock.LOCK_NAME; named here because corpus does not import index): such a folder inside an input folder is
# not read as input.
INDEX_DB = "meta.sqlite"
INDEX_MARKERS = ("manifest.json", ".write.lock")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class Skipped:
    """An input that was not ingested: where it is (file, line or record) and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class RawRecord:
    """Fields of one article as found in the input, before validation and cleaning."""

    fields: dict[str, Any]
    origin: str
    default_id_basis: str | None = None  # stable id basis for files without ids (see file_id_basis)
    meta: dict[str, Any] = field(default_factory=dict)


class BadEncoding(ValueError):
    pass


def decode(data: bytes, legacy: bool = True) -> str:
    """Text of a file: BOM-marked UTF-8/16/32, else UTF-8, else (with legacy) a legacy 8-bit encoding as
    detected by charset-normalizer. JSON Lines are read without legacy: JSON is UTF-8 by its RFC (8259)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise BadEncoding(f"invalid {encoding} at byte {exc.start}") from None
    if b"\x00" in data[:8192]:
        raise BadEncoding("binary data (NUL bytes), not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
        text = _decode_legacy(data) if legacy else None
        if text is None and legacy:
            raise BadEncoding(f"not text: neither valid UTF-8 ({problem}) nor any legacy encoding") from None
        if text is None:
            raise BadEncoding(f"not valid UTF-8 ({problem}); re-encode the file as UTF-8") from None
        return text


def _decode_legacy(data: bytes) -> str | None:
    """Scraped archives often hold Latin-1 / Windows-125x pages; None when no encoding reads as text."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    # Short Western texts read equally well in several code pages (cp1250, cp850, ...); the one that decodes them
    # as cp1252 is preferred, as browsers do for pages labelled Latin-1 (WHATWG Encoding Standard).
    if any("cp1252" in m.could_be_from_charset for m in matches if m.percent_chaos <= best.percent_chaos):
        return data.decode("cp1252")
    return str(best)


def file_id_basis(path: Path) -> str:
    """What the id of an article read from a file without an id or URL is made from: the file's absolute path
    (symbolic links resolved), so the same file is one article however its folder was named on the command line,
    and re-ingesting it after an edit updates that article."""
    return f"file:{os.path.realpath(path)}"


def is_index_dir(path: Path) -> bool:
    """Whether a folder holds a newsqa index (its SQLite store beside a manifest or a write lock)."""
    return (path / INDEX_DB).is_file() and any((path / name).exists() for name in INDEX_MARKERS)


def expand_inputs(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, Path] | Skipped]:
    """(file, root it was found under) for every file named, inside a folder (recursive) or matched by a glob.

    A file reached twice (named twice, or through a symbolic link) is read once.
    """
    seen: set[str] = set()
    for item in _expand(paths):
        if isinstance(item, tuple):
            real = os.path.realpath(item[0])
            if real in seen:
                continue
            seen.add(real)
        yield item


def _expand(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, Path] | Skipped]:
    for given in paths:
        path = Path(given)
        if path.is_dir() and is_index_dir(path):
            yield Skipped(str(given), "a newsqa index folder, not articles")
        elif path.is_dir():
            yield from _walk(path)
        elif path.is_file():
            yield path, path.parent
        elif any(ch in str(given) for ch in "*?["):
            matches = sorted(glob.glob(str(given), recursive=True))
            if not matches:
                yield Skipped(str(given), "no file matches this pattern")
            for match in matches:
                yield from _expand([match])
        elif path.is_symlink():
            yield Skipped(str(given), "broken symbolic link")
        else:
            yield Skipped(str(given), "no such file or folder")


def _walk(root: Path) -> Iterator[tuple[Path, Path]]:
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinked folders: no loops
        indexes = [d for d in dirnames if is_index_dir(Path(dirpath) / d)]
        for name in indexes:
            log.info("not reading %s: it holds a newsqa index", Path(dirpath) / name)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in indexes)
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name, root


def detect_format(path: Path, head: bytes) -> str | None:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt:
        return fmt
    sniff = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if sniff == b"{":
        return "jsonl"
    if sniff == b"[":
        return "json"
    if sniff == b"<":
        return "html"
    return None


def read_file(path: Path) -> Iterator[RawRecord | Skipped]:
    """Raw records of one file; a file that cannot be read at all is one Skipped."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        yield Skipped(name, f"cannot read: {exc.strerror or exc}")
        return
    if len(head) < 8192 and not head.strip(_WHITESPACE):
        yield Skipped(name, "empty file")
        return
    fmt = detect_format(path, head)
    if fmt is None:
        yield Skipped(name, f"unsupported file type '{path.suffix or '(none)'}' "
                            f"(supported: {', '.join(sorted(FORMATS))})")
        return
    if fmt == "jsonl":
        yield from _read_jsonl(path)
        return
    try:
        text = decode(path.read_bytes())
    except (BadEncoding, OSError) as exc:
        yield Skipped(name, str(exc))
        return
    if not text.strip():
        yield Skipped(name, "empty file")
    elif fmt == "json":
        yield from _read_json(text, name)
    elif fmt == "csv":
        yield from _read_csv(text, name)
    elif fmt == "html":
        yield from read_html(text, name, file_id_basis(path))
    else:
        yield RawRecord(parse_scraped_text(text), name, default_id_basis=file_id_basis(path))


def _read_jsonl(path: Path) -> Iterator[RawRecord | Skipped]:
    name = str(path)
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            try:  # UTF-16 cannot be read line by line as bytes; such files are small exports
                lines: Iterable[bytes | str] = decode(path.read_bytes()).splitlines()
            except BadEncoding as exc:
                yield Skipped(name, str(exc))
                return
        else:
            handle.seek(0)
            lines = handle  # streamed: archives can be far larger than memory
        records = 0
        for number, line in enumerate(lines, start=1):
            where = f"{name}:{number}"
            try:
                text = decode(line, legacy=False) if isinstance(line, bytes) else line
            except BadEncoding as exc:
                yield Skipped(where, str(exc))
                continue
            text = text.strip().lstrip("\ufeff")
            if not text:
                continue  # blank lines are no records
            records += 1
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Skipped(where, _json_problem(exc, f"column {exc.colno}"))
                continue
            except RecursionError:
                yield Skipped(where, "malformed JSON: nested too deeply")
                continue
            yield RawRecord(record, where)
    if not records:
        yield Skipped(name, "empty file")


def _json_problem(exc: json.JSONDecodeError, position: str) -> str:
    """json's message ("Expecting ',' delimiter") with where it is and the text around it."""
    near = exc.doc[max(0, exc.pos - 20):exc.pos + 20]
    return f"malformed JSON at {position}: {exc.msg[:1].lower()}{exc.msg[1:]} (near {near!r})"


def _read_json(text: str, name: str) -> Iterator[RawRecord | Skipped]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Skipped(name, _json_problem(exc, f"line {exc.lineno} column {exc.colno}"))
        return
    except RecursionError:
        yield Skipped(name, "malformed JSON: nested too deeply")
        return
    if isinstance(data, dict):
        for key in ("articles", "items", "data", "records", "results"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data]
    if not isinstance(data, list):
        yield Skipped(name, f"expected a list of articles, got {type(data).__name__}")
        return
    for number, record in enumerate(data):
        yield RawRecord(record, f"{name}[{number}]")


def _read_csv(text: str, name: str) -> Iterator[RawRecord | Skipped]:
    from corpus.article import ALIASES

    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # article bodies exceed the 128 kB default
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or []) if h]
    except csv.Error as exc:
        yield Skipped(name, f"malformed CSV header: {exc}")
        return
    if not any(alias in header for alias in ALIASES["text"]):
        yield Skipped(name, f"CSV has no text column (looked for {', '.join(ALIASES['text'])}; "
                            f"header has: {', '.join(header) or 'nothing'})")
        return
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Skipped(f"{name}:{reader.line_num}", f"malformed CSV: {exc}")
            return
        number += 1
        where = f"{name}:row {number} (line {reader.line_num})"
        if None in row:
            yield Skipped(where, f"{len(header) + len(row[None])} fields where the header has {len(header)}")
            continue
        if any(value is None for value in row.values()):
            missing = [k for k, v in row.items() if v is None]
            if any(m.strip().lower() in ALIASES["text"] for m in missing):
                yield Skipped(where, f"row has too few fields (missing: {', '.join(missing)})")
                continue
        yield RawRecord({k: v for k, v in row.items() if v is not None}, where)


def read_html(text: str, name: str, id_basis: str) -> Iterator[RawRecord | Skipped]:
    """The article of one HTML page (trafilatura main text, page_meta headline, date and address): one record,
    or one Skipped saying why not. Used by file ingest and by feeds for the pages their items link to."""
    import trafilatura  # heavy import, only when HTML is met

    try:
        extracted = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                                include_tables=False)
        document = extracted.as_dict() if extracted is not None else None
    except Exception as exc:  # noqa: BLE001 - a library failure on one page must not stop the ingest
        yield Skipped(name, f"HTML extraction failed: {type(exc).__name__}: {exc}")
        return
    if not document or not (document.get("text") or "").strip():
        yield Skipped(name, "no article text found in the HTML page")
        return
    from corpus.page_meta import page_meta

    meta = page_meta(text, document)
    fields = {
        "title": meta["title"], "date": meta["date"], "text": document["text"],
        "authors": document.get("author"), "source": document.get("sitename") or document.get("hostname"),
        "url": meta["url"],
    }
    yield RawRecord(fields, name, default_id_basis=id_basis)
