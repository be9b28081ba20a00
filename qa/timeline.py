"""Timelines: what happened with a subject, one dated line per report, in date order.

The subject's articles are the search hits for the query that score near the best one (re-published copies
folded), the stories those belong to, and, with an actor, the articles naming the actor. Each line quotes its
article exactly: the lead sentence, where news reports say what happened (the headline, field "title", when the
text has no usable sentence). Copies of one report (index.stories marks them) give one line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from corpus.sentences import split_sentences
from index.actor_reader import ActorIndex
from index.interface import IndexStore
from qa.search import Query, Searcher
from qa.stories import RELATED, articles_about_actor, coverage
from qa.timeparse import parse_time

MAX_EVENTS = 40
MIN_WORDS = 6  # a shorter lead (a dateline, a photo caption) is skipped for the next sentence
MAX_QUOTE = 400

# "timeline of the port strike", "what happened with Kellerby since March?", "what has happened to X"
_ASKS = re.compile(r"^\s*(?:(?:give|show) me |make |build )?(?:a |the )?(?:timeline|chronology) (?:of|for) (?P<a>.+?)"
                   r"\s*\??\s*$|^\s*what(?:'s| has|’s)? happened (?:with|to|in|on) (?P<b>.+?)\s*\??\s*$",
                   re.IGNORECASE)
_SINCE_DATE = re.compile(r"\bsince\s+([\w ,]+?)\s*\??\s*$", re.IGNORECASE)
_SINCE = re.compile(r"\s+(?:since|after|from|before|until|in)\s+.+$", re.IGNORECASE)


@dataclass(frozen=True)
class TimelineRequest:
    query: str | None = None
    actor: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    as_of: dt.date | None = None


@dataclass
class Timeline:
    events: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    subject: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "events": self.events, "coverage": self.coverage}

    def answer_text(self) -> str:
        """The timeline as answer text: one line per event, each with its [n] marker."""
        if not self.events:
            return "The archive has nothing dated on this."
        return "\n".join(f"{e['date']}: {e['quote']} [{i}]" for i, e in enumerate(self.events, 1))


def timeline_question(question: str, as_of: dt.date | None = None, newest: dt.date | None = None
                      ) -> TimelineRequest | None:
    """A TimelineRequest when the question asks for one ("timeline of X", "what happened with X since March"),
    else None. Dates in it become the range; "since March" is the last March before as_of (or before the
    archive's newest article, `newest`)."""
    match = _ASKS.match(question)
    if match is None:
        return None
    subject = _SINCE.sub("", match.group("a") or match.group("b") or "").strip(" ?.")
    if not subject:
        return None
    intent = parse_time(question, as_of)
    since = intent.since or _since(question, as_of or newest)
    return TimelineRequest(query=subject, since=since, until=intent.until, as_of=as_of)


def _since(question: str, base: dt.date | None) -> dt.date | None:
    match = _SINCE_DATE.search(question)
    if match is None:
        return None
    import dateparser  # only for a question that names a start

    when = dateparser.parse(match.group(1), settings={
        "RELATIVE_BASE": dt.datetime.combine(base or dt.date.today(), dt.time()), "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": []})
    return when.date() if when else None


def build_timeline(reader: IndexStore, searcher: Searcher, request: TimelineRequest,
                   max_events: int = MAX_EVENTS, actors: ActorIndex | None = None) -> Timeline:
    until = min((d for d in (request.until, request.as_of) if d), default=None)
    ids: set[str] = set()
    terms = request.query or ""
    if request.query:
        query = Query(request.query, k=30, since=request.since, until=until, actor=request.actor, time_aware=False)
        hits = searcher.search(query)
        if hits:
            top = hits[0].score
            ids.update(h.article_id for h in hits if h.score >= RELATED * top)
            # the stories of the best hits bring the reports the words missed
            stories = reader.story_ids([h.article_id for h in hits if h.score >= 0.8 * top])
            for story in set(stories.values()):
                ids.update(m["article_id"] for m in reader.story_articles(story))
    if request.actor:
        named = articles_about_actor(reader, request.actor, actors)
        ids = ids & named if request.query else named
        terms = terms or request.actor
    rows = _in_range(reader, ids, request.since, until)
    cover = coverage(reader, [r["id"] for r in rows]) if rows else coverage(reader, [])
    origins = reader.copy_origins([r["id"] for r in rows])
    stories = reader.story_ids([r["id"] for r in rows])
    events: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in sorted(rows, key=lambda r: (r["date"], r["id"])):
        original = origins.get(row["id"], row["id"])
        key = _fold_key(row)
        if original in seen or key in seen:
            continue  # a copy of a report already on the timeline
        seen.update({original, key})
        events.append(_event(row, stories.get(row["id"])))
    if len(events) > max_events:  # the latest ones: a timeline is read for what happened last
        events = events[-max_events:]
    return Timeline(events=events, coverage=cover.to_dict(), subject=terms)


def _in_range(reader: IndexStore, ids: set[str], since: dt.date | None, until: dt.date | None
              ) -> list[dict[str, Any]]:
    out = []
    for article_id in sorted(ids):
        row = reader.article(article_id)
        if row is None or not row.get("date"):
            continue  # an undated article has no place on a timeline
        day = row["date"][:10]
        if (since and day < since.isoformat()) or (until and day > until.isoformat()):
            continue
        out.append(row)
    return out


def _fold_key(row: dict[str, Any]) -> str:
    """Same headline on the same day: a copy even where the grouping did not mark it (another cleaning)."""
    return f"{row['date'][:10]}|{' '.join(re.findall(r'[a-z0-9]+', (row.get('title') or '').lower()))}"


def _event(row: dict[str, Any], story_id: str | None) -> dict[str, Any]:
    text = row["text"]
    start = end = None
    for s, e in split_sentences(text):
        if len(text[s:e].split()) >= MIN_WORDS:
            start, end = s, e
            break
    if start is not None and end is not None:
        if end - start > MAX_QUOTE:  # a run-on lead: cut at a word boundary, still an exact span
            cut = text.rfind(" ", start, start + MAX_QUOTE)
            end = cut if cut > start else start + MAX_QUOTE
        quote, kind = text[start:end], "text"
    else:
        title = row.get("title") or ""
        start, end, quote, kind = 0, len(title), title, "title"
    return {"date": row["date"][:10], "quote": quote, "article_id": row["id"], "title": row.get("title"),
            "source": row.get("source"), "url": row.get("url"), "field": kind, "start": start, "end": end,
            "story_id": story_id}

