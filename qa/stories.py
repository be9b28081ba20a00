"""Stories as answers use them: which articles are about a subject, what the archive holds on it (coverage),
stories found by words or actor, and the story id of each hit or citation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from index.actor_reader import ActorIndex
from index.interface import IndexStore
from index.reader import EPOCH, UNDATED
from qa.search import Hit, Query, Searcher

RELATED = 0.5  # hits scoring at least this share of the best one are about the same subject


def articles_about_actor(reader: IndexStore, actor: str, actors: ActorIndex | None = None) -> set[str]:
    """The articles naming an actor, by any alias: the canonical actor's articles (index.actors) when the name is
    one, else (no actor tables, as on a Milvus-only server, or a name no actor holds) the articles whose entities
    match the name."""
    if actors is not None:
        found = actors.find(actor)
        if found is not None:
            return actors.articles_of(found)
    return reader.articles_mentioning(actor)


@dataclass(frozen=True)
class Coverage:
    """What the archive holds on a subject: how many articles (re-published copies counted once), from when to
    when, and the newest one."""

    articles: int
    first_date: str | None
    last_date: str | None
    newest: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"articles": self.articles, "first_date": self.first_date, "last_date": self.last_date,
                "newest": self.newest, "text": self.text}

    @property
    def text(self) -> str:
        if not self.articles:
            return "The archive has no articles on this."
        noun = "article" if self.articles == 1 else "articles"
        if not self.first_date or not self.last_date:
            return f"The archive has {self.articles} {noun} on this."
        first, last = _day(self.first_date), _day(self.last_date)
        span = first if first == last else f"{first} – {last}"
        return f"The archive has {self.articles} {noun} on this, {span}; nothing after {last}."


def coverage(reader: IndexStore, article_ids: Iterable[str]) -> Coverage:
    """Coverage of these articles together with the stories they belong to, copies folded."""
    ids = set(article_ids)
    stories = reader.story_ids(sorted(ids))
    for story in set(stories.values()):
        for member in reader.story_articles(story):
            ids.add(member["article_id"])
    origins = reader.copy_origins(sorted(ids))
    ids = {origins.get(a, a) for a in ids}
    rows = [r for r in (reader.article(a) for a in sorted(ids)) if r is not None]
    dated = sorted((r for r in rows if r.get("date")), key=lambda r: (r["date"], r["id"]))
    newest = ({"article_id": dated[-1]["id"], "title": dated[-1]["title"], "date": dated[-1]["date"]}
              if dated else None)
    return Coverage(len(rows), dated[0]["date"] if dated else None, dated[-1]["date"] if dated else None, newest)


def subject_articles(searcher: Searcher, query: Query, share: float = RELATED) -> tuple[list[str], list[Hit]]:
    """The articles a query is about: its hits scoring at least `share` of the best one, their re-published
    copies left out (hits already fold them). Returns (article ids, all hits)."""
    hits = searcher.search(query)
    if not hits:
        return [], []
    top = hits[0].score
    return [h.article_id for h in hits if h.score >= share * top], hits


def story_of_hits(reader: IndexStore, hits: Sequence[Hit]) -> dict[str, str]:
    return reader.story_ids(sorted({h.article_id for h in hits}))


def one_per_story(hits: Sequence[Hit], stories: dict[str, str], k: int) -> list[Hit]:
    """The best hit of each story (hits come best first); articles without a story count as their own."""
    seen: set[str] = set()
    out: list[Hit] = []
    for hit in hits:
        key = stories.get(hit.article_id, "article:" + hit.article_id)
        if key in seen:
            continue
        seen.add(key)
        out.append(hit)
        if len(out) >= k:
            break
    return out


def find_stories(reader: IndexStore, searcher: Searcher, q: str | None = None, actor: str | None = None,
                 since: dt.date | None = None, until: dt.date | None = None, limit: int = 20,
                 actors: ActorIndex | None = None) -> list[dict[str, Any]]:
    """Stories matching words (ranked by their best article's search rank) or naming an actor (latest first),
    overlapping [since, until], each with its articles."""
    kwargs = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    if q:
        hits = searcher.search(Query(q, k=max(limit * 3, 30), since=since, until=until, actor=actor,
                                     time_aware=False))
        stories = story_of_hits(reader, hits)
        order = list(dict.fromkeys(stories[h.article_id] for h in hits if h.article_id in stories))
        rows = reader.stories(order, limit=limit, **kwargs)
    elif actor:
        ids = articles_about_actor(reader, actor, actors)
        order = list(dict.fromkeys(reader.story_ids(sorted(ids)).values()))
        rows = sorted(reader.stories(order, limit=len(order) or 1, **kwargs),
                      key=lambda s: (s["last_date"] or "", s["id"]), reverse=True)[:limit]
    else:
        rows = reader.stories(None, limit=limit, **kwargs)
    return [story_out(reader, row) for row in rows]


def story_out(reader: IndexStore, row: dict[str, Any]) -> dict[str, Any]:
    """A story as the API shows it: its row and its articles (each original with the copies folded into it)."""
    return {**row, "articles": reader.story_articles(row["id"])}


def get_story(reader: IndexStore, story_id: str) -> dict[str, Any] | None:
    rows = reader.stories([story_id], limit=1)
    return story_out(reader, rows[0]) if rows else None


def newest_date(reader: IndexStore) -> dt.date | None:
    """The date of the archive's newest article ("since March" means the last March before it)."""
    days = reader.table.day
    if not len(days) or int(days.max()) == UNDATED:
        return None
    return EPOCH + dt.timedelta(days=int(days.max()))


def _day(date: str) -> str:
    """'2024-03-03' -> '3 March 2024' (the date as the archive gives it when it is not ISO)."""
    try:
        day = dt.date.fromisoformat(date[:10])
    except ValueError:
        return date
    return f"{day.day} {day:%B %Y}"
