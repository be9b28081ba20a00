"""Find input files and read raw records out of them: JSONL, JSON, CSV, HTML and scraped text.

Every problem becomes a `Skipped` (where + why) and reading goes on with the next record or file.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.scraped import parse_scraped_text

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".html": "html",
           ".htm": "html", ".txt": "txt", ".text": "txt", ".md": "txt"}
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
    default_id_basis: str | None = None  # stable id basis for files without ids (path, not content)
    meta: dict[str, Any] = field(default_factory=dict)


class BadEncoding(ValueError):
    pass


def decode(data: bytes) -> str:
    """Text of a file: BOM-marked UTF-8/16/32, else strict UTF-8 (a wrong guess would corrupt quotes)."""
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
        raise BadEncoding(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                          "re-encode the file as UTF-8") from None


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
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):  # does not follow symlinked folders: no loops
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if not name.startswith("."):
                        yield Path(dirpath) / name, path
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


def read_file(path: Path, root: Path) -> Iterator[RawRecord | Skipped]:
    """Raw records of one file; a file that cannot be read at all is one Skipped."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        yield Skipped(name, f"cannot read: {exc.strerror or exc}")
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
    relative = os.path.relpath(path, root)
    if fmt == "json":
        yield from _read_json(text, name)
    elif fmt == "csv":
        yield from _read_csv(text, name)
    elif fmt == "html":
        yield from _read_html(text, name, relative)
    else:
        fields = parse_scraped_text(text)
        yield RawRecord(fields, name, default_id_basis=f"file:{relative}")


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
        for number, line in enumerate(lines, start=1):
            where = f"{name}:{number}"
            try:
                text = decode(line) if isinstance(line, bytes) else line
            except BadEncoding as exc:
                yield Skipped(where, str(exc))
                continue
            text = text.strip().lstrip("\ufeff")
            if not text:
                continue  # blank lines are no records
            try:
                record = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                yield Skipped(where, f"malformed JSON: {getattr(exc, 'msg', 'nested too deeply')}")
                continue
            yield RawRecord(record, where)


def _read_json(text: str, name: str) -> Iterator[RawRecord | Skipped]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Skipped(name, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
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


def _read_html(text: str, name: str, relative: str) -> Iterator[RawRecord | Skipped]:
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
    yield RawRecord(fields, name, default_id_basis=f"file:{relative}")
