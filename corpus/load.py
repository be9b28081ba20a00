"""From input paths to clean Articles, with every unreadable record reported."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
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
    raws: list[RawRecord] = []
    skipped: list[Skipped] = []
    for item in read_raw(paths):
        (skipped if isinstance(item, Skipped) else raws).append(item)
        if len(raws) >= batch_size:
            yield articles_from_raw(raws, skipped, max_chars, history)
            raws, skipped = [], []
    if raws or skipped:
        yield articles_from_raw(raws, skipped, max_chars, history)


def load_records(records: Iterable[object], origin: str, max_chars: int = MAX_CHARS,
                 history: LineHistory | None = None) -> Loaded:
    """Articles from records already in memory (an HTTP request body); origin names where they came from."""
    raws = [RawRecord(r, f"{origin}[{i}]") for i, r in enumerate(records)]  # type: ignore[arg-type]
    return articles_from_raw(raws, [], max_chars, history)


def articles_from_raw(raws: list[RawRecord], skipped: list[Skipped], max_chars: int = MAX_CHARS,
                      history: LineHistory | None = None) -> Loaded:
    """Clean records into articles; each article carries its raw text's short lines (Article.raw_lines) for the
    index to count."""
    lines: list[RawLines | None] = []
    for raw in raws:
        text = raw.fields.get("text") or raw.fields.get("body") or raw.fields.get("content") if isinstance(
            raw.fields, dict) else None
        ok = isinstance(text, str) and len(text) <= max_chars
        lines.append(raw_lines(_source_of(raw), text) if ok else None)  # type: ignore[arg-type]
    boilerplate = find_boilerplate((x for x in lines if x is not None), history=history)
    articles: list[Article] = []
    for raw, found in zip(raws, lines, strict=True):
        try:
            article = article_from_record(raw.fields, raw.origin, id_basis=raw.default_id_basis,
                                          boilerplate=boilerplate.get(_source_of(raw), frozenset()),
                                          max_chars=max_chars)
            articles.append(replace(article, raw_lines=found))
        except BadArticle as exc:
            skipped.append(Skipped(raw.origin, str(exc)))
        except RecursionError:
            skipped.append(Skipped(raw.origin, "record nested too deeply"))
    return Loaded(articles, skipped)
