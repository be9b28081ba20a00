"""RSS 2.0, RSS 1.0 and Atom feeds: their items (parsed with feedparser), and the raw record of each item, made
from the page it links to (main text and metadata extracted as `.html` ingest does) or, when that page cannot be
had, from the item's own content or summary, with a note saying so."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

from corpus.fetch import Fetched
from corpus.readers import BadEncoding, RawRecord, Skipped, decode, read_html

HTML_TYPES = ("text/html", "application/xhtml+xml")
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/li|/h\d|/blockquote)\b[^>]*>", re.IGNORECASE)


class FeedMalformed(ValueError):
    """A document that is no RSS or Atom feed, or one too broken to read items from."""


@dataclass(frozen=True)
class Item:
    """One feed entry. key: its GUID, else its link, else a hash of its content (what "seen" is decided by);
    content_hash: changes when anything the feed says about the item changes."""

    key: str
    link: str | None
    title: str | None
    published: str | None  # ISO 8601
    authors: tuple[str, ...]
    body: str | None  # the item's own content, else its summary, as plain text
    content_hash: str

    @property
    def article_id(self) -> str:
        """The stored article's id: from the key, so a changed item replaces its article, and an item that two
        feeds carry is one article."""
        return "feed-" + hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Feed:
    title: str | None
    items: list[Item]
    problem: str | None = None  # what was wrong with a document still read


def parse_feed(data: bytes, url: str = "", content_type: str = "application/xml") -> Feed:
    """The items of an RSS 2.0 / RSS 1.0 / Atom document; FeedMalformed when it is none or unreadable.
    url resolves relative links; content_type is the server's (its charset is the document's default)."""
    import feedparser

    headers = {"content-type": content_type or "application/xml", **({"content-location": url} if url else {})}
    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=True, response_headers=headers)
    problem = parsed.get("bozo_exception")
    if not parsed.get("version") and not parsed.entries:
        raise FeedMalformed(f"not an RSS or Atom feed{f': {problem}' if problem else ''}"[:300])
    with warnings.catch_warnings():  # feedparser warns on reading `updated` of an entry that has only `published`
        warnings.simplefilter("ignore", DeprecationWarning)
        items = [i for i in (_item(entry) for entry in parsed.entries) if i is not None]
    broken = bool(parsed.get("bozo")) and not isinstance(
        problem, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType))
    if broken and not items:
        raise FeedMalformed(f"malformed XML, no item could be read: {problem}"[:300])
    # feedparser's lenient parser reads what it can of a broken document: those items are taken, the problem noted
    return Feed(title=parsed.feed.get("title"), items=items,
                problem=f"malformed XML (read {len(items)} items anyway): {problem}"[:300] if broken else None)


def _item(entry: Any) -> Item | None:
    link = entry.get("link") or None
    if link is not None and not re.match(r"https?://", link, re.IGNORECASE):
        link = None  # mailto:, javascript:, relative links that could not be resolved: no page to fetch
    title = " ".join((entry.get("title") or "").split()) or None
    contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    body = html_to_text(contents[0] if contents else entry.get("summary") or "") or None
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = dt.datetime.fromtimestamp(calendar.timegm(stamp), dt.UTC).isoformat() if stamp else None
    authors = tuple(a.get("name", "").strip() for a in entry.get("authors", []) if a.get("name", "").strip())
    content_hash = hashlib.sha1(json.dumps([title, link, body, entry.get("published"), entry.get("updated")]
                                           ).encode("utf-8")).hexdigest()
    key = entry.get("id") or link or (f"hash:{content_hash}" if title or body else None)
    if key is None:
        return None
    return Item(key=str(key), link=link, title=title, published=published, authors=authors, body=body,
                content_hash=content_hash)


def html_to_text(value: str) -> str:
    """Plain text of a feed's HTML fragment, one line per paragraph."""
    if "<" not in value:
        return value.strip()
    import lxml.html

    try:
        text = lxml.html.fromstring(f"<div>{_BLOCK_END.sub(chr(10), value)}</div>").text_content()
    except (ValueError, lxml.etree.ParserError):
        return re.sub(r"<[^>]+>", " ", value).strip()
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def item_record(item: Item, origin: str, page: Fetched | None, problem: str | None, source: str | None = None,
                feed_title: str | None = None) -> tuple[RawRecord | Skipped, str | None]:
    """The raw record of an item, and a note when it is not its page's article (why the page was not used).
    page: the fetched page of item.link, or None with problem saying why there is none. The source is the
    feed's configured one, else the page's site name, else the feed's title."""
    fields: dict[str, Any] = {}
    note = problem
    if page is not None:
        if page.content_type and page.content_type not in HTML_TYPES:
            note = f"the page is {page.content_type}, not HTML"
        else:
            try:
                found = next(read_html(decode(page.body), item.link or origin, f"feed:{item.key}"))
            except BadEncoding as exc:
                found = Skipped(origin, str(exc))
            if isinstance(found, RawRecord):
                fields = {k: v for k, v in found.fields.items() if v}
            else:
                note = f"no article in the page ({found.reason})"
    if not fields:
        if not item.body and not item.title:
            return Skipped(origin, f"{note}; the item has no content or summary either"), note
        note = f"{note}: the feed's own {'text' if item.body else 'headline'} was ingested instead"
        fields = {"text": item.body or item.title or ""}
    fields["id"] = item.article_id
    fields["url"] = item.link or fields.get("url")
    fields.setdefault("title", item.title)
    fields.setdefault("date", item.published)
    if item.authors:
        fields.setdefault("authors", list(item.authors))
    if source:
        fields["source"] = source
    elif feed_title:
        fields.setdefault("source", feed_title)
    return RawRecord(fields, origin + (f" ({note})" if note else "")), note
