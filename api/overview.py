"""What the chat page's first screen says: how much the archive holds, and three questions it can answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from index.interface import IndexStore

# The question each kind of actor invites; other entity kinds (dates, amounts...) make no example.
QUESTION_OF = {"PERSON": "What did {} say?", "ORG": "What happened with {}?", "GPE": "What happened in {}?"}
RECENT_ARTICLES = 200  # examples are drawn from the actors of the newest articles


@dataclass
class _Actor:
    label: str
    articles: set[str] = field(default_factory=set)
    mentions: int = 0
    names: Counter[str] = field(default_factory=Counter)

    def name(self) -> str:
        """The fullest form used ("Rosalind Achterberg" over "Achterberg"), then the commonest."""
        return min(self.names, key=lambda n: (-len(n.split()), -self.names[n], n))


def overview(reader: IndexStore, examples: int = 3) -> dict[str, Any]:
    stats = reader.stats()
    sources = [name for name in stats["sources"] if name != "(unknown)"]  # most articles first
    return {"articles": stats["articles"], "sources": len(sources), "top_sources": sources[:3],
            "first_date": stats["first_date"], "last_date": stats["last_date"],
            "last_update": (stats["last_run"] or {}).get("finished_at"), "feeds": len(stats.get("feeds", [])),
            "examples": example_questions(reader, examples)}


def example_questions(reader: IndexStore, n: int = 3) -> list[str]:
    """Questions about the actors named in most of the newest articles; the same index gives the same ones."""
    table = reader.table
    newest = sorted(range(len(table.article_names)), key=lambda i: (-table.article_day(i), table.article_names[i]))
    actors: dict[str, _Actor] = {}
    for article_id, entities in reader.entities([table.article_names[i] for i in newest[:RECENT_ARTICLES]]).items():
        for entity in entities:
            if entity.label not in QUESTION_OF or not entity.key:
                continue
            # a person is named in full once and by surname after: both count for the same actor
            key = entity.label + ":" + (entity.key.split()[-1] if entity.label == "PERSON" else entity.key)
            actor = actors.setdefault(key, _Actor(entity.label))
            actor.articles.add(article_id)
            actor.mentions += entity.mentions
            actor.names[entity.name] += entity.mentions
    # a person only under a full name: a lone capitalised word tagged PERSON is often a place or a firm
    usable = [(key, a) for key, a in actors.items() if a.label != "PERSON" or len(a.name().split()) > 1]
    ranked: list[_Actor] = []
    for _, actor in sorted(usable, key=lambda kv: (-len(kv[1].articles), -kv[1].mentions, kv[0])):
        if all(actor.name().lower() != a.name().lower() for a in ranked):  # "Aldermark" the place and the firm
            ranked.append(actor)
    # one of each kind first (a person, an organisation, a place), then the next best
    firsts = [a for i, a in enumerate(ranked) if a.label not in {b.label for b in ranked[:i]}]
    chosen = (firsts + [a for a in ranked if a not in firsts])[:n]
    return [QUESTION_OF[a.label].format(a.name()) for a in sorted(chosen, key=ranked.index)]
