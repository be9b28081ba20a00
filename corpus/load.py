"""From input paths to clean Articles, with every unreadable record reported."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from corpus.article import MAX_CHARS, Article, BadArticle, article_from_record
from corpus.boilerplate import LineHistory, RawLines, find_boilerplate, raw_lines
from corpus.readers import RawRecord, Skipped, expand_inputs, read_file


@dataclass(frozen=True)
class Loaded:
    articles: list[Article]
    skipped: list[Skipped]

    @property
    def records(self) -> int:
        return len(self.articles) + len(self.skipped)


def read_raw(paths: Iterable[str | os.PathLike[str]]) -> Iterator[RawRecord | Skipped]:
    for item in expand_inputs(paths):
        if isinstance(item, Skipped):
            yield item
        else:
            yield from read_file(item[0])


def _source_of(record: RawRecord) -> str | None:
    fields = record.fields if isinstance(record.fields, dict) else {}
    source = fields.get("source") or fields.get("site") or fields.get("publisher")
    return str(source) if isinstance(source, str) else None


def load_articles(paths: Iterable[str | os.PathLike[str]], max_chars: int = MAX_CHARS,
                  history: LineHistory | None = None) -> Loaded:
    """Read and clean every article under paths; boilerplate lines are learnt across the whole batch (and what
    history has counted)."""
    raws: list[RawRecord] = []
    skipped: list[Skipped] = []
    for item in read_raw(paths):
        (skipped if isinstance(item, Skipped) else raws).append(item)
    return articles_from_raw(raws, skipped, max_chars, history)


def load_batches(paths: Iterable[str | os.PathLike[str]], max_chars: int = MAX_CHARS,
                 batch_size: int = 5000, history: LineHistory | None = None) -> Iterator[Loaded]:
    """Like load_articles, `batch_size` records at a time: bounded memory. Without a history boilerplate is
    learnt per batch; with the index's, over the archive (a batch's counts join it when the batch is stored)."""
    for raws, skipped in batch_raw(read_raw(paths), batch_size):
        yield articles_from_raw(raws, skipped, max_chars, history)


def batch_raw(items: Iterable[RawRecord | Skipped], batch_size: int
              ) -> Iterator[tuple[list[RawRecord], list[Skipped]]]:
    """Records in batches of batch_size (skipped inputs ride along with the batch they were met in): the
    grouping shared by local and Ray ingest so both clean alike."""
    raws: list[RawRecord] = []
    skipped: list[Skipped] = []
    for item in items:
        (skipped if isinstance(item, Skipped) else raws).append(item)
        if len(raws) >= batch_size:
            yield raws, skipped
            raws, skipped = [], []
    if raws or skipped:
        yield raws, skipped


def load_records(records: Iterable[object], origin: str, max_chars: int = MAX_CHARS,
                 history: LineHistory | None = None) -> Loaded:
    """Articles from records already in memory (an HTTP request body); origin names where they came from."""
    raws = [RawRecord(r, f"{origin}[{i}]") for i, r in enumerate(records)]  # type: ignore[arg-type]
    return articles_from_raw(raws, [], max_chars, history)


def articles_from_raw(raws: list[RawRecord], skipped: list[Skipped], max_chars: int = MAX_CHARS,
                      history: LineHistory | None = None) -> Loaded:
    """Clean records into articles; each article carries its raw text's short lines (Article.raw_lines) for the
    index to count."""
    boilerplate = learn_boilerplate(raws, max_chars, history)
    articles: list[Article] = []
    for raw in raws:
        cleaned = clean_record(raw, boilerplate, max_chars)
        (articles if isinstance(cleaned, Article) else skipped).append(cleaned)
    return Loaded(articles, skipped)


def _raw_lines(raw: RawRecord, max_chars: int) -> RawLines | None:
    fields = raw.fields if isinstance(raw.fields, dict) else {}
    text = fields.get("text") or fields.get("body") or fields.get("content")
    return raw_lines(_source_of(raw), text) if isinstance(text, str) and len(text) <= max_chars else None


def learn_boilerplate(raws: Sequence[RawRecord], max_chars: int = MAX_CHARS, history: LineHistory | None = None
                      ) -> dict[str | None, frozenset[str]]:
    """Per source, the boilerplate line keys of these records and what history has counted (corpus.boilerplate)."""
    lines = (_raw_lines(r, max_chars) for r in raws)
    return find_boilerplate((x for x in lines if x is not None), history=history)


def clean_record(raw: RawRecord, boilerplate: Mapping[str | None, frozenset[str]], max_chars: int = MAX_CHARS
                 ) -> Article | Skipped:
    """One record as a clean Article (carrying its raw lines for the index to count), or why it was skipped."""
    try:
        article = article_from_record(raw.fields, raw.origin, id_basis=raw.default_id_basis,
                                      boilerplate=boilerplate.get(_source_of(raw), frozenset()), max_chars=max_chars)
        return replace(article, raw_lines=_raw_lines(raw, max_chars))
    except BadArticle as exc:
        return Skipped(raw.origin, str(exc))
    except RecursionError:
        return Skipped(raw.origin, "record nested too deeply")
