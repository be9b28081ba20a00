"""Canonical actors and their quotes: entity mentions linked across the archive, at ingest, in the writer's
transaction.

A mention (a row of `entities`) is cleaned first: a headline span that runs into the headline's words ("Kellerby
Denies Taking Bribes") is cut to its longest leading part that the article's body names; a name only the
headline holds is dropped; possessives and leading articles go; a person's title ("Deputy Mayor") goes. It is
then linked by dictionaries of the archive's aliases: the same normalised name, a surname to the one person of
the archive with it (or of the same article), an abbreviation ("U.S.", "EU") to the one actor whose initials it
is. A new full name takes over an actor known so far by its surname alone. An actor's type is the label most of
its articles give it; counts per week, first and last seen and co-mentioned actors are SQL over actor_mentions,
computed when asked. An update links only its own articles' mentions: cost follows the update, not the archive.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from corpus.article import Article
from corpus.entities import ACTOR_LABELS, Entity, normalize_name
from corpus.names import person_name, strip_possessive
from corpus.quotes import VERSION as QUOTES_VERSION
from corpus.quotes import extract_quotes

SCHEMA = """
CREATE TABLE IF NOT EXISTS actors (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actor_aliases (alias TEXT PRIMARY KEY, actor_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS actor_aliases_actor ON actor_aliases(actor_id);
CREATE TABLE IF NOT EXISTS actor_mentions (
    actor_id INTEGER NOT NULL, article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    name TEXT NOT NULL, label TEXT NOT NULL, mentions INTEGER NOT NULL, date TEXT);
CREATE INDEX IF NOT EXISTS actor_mentions_actor ON actor_mentions(actor_id);
CREATE INDEX IF NOT EXISTS actor_mentions_article ON actor_mentions(article_id);
CREATE TABLE IF NOT EXISTS quotes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, speaker TEXT NOT NULL, actor_id INTEGER, verb TEXT NOT NULL,
    date TEXT);
CREATE INDEX IF NOT EXISTS quotes_article ON quotes(article_id);
CREATE INDEX IF NOT EXISTS quotes_actor ON quotes(actor_id);
"""
_CONNECTORS = {"of", "the", "and", "for", "de", "la", "du", "des", "on", "in"}


def create_tables(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


# -- cleaning a mention --------------------------------------------------------------------------------------------

def _in_body(name: str, body: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", body) is not None


def clean_mention(name: str, label: str, body: str) -> str | None:
    """The name a mention stands for, or None for a fragment the article's body never names."""
    name = strip_possessive(name)
    if not name[:1].isupper() and not name[:1].isdigit() or re.search(r"[/?:|@]", name):
        return None  # not a proper name ("max"), or a credit line run into a name ("Michael Clubb/AP")
    if label == "PERSON" and not _in_body(name, body):
        name = person_name(name)
    if not name:
        return None
    if not _in_body(name, body):
        tokens = name.split()
        # a headline span such as "Kellerby Charged": the longest leading part the body names
        for n in range(len(tokens) - 1, 0, -1):
            part = strip_possessive(" ".join(tokens[:n]))
            if part and part[0].isupper() and _in_body(part, body):
                name = part
                break
        else:
            return None
    if label == "PERSON":
        name = person_name(name)
    tokens = name.split()
    while tokens and tokens[-1].lower() in _CONNECTORS:  # "Federated Dock and" (cut from a headline)
        tokens.pop()
    name = " ".join(tokens)
    parts = re.split(r"\s+and\s+", name)
    if len(parts) == 2 and all(p[:1].isupper() and _in_body(p, body) for p in parts) and not _in_body(name, body):
        return None  # two names run together
    return name if len(normalize_name(name)) >= 2 else None


_PLACE_BEFORE = re.compile(r"\b(?:in|at|near|from|outside|across|around|throughout|across|into)\s+$")
_PERSON_AFTER = re.compile(r"^(?:,\s*\d{1,3},|\s+(?:said|says|told|added|argued|wrote)\b)")
ORG_ENDINGS = frozenset("""office council union bank party authority agency court service services company group
board committee commission ministry department association federation league club university college school
hospital institute foundation inc corp ltd llc plc works mutual advisory holdings partners securities systems
times post news press chronicle gazette herald journal tribune network""".split())


def label_of(name: str, label: str, body: str) -> str:
    """spaCy's label for a mention, overruled by what the body says of the name: "in Corvenna" is a place, a
    name ending in "Office" or "Bank" an organisation (the small model often calls both people)."""
    tokens = name.split()
    if len(tokens) >= 2 and tokens[-1].lower() in ORG_ENDINGS:
        return "ORG"
    if label != "PERSON":
        return label
    place = person = 0
    for m in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", body):
        if _PLACE_BEFORE.search(body[max(0, m.start() - 12):m.start()]):
            place += 1
        if _PERSON_AFTER.match(body[m.end():m.end() + 12]):
            person += 1
    return "GPE" if place > person else label


def actor_key(name: str) -> str:
    """The alias key of a name: normalised, except that a short all-capitals abbreviation keeps apart from the
    same letters as a word ("US" is not "Us")."""
    stripped = name.replace(".", "").replace(" ", "")
    if 2 <= len(stripped) <= 5 and stripped.isupper() and stripped.isalpha():
        return "abbr " + stripped.lower()
    letters = acronym(normalize_name(name))
    return f"abbr {letters}" if letters else normalize_name(name)


def acronym(key: str) -> str | None:
    """ "u s" / "us" (of "U.S.", "US") -> "us" when the written name is an abbreviation, else None."""
    tokens = key.split()
    if tokens and all(len(t) == 1 for t in tokens) and len(tokens) >= 2:
        return "".join(tokens)
    return None


def initials(key: str) -> str | None:
    tokens = [t for t in key.split() if t not in _CONNECTORS]
    return "".join(t[0] for t in tokens) if len(tokens) >= 2 else None


def _abbreviation(name: str) -> str | None:
    """The letters of an abbreviation as written ("U.S.", "EU", "NATO"), else None."""
    stripped = name.replace(".", "").replace(" ", "")
    if 2 <= len(stripped) <= 6 and stripped.isupper() and stripped.isalpha():
        return stripped.lower()
    return acronym(normalize_name(name))


# -- linking ---------------------------------------------------------------------------------------------------

@dataclass
class Aliases:
    """The archive's alias dictionaries, loaded once per update."""

    by_key: dict[str, int] = field(default_factory=dict)
    persons_by_surname: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_initials: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    single: dict[str, int] = field(default_factory=dict)  # one-word actors (a surname alone so far)
    types: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> Aliases:
        out = cls()
        out.types = dict(conn.execute("SELECT id, type FROM actors").fetchall())
        for alias, actor in conn.execute("SELECT alias, actor_id FROM actor_aliases"):
            out.add(alias, actor)
        return out

    def add(self, key: str, actor: int) -> None:
        self.by_key.setdefault(key, actor)
        tokens = key.split()
        if len(tokens) >= 2 and self.types.get(actor) == "PERSON":
            self.persons_by_surname[tokens[-1]].add(actor)
        if len(tokens) == 1:
            self.single.setdefault(key, actor)
        letters = initials(key)
        if letters:
            self.by_initials[letters].add(actor)


class Linker:
    """Links the mentions of an update's articles to actors (in the writer's open transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.aliases = Aliases.load(conn)
        self.touched: set[int] = set()

    def _new_actor(self, name: str, label: str) -> int:
        cur = self.conn.execute("INSERT INTO actors(name, type) VALUES (?, ?)", (name, label))
        actor = int(cur.lastrowid or 0)
        self.aliases.types[actor] = label
        return actor

    def _alias(self, key: str, actor: int) -> None:
        if key not in self.aliases.by_key:
            self.conn.execute("INSERT OR IGNORE INTO actor_aliases(alias, actor_id) VALUES (?, ?)", (key, actor))
        self.aliases.add(key, actor)

    def _merge(self, old: int, new: int) -> None:
        """Actor old (a surname alone) is the same as new (its full name): its rows move over."""
        self.conn.execute("UPDATE actor_mentions SET actor_id = ? WHERE actor_id = ?", (new, old))
        self.conn.execute("UPDATE quotes SET actor_id = ? WHERE actor_id = ?", (new, old))
        self.conn.execute("UPDATE actor_aliases SET actor_id = ? WHERE actor_id = ?", (new, old))
        self.conn.execute("DELETE FROM actors WHERE id = ?", (old,))
        for key, actor in list(self.aliases.by_key.items()):
            if actor == old:
                self.aliases.by_key[key] = new
        self.aliases.single = {k: (new if a == old else a) for k, a in self.aliases.single.items()}
        self.touched.discard(old)
        self.touched.add(new)

    def resolve(self, name: str, label: str, local: dict[str, int] | None = None) -> int | None:
        """The existing actor a cleaned name stands for, or None. A surname alone or an abbreviation is linked by
        what its own article names ("Kellerby" beside "Matthias Kellerby", "FDA" beside "Food and Drug
        Administration"); across articles, an abbreviation only through an alias learnt that way, and a surname
        labelled a person only to the one person of the archive with it."""
        bare = person_name(name)  # "Mr Straw", "Sen. Warren": the name without its title
        if bare != name and len(bare.split()) < len(name.split()):
            name = bare
        key = actor_key(name)
        if not key:
            return None
        local = local or {}
        tokens = key.split()
        letters = _abbreviation(name)
        if letters:
            found = [a for k, a in local.items() if initials(k) == letters and self.aliases.types.get(a) != "PERSON"]
            if len(set(found)) == 1:
                return found[0]
        elif len(tokens) == 1:
            found = self._full_names(key, local)
            if len(set(found)) > 1:
                return None  # namesakes: see _namesakes
            if found and label in ("PERSON", "ORG", "NORP"):
                return found[0]  # the full name of the same article
            if label == "ORG":  # "Lumora" beside "Lumora Systems" in one article
                found = [a for k, a in local.items() if len(k.split()) > 1 and k.split()[0] == key
                         and self.aliases.types.get(a) == "ORG"]
                if len(set(found)) == 1:
                    return found[0]
        if key in self.aliases.by_key:
            return self.aliases.by_key[key]
        if len(tokens) == 1 and not letters and label in ("PERSON", "ORG", "NORP"):
            persons = self.aliases.persons_by_surname.get(key, set())
            if len(persons) == 1 and self._co_mentioned(next(iter(persons)), set(local.values())):
                return next(iter(persons))
        return None

    def _namesakes(self, name: str, local: dict[str, int]) -> bool:
        """Whether name is a bare surname that two people named in full in the same article share ("Jimmy" and
        "Rosalynn Carter", "Serena" and "Richard Williams"): which one it means is not decided by counting
        mentions, so such a mention is linked to neither and makes no actor of its own."""
        key = actor_key(person_name(name))
        return len(key.split()) == 1 and len(set(self._full_names(key, local))) > 1

    def _full_names(self, surname: str, local: dict[str, int]) -> list[int]:
        """The persons of the article (local: its names' keys -> actors) named in full with this surname."""
        return [a for k, a in local.items() if len(k.split()) > 1 and k.split()[-1] == surname
                and self.aliases.types.get(a) == "PERSON"]

    def _co_mentioned(self, actor: int, others: set[int]) -> bool:
        """Whether an article of actor also names one of others: a surname alone is linked across articles to the
        one person with it only when its article shares that person's company ("Kellerby" beside Corvenna and
        Greystone), not to any namesake ("Walker", a child, is not Judge Justin Walker)."""
        if not others:
            return False
        marks = ",".join("?" * len(others))
        return self.conn.execute(
            f"SELECT 1 FROM actor_mentions a JOIN actor_mentions b ON b.article_id = a.article_id WHERE a.actor_id = ? "
            f"AND b.actor_id IN ({marks}) LIMIT 1", [actor, *others]).fetchone() is not None

    def link(self, article: Article, entities: Sequence[Entity]) -> dict[str, int]:
        """Link one article's actor mentions; returns its names' keys -> actor ids."""
        body = article.text
        cleaned: dict[str, tuple[str, str, int]] = {}  # key -> (name, label, mentions)
        for entity in entities:
            if entity.label not in ACTOR_LABELS:
                continue
            name = clean_mention(entity.name, entity.label, body)
            if name is None:
                continue
            key = actor_key(name)
            previous = cleaned.get(key)
            label = label_of(name, entity.label, body)
            cleaned[key] = (previous[0] if previous else name, previous[1] if previous else label,
                            (previous[2] if previous else 0) + entity.mentions)
        local: dict[str, int] = {}
        rows: dict[int, list[Any]] = {}
        # full names first, so that a surname alone in the same article finds them
        order = sorted(cleaned.items(), key=lambda kv: (_abbreviation(kv[1][0]) is not None, -len(kv[0].split())))
        for key, (name, label, mentions) in order:
            if self._namesakes(name, local):
                continue
            actor = self.resolve(name, label, local)
            created = actor is None
            if actor is None:
                actor = self._new_actor(name, label)
                if label == "PERSON" and len(key.split()) >= 2:
                    surname = key.split()[-1]
                    lone = self.aliases.single.get(surname)
                    others = self.aliases.persons_by_surname.get(surname, set())
                    if (lone is not None and not others and lone != actor
                            and self.aliases.types.get(lone) == "PERSON"):  # "Un" is a person, "UN" is not
                        self._alias(key, actor)
                        self._merge(lone, actor)
            if created or len(key.split()) > 1:  # a surname alone stays out: "Un" must not become "UN"
                self._alias(key, actor)
            title_free = normalize_name(person_name(name)) if label == "PERSON" else key
            if title_free and title_free != key:
                self._alias(title_free, actor)
            local[key] = actor
            self.touched.add(actor)
            row = rows.setdefault(actor, [actor, article.id, name, label, 0, article.date])
            row[4] += mentions
        self.conn.executemany("INSERT INTO actor_mentions(actor_id, article_id, name, label, mentions, date) "
                              "VALUES (?,?,?,?,?,?)", [tuple(r) for r in rows.values()])
        return local

    def quotes(self, article: Article, entities: Sequence[Entity], local: dict[str, int]) -> int:
        """Store the article's attributed direct quotes, each speaker resolved to an actor when one fits."""
        people = [e.name for e in entities if e.label == "PERSON"]
        others = [e.name for e in entities if e.label in ACTOR_LABELS - {"PERSON"}]
        found = extract_quotes(article.text, people, others)
        rows = []
        for q in found:
            actor = self.resolve(q.speaker, "PERSON", local) if q.speaker[:1].isupper() else None
            rows.append((article.id, q.start, q.end, q.speaker, actor, q.verb, article.date))
        self.conn.executemany('INSERT INTO quotes(article_id, start, "end", speaker, actor_id, verb, date) '
                              "VALUES (?,?,?,?,?,?,?)", rows)
        return len(rows)

    def finish(self) -> None:
        """Each touched actor's type (the label most of its articles give it) and name (its most used full
        form), recomputed from its mentions."""
        for batch in _batches(sorted(self.touched)):
            marks = ",".join("?" * len(batch))
            labels: dict[int, Counter[str]] = defaultdict(Counter)
            names: dict[int, Counter[str]] = defaultdict(Counter)
            for actor, name, label, mentions in self.conn.execute(
                    f"SELECT actor_id, name, label, mentions FROM actor_mentions WHERE actor_id IN ({marks})", batch):
                labels[actor][label] += 1
                names[actor][name] += mentions + 100 * (len(name.split()) > 1)  # a full name over a surname
            updates = [(names[a].most_common(1)[0][0], labels[a].most_common(1)[0][0], a) for a in batch if a in labels]
            self.conn.executemany("UPDATE actors SET name = ?, type = ? WHERE id = ?", updates)
        self.touched.clear()


def link_articles(conn: sqlite3.Connection, articles: Sequence[Article], entities: Sequence[Sequence[Entity]]
                  ) -> None:
    """Link the new articles' mentions to actors and store their quotes (in the caller's transaction)."""
    linker = Linker(conn)
    for article, found in zip(articles, entities, strict=True):
        local = linker.link(article, found)
        linker.quotes(article, found, local)
    linker.finish()


def quotes_current(conn: sqlite3.Connection) -> bool:
    """The stored quotes were made by this version of the extractor."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'quotes_version'").fetchone()
    return row is not None and row[0] == QUOTES_VERSION


def mark_quotes_current(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('quotes_version', ?)", (QUOTES_VERSION,))


def requote(conn: sqlite3.Connection, batch: int = 500) -> int:
    """Extract the stored articles' quotes again, with their stored entities and actors (the quotes were made by
    another version of the extractor); returns how many articles were read. In the caller's transaction."""
    from index.store import entities_of

    mark_quotes_current(conn)
    conn.execute("DELETE FROM quotes")
    ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY id")]
    linker = Linker(conn)
    for part in _batches(ids, batch):
        marks = ",".join("?" * len(part))
        found = entities_of(conn, part)
        local: dict[str, dict[str, int]] = defaultdict(dict)
        for article_id, actor, name in conn.execute(
                f"SELECT article_id, actor_id, name FROM actor_mentions WHERE article_id IN ({marks})", part):
            local[article_id][actor_key(name)] = actor
        for article_id, title, date, text in conn.execute(
                f"SELECT id, title, date, text FROM articles WHERE id IN ({marks})", part).fetchall():
            article = Article(id=article_id, text=text, title=title, date=date)
            linker.quotes(article, found.get(article_id, []), local[article_id])
    return len(ids)


def backfill(conn: sqlite3.Connection) -> int:
    """Link the stored articles of an index written before actors existed (once: when it has articles and no
    actor mentions); returns how many were linked."""
    # the meta row says it was done: an archive with no entity at all (ingested without them) has no mentions
    # either, and must not be read whole again at every update
    if conn.execute("SELECT 1 FROM meta WHERE key = 'actors_linked'").fetchone() is not None:
        return 0
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('actors_linked', '1')")
    if conn.execute("SELECT 1 FROM actor_mentions LIMIT 1").fetchone() is not None:
        return 0
    rows = conn.execute("SELECT id, title, date, text FROM articles ORDER BY id").fetchall()
    if not rows:
        return 0
    from index.store import entities_of

    found = entities_of(conn, [r[0] for r in rows])
    articles = [Article(id=r[0], text=r[3], title=r[1], date=r[2]) for r in rows]
    link_articles(conn, articles, [found.get(a.id, []) for a in articles])
    mark_quotes_current(conn)  # every stored quote is this extractor's
    return len(articles)


def forget_articles(conn: sqlite3.Connection, article_ids: Iterable[str]) -> None:
    """Remove removed articles' mentions and quotes, and actors no article mentions any more."""
    ids = list(article_ids)
    actors: set[int] = set()
    for batch in _batches(ids):
        marks = ",".join("?" * len(batch))
        actors.update(r[0] for r in conn.execute(f"SELECT actor_id FROM actor_mentions WHERE article_id IN ({marks})",
                                                 batch))
        conn.execute(f"DELETE FROM actor_mentions WHERE article_id IN ({marks})", batch)
        conn.execute(f"DELETE FROM quotes WHERE article_id IN ({marks})", batch)
    for batch in _batches(sorted(actors)):
        marks = ",".join("?" * len(batch))
        gone = [r[0] for r in conn.execute(f"SELECT id FROM actors WHERE id IN ({marks}) AND NOT EXISTS (SELECT 1 "
                                           "FROM actor_mentions m WHERE m.actor_id = actors.id)", batch)]
        for sub in _batches(gone):
            m = ",".join("?" * len(sub))
            conn.execute(f"DELETE FROM actors WHERE id IN ({m})", sub)
            conn.execute(f"DELETE FROM actor_aliases WHERE actor_id IN ({m})", sub)
            conn.execute(f"UPDATE quotes SET actor_id = NULL WHERE actor_id IN ({m})", sub)


def _batches(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
