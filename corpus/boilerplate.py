"""Lines that repeat across many articles of one source are that source's boilerplate.

The counts can go on across ingests: with a LineHistory (the index's stored per-source line counts), a batch is
judged by what the archive has seen of its sources as well as by itself, so that an article posted alone is
cleaned like the same article in a bulk load, not with whatever its batch happened to teach.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

from corpus.clean import line_key, normalize

MIN_ARTICLES = 3
MAX_WORDS = 15  # a repeated long paragraph is more likely a syndicated story than a menu
SHARE = 0.02  # a short sentence ("He declined to comment.") recurs in a big archive too: ask for 2 % of it as well


@dataclass(frozen=True)
class RawLines:
    """The short lines of one raw text, counted into its source's statistics once its article is stored."""

    source: str | None
    digest: str  # of source and raw text: a text is counted once however often it is ingested
    keys: frozenset[str]


class LineHistory(Protocol):
    """What the archive has counted so far (index.store.LineHistory)."""

    def counted(self, digests: Collection[str]) -> set[str]:
        """The digests among these whose texts are in the counts already."""
        ...

    def counts(self, source: str | None, keys: Collection[str]) -> tuple[int, dict[str, int]]:
        """(texts counted for source, {key: texts holding it}) for the keys asked."""
        ...


def raw_lines(source: str | None, text: str) -> RawLines:
    keys = {line_key(line) for line in normalize(text).split("\n") if line.strip() and len(line.split()) <= MAX_WORDS}
    keys.discard("")
    digest = hashlib.sha1(f"{source}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return RawLines(source, digest, frozenset(keys))


def find_boilerplate(items: Iterable[RawLines], min_articles: int = MIN_ARTICLES,
                     history: LineHistory | None = None) -> dict[str | None, frozenset[str]]:
    """Per source, the keys of short lines seen in >= min_articles texts (and in SHARE of them), counting the
    given texts (each distinct one once) and what history has counted before."""
    texts: Counter[str | None] = Counter()
    counts: dict[str | None, Counter[str]] = defaultdict(Counter)
    unique = {item.digest: item for item in items}
    known = history.counted(list(unique)) if history is not None else set()
    for digest, item in unique.items():
        if digest not in known:  # a text counted before is in history's counts already
            texts[item.source] += 1
            counts[item.source].update(item.keys)
    for item in unique.values():
        counts[item.source].update(())  # a source whose texts were all counted before still gets its set
    result = {}
    for source, counter in counts.items():
        total = texts[source]
        if history is not None:
            asked = {k for item in unique.values() if item.source == source for k in item.keys}
            past, found = history.counts(source, asked)
            total += past
            counter = counter + Counter(found)
        threshold = max(min_articles, int(SHARE * total))
        result[source] = frozenset(k for k, n in counter.items() if n >= threshold)
    return result
