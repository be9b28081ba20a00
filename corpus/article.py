"""The Article record and how a raw record (dict of fields) becomes one."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.clean import clean_text
from corpus.dates import parse_date

MAX_CHARS = 2_000_000  # ~500k tokens: far beyond any real article; past it a record is data, not news
MIN_HEADLINE_WORDS = 2  # a body that cleans to nothing keeps the article as its headline, if it says this much


class BadArticle(ValueError):
    """A record that cannot become an article (no text, wrong types, ...)."""


# Field aliases seen in real exports; the first name is the canonical one.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "article_id", "doc_id", "uid", "guid"),
    "url": ("url", "link", "href", "canonical_url"),
    "title": ("title", "headline", "heading", "name"),
    "date": ("date", "published_at", "publish_date", "published", "pubdate", "date_published",
             "datetime", "timestamp", "created_at"),
    "source": ("source", "site", "sitename", "publisher", "outlet", "domain"),
    "authors": ("authors", "author", "byline", "creator"),
    "text": ("text", "body", "content", "article", "maintext", "full_text", "article_text"),
}


@dataclass(frozen=True)
class Article:
    """One cleaned article; `text` is what citation offsets index into."""

    id: str
    text: str
    title: str | None = None
    date: str | None = None  # ISO YYYY-MM-DD
    source: str | None = None
    url: str | None = None
    authors: tuple[str, ...] = ()
    origin: str = ""  # where it was read from, e.g. "news.jsonl:12"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    # the raw text's short lines (corpus.boilerplate.RawLines), counted into the index's per-source statistics
    raw_lines: Any = field(default=None, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        """Changes whenever anything stored about the article changes."""
        payload = json.dumps([self.text, self.title, self.date, self.source, self.url, list(self.authors)])
        return hashlib.sha1(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "date": self.date, "source": self.source,
            "url": self.url, "authors": list(self.authors), "text": self.text,
        }


def derive_id(url: str | None, text: str) -> str:
    """Stable id for a record that has none: from its URL, else from its text."""
    basis = f"url:{url.strip()}" if url and url.strip() else f"text:{text}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:12]


def _pick(record: Mapping[str, Any], name: str) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
    for alias in ALIASES[name]:
        value = lowered.get(alias)
        if value not in (None, ""):
            return value
    return None


def _as_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = " ".join(str(value).split())
        return text or None
    raise BadArticle(f"field '{name}' must be a string, got {type(value).__name__}")


def _authors(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.replace(" and ", ",").replace(";", ",").split(",")
        return tuple(p.strip() for p in parts if p.strip())
    if isinstance(value, list):
        names = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("name")
            if isinstance(item, str) and item.strip():
                names.append(" ".join(item.split()))
        return tuple(names)
    raise BadArticle(f"field 'authors' must be a string or a list, got {type(value).__name__}")


def article_from_record(record: Any, origin: str, *, clean: bool = True,
                        boilerplate: frozenset[str] = frozenset(), id_basis: str | None = None,
                        max_chars: int = MAX_CHARS) -> Article:
    """Validate one raw record (JSON object, CSV row) and clean its text."""
    if not isinstance(record, Mapping):
        raise BadArticle(f"expected an object with a 'text' field, got {type(record).__name__}")
    raw_text = _pick(record, "text")
    if raw_text is None:
        raise BadArticle("no text (looked for: " + ", ".join(ALIASES["text"]) + ")")
    if not isinstance(raw_text, str):
        raise BadArticle(f"field 'text' must be a string, got {type(raw_text).__name__}")
    if max_chars and len(raw_text) > max_chars:
        raise BadArticle(f"text is {len(raw_text):,} characters, over the limit of {max_chars:,} "
                         f"(NEWSQA_MAX_ARTICLE_CHARS)")
    title = _as_str(_pick(record, "title"), "title")
    url = _as_str(_pick(record, "url"), "url")
    if title is None and url:
        title = title_from_url(url)  # news URLs carry the headline's words: the best title a page without one has
    text = clean_text(raw_text, title=title, boilerplate=boilerplate) if clean else raw_text
    headline = clean_text(title, keep_short=True) if title else None
    if not text.strip():
        if not headline or len(headline.split()) < MIN_HEADLINE_WORDS:
            raise BadArticle("text is empty after cleaning")
        # A video page or a teaser: its body was all player and ad junk, but the headline and date still record
        # what happened and when, so the headline is the article's (citable) text.
        text = headline
    raw_id = _pick(record, "id")
    if raw_id is not None:
        article_id = _as_str(raw_id, "id")
    else:
        article_id = derive_id(url or id_basis, text)
    raw_date = _pick(record, "date")
    date = parse_date(raw_date) if raw_date is not None else None
    return Article(
        id=article_id or derive_id(url, text),
        text=text,
        title=headline,
        date=date,
        source=_as_str(_pick(record, "source"), "source"),
        url=url,
        authors=_authors(_pick(record, "authors")),
        origin=origin,
    )


_URL_FILE = re.compile(r"\.(?:s?html?|php|aspx?|cms|cnn|jsp)$", re.IGNORECASE)
_URL_GENERIC = frozenset({"index", "default", "story", "article", "amp", "news", "live", "video", "videos"})
_VOWEL = re.compile(r"[aeiouy]", re.IGNORECASE)


def title_from_url(url: str) -> str | None:
    """Headline words from a URL slug ("/2022/06/15/business/ford-recall/index.html" -> "Ford recall"), or None.

    The last path segment that reads as words joined by hyphens is the slug; trailing tokens without a vowel
    ("intl-hnk", "scn") are site section codes, and ids, dates and hashes are no slug at all.
    """
    path = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", url.strip(), flags=re.IGNORECASE)
    path = re.split(r"[?#]", path, maxsplit=1)[0]
    for segment in reversed([s for s in path.split("/") if s]):
        segment = _URL_FILE.sub("", segment)
        if segment.lower() in _URL_GENERIC or "-" not in segment:
            continue
        tokens = [t for t in re.split(r"[-_+]+", segment) if t]
        if not all(t.isalnum() for t in tokens):
            continue
        while tokens and not _VOWEL.search(tokens[-1]):
            tokens.pop()
        words = [t for t in tokens if t.isalpha() and len(t) > 1 and _VOWEL.search(t)]
        if len(words) < 2 or 2 * len(words) < len(tokens):
            continue
        title = " ".join(t.lower() for t in tokens)
        return title[0].upper() + title[1:]
    return None


# Opinion and analysis pieces, explainers, timelines, fact checks, live pages, recaps, photo galleries and news
# digests ("5 things to know for June 8: ...", "Morning briefing") discuss, show or list events that news reports
# report; their headlines say what they are in a few conventional ways.
_COMMENTARY_OR_DIGEST = re.compile(
    r"^(?:opinion|analysis|commentary|editorial|op-ed)\s*[:|]|\b(?:\d+|\w+) things (?:you need )?to know\b|"
    r"\b(?:morning|evening|daily|weekly) (?:briefing|brief|digest|roundup)\b|\bnewsletter\b|\bwhat we know\b|"
    r"\bthe week in\b|\b(?:everything|what) (?:you need )?to know\b|\btimeline\b|\bfact ?check\b|"
    r"\blive (?:updates|blog)\b|\brecap\b|^(?:photos|in pictures)\s*:|\ba life in pictures\b|\bsee (?:the )?photos\b|"
    # a headline that asks ("What happens when a prime minister resigns?", "Who was al Qaeda leader ...?") heads an
    # explainer or a feature, not the report of what happened
    r"\?(?=\s|$|\.\.\.|…)", re.IGNORECASE)


def is_commentary_or_digest(title: str | None) -> bool:
    """Whether a headline marks its article as opinion, analysis, an explainer ("what we know", a headline that
    asks a question, a timeline, a fact check), a live page, a recap, a photo gallery or a digest."""
    return bool(title) and _COMMENTARY_OR_DIGEST.search(title) is not None
