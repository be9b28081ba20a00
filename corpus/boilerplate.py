"""Lines that repeat across many articles of one source are that source's boilerplate."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from corpus.clean import line_key, normalize

MIN_ARTICLES = 3
MAX_WORDS = 15  # a repeated long paragraph is more likely a syndicated story than a menu


def find_boilerplate(items: Iterable[tuple[str | None, str]], min_articles: int = MIN_ARTICLES
                     ) -> dict[str | None, frozenset[str]]:
    """For (source, raw text) pairs: per source, the keys of short lines seen in >= min_articles texts."""
    counts: dict[str | None, Counter[str]] = defaultdict(Counter)
    seen_texts: set[int] = set()
    items_seen: list[tuple[str | None, None]] = []
    for source, text in items:
        digest = hash(text)
        if digest in seen_texts:
            continue  # exact copies would count a line twice
        seen_texts.add(digest)
        items_seen.append((source, None))
        keys = {line_key(line) for line in normalize(text).split("\n")
                if line.strip() and len(line.split()) <= MAX_WORDS}
        keys.discard("")
        counts[source].update(keys)
    articles = Counter(source for source, _ in items_seen)
    result = {}
    for source, counter in counts.items():
        # a short sentence ("He declined to comment.") recurs in a big archive too: ask for 2% of it as well
        threshold = max(min_articles, int(0.02 * articles[source]))
        result[source] = frozenset(k for k, n in counter.items() if n >= threshold)
    return result
