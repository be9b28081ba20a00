"""A news page's headline, address and publication date as the page itself states them.

trafilatura extracts the main text well, but its metadata is the page's <title> or og:title, which often carries
the site's name and a date ("... | DW | 19.01.2020", "... - California Globe"), is sometimes the CMS's name, and its
date may be a related story's. Here: the headline the reader sees is the page's <h1> when that h1 is about the same
story as the title metadata (not a masthead or an ad); otherwise the title metadata without its site-name or date
tail. The address is og:url or the canonical link; the date is the publication date the page declares
(article:published_time, schema.org datePublished, a "Published:" label), not a modification date.
"""

from __future__ import annotations

import json
import re
from typing import Any

from corpus.dates import parse_date

_SEPARATOR = re.compile(r"\s+[|\-–—•·:l]\s+(?=[^|\-–—•·]*$)")
_DATE_LIKE = re.compile(r"^\W*(?:\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}|\d{1,2}\s+\w+\s+\d{4}|\w+\s+\d{1,2},?\s+\d{4})\W*$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_DATE_LABEL = re.compile(r"^\s*(?:Published|Posted|Written|Created|First published)(?:\s+on)?\s*:?\s*(.{6,40})",
                         re.IGNORECASE)
_LOCAL_OFFSET = re.compile(r"T\d\d:\d\d.*[+-](?!00:?00)\d\d:?\d\d$")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "′": "'", "“": '"', "”": '"'})


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text.translate(_QUOTES)) if len(w) > 2}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _is_site(segment: str, sites: list[str]) -> bool:
    key = _squash(segment)
    return bool(key) and any(s and (s.startswith(key) or key.startswith(s)) for s in sites)


def strip_site(title: str, sites: list[str]) -> str:
    """title without trailing parts that name the site or give a date ("... | DW | 19.01.2020" -> "...")."""
    title = " ".join(title.split())
    while True:
        match = _SEPARATOR.search(title)
        if not match or match.start() < 10:
            return title
        tail = title[match.end():]
        if not (_is_site(tail, sites) or _DATE_LIKE.match(tail)):
            return title
        title = title[:match.start()].rstrip()


def _same_story(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    return bool(wa and wb) and len(wa & wb) >= 0.5 * min(len(wa), len(wb))


def _first(tree: Any, xpath: str) -> str | None:
    for value in tree.xpath(xpath):
        text = value if isinstance(value, str) else value.text_content()
        text = " ".join(str(text).split())
        if text:
            return text
    return None


def _ld_dates(tree: Any) -> list[str]:
    found = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            found += re.findall(r'"datePublished"\s*:\s*"([^"]+)"', script)
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if isinstance(item.get("datePublished"), str):
                    found.append(item["datePublished"])
                stack += list(item.values())
            elif isinstance(item, list):
                stack += item
    return found


def page_meta(html: str, extracted: dict[str, Any]) -> dict[str, Any]:
    """title, url and date of a page, starting from trafilatura's (extracted) and correcting them from the page."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return {k: extracted.get(k) for k in ("title", "url", "date")}
    sites = [_squash(s) for s in (extracted.get("sitename"), _first(tree, '//meta[@property="og:site_name"]/@content'),
                                  (extracted.get("hostname") or "").replace("www.", "").split(".")[0]) if s]
    meta_titles = [t for t in (_first(tree, '//meta[@property="og:title"]/@content'), _first(tree, "//title"),
                               extracted.get("title")) if t]
    title = None
    # "Headline | Site": a short last part of the <title> after a bar is the site's name
    page_title = _first(tree, "//title") or ""
    if " | " in page_title and len(page_title.rsplit(" | ", 1)[1].split()) <= 4:
        sites.append(_squash(page_title.rsplit(" | ", 1)[1]))
    stories = [strip_site(t, sites) for t in meta_titles]
    for h1 in tree.xpath("//h1"):
        text = " ".join(h1.text_content().split())
        if 10 <= len(text) <= 300 and not _is_site(text, sites) and any(_same_story(text, t) for t in stories):
            title = text
            break
    if title is None:
        for candidate in meta_titles:
            stripped = strip_site(candidate, sites)
            if len(stripped.split()) >= 3:  # one word is a CMS or site name ("escenic"), not a headline
                title = stripped
                break
    url = (extracted.get("url") or _first(tree, '//meta[@property="og:url"]/@content')
           or _first(tree, '//link[@rel="canonical"]/@href'))
    declared = [*tree.xpath('//meta[@property="article:published_time"]/@content'),
                _first(tree, '//meta[@itemprop="datePublished"]/@content'), *_ld_dates(tree)]
    # A time in the publisher's own zone says the day its readers saw; the same instant in UTC may be the next day.
    declared.sort(key=lambda v: 0 if v and _LOCAL_OFFSET.search(v) else 1)
    for node in tree.xpath("//body//text()")[:5000]:
        match = _DATE_LABEL.match(str(node))
        if match:
            declared.append(match.group(1))
            break
    date = next((d for d in (parse_date(v) for v in declared if v) if d), None) or extracted.get("date")
    return {"title": title or extracted.get("title"), "url": url, "date": date}
