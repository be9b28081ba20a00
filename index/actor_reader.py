"""Read side of actors and quotes (index.actors writes them): lookups by name or id, the articles that mention an
actor, quotes by speaker, topic and date.

They live in the SQLite store of the index the writer keeps (NEWSQA_INDEX), whichever engine answers questions:
the Milvus engine reads them from there when that directory is at hand, else has none (ActorsUnavailable).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

from corpus.entities import normalize_name
from corpus.names import person_name
from index import store
from index.actors import _abbreviation, actor_key

CO_MENTIONED = 8  # actors listed as most often named with one


class ActorsUnavailable(Exception):
    """No actor tables where they were looked for."""


def _week(date: str | None) -> str | None:
    """ISO week of a date, as "2024-W07"."""
    if not date:
        return None
    try:
        year, week, _ = dt.date.fromisoformat(date[:10]).isocalendar()
    except ValueError:
        return None
    return f"{year}-W{week:02d}"


class ActorIndex:
    """Thread-safe reads of the actor and quote tables of one index directory."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        path = self.index_dir / store.DB_NAME
        if not path.exists():
            raise ActorsUnavailable(f"actors and quotes are read from the index's metadata store {path}, which "
                                    "does not exist (with NEWSQA_STORE=milvus, set NEWSQA_INDEX to the index "
                                    "directory the ingest writes)")
        self._local = threading.local()
        try:
            self.conn.execute("SELECT 1 FROM actors LIMIT 1").fetchall()
        except sqlite3.OperationalError as exc:
            raise ActorsUnavailable(f"the index at {self.index_dir} has no actor tables yet (written by an older "
                                    "newsqa): the next ingest or rebuild adds them") from exc

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = store.connect(self.index_dir, readonly=True)
            self._local.conn = conn
        return conn

    # -- actors ------------------------------------------------------------------------------------------------

    def find(self, name: str) -> int | None:
        """The actor a name stands for: an alias (titles and possessives aside), an abbreviation's long form, or
        the one person with that surname."""
        key = normalize_name(name)
        if not key:
            return None
        for candidate in dict.fromkeys([actor_key(name), key, normalize_name(person_name(name))]):
            row = self.conn.execute("SELECT actor_id FROM actor_aliases WHERE alias = ?", (candidate,)).fetchone()
            if row:
                return int(row[0])
        letters = _abbreviation(name)
        if letters:
            rows = {int(r[0]) for r in self.conn.execute("SELECT actor_id, alias FROM actor_aliases").fetchall()
                    if _initials(r[1]) == letters}
            if len(rows) == 1:
                return rows.pop()
        tokens = normalize_name(person_name(name)).split() or key.split()
        rows = self.conn.execute("SELECT DISTINCT a.actor_id FROM actor_aliases a JOIN actors ac ON ac.id = "
                                 "a.actor_id WHERE a.alias LIKE ? AND ac.type = 'PERSON'",
                                 (f"% {tokens[-1]}",)).fetchall()
        if len(tokens) == 1 and len(rows) >= 1:
            return int(self._most_mentioned([r[0] for r in rows]))
        return None

    def _most_mentioned(self, ids: list[int]) -> int:
        marks = ",".join("?" * len(ids))
        row = self.conn.execute(f"SELECT actor_id FROM actor_mentions WHERE actor_id IN ({marks}) GROUP BY actor_id "
                                "ORDER BY COUNT(*) DESC, actor_id LIMIT 1", ids).fetchone()
        return int(row[0]) if row else ids[0]

    def _summary(self, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
        ids = [int(r["id"]) for r in rows]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        stats = {r[0]: r for r in self.conn.execute(
            f"SELECT actor_id, COUNT(DISTINCT article_id), SUM(mentions), MIN(date), MAX(date) FROM actor_mentions "
            f"WHERE actor_id IN ({marks}) GROUP BY actor_id", ids)}
        aliases: dict[int, list[str]] = {}
        for actor, name in self.conn.execute(f"SELECT actor_id, name FROM actor_mentions WHERE actor_id IN ({marks})"
                                             " GROUP BY actor_id, name ORDER BY SUM(mentions) DESC", ids):
            aliases.setdefault(actor, []).append(name)
        out = []
        for r in rows:
            s = stats.get(r["id"])
            out.append({"id": int(r["id"]), "name": r["name"], "aliases": aliases.get(r["id"], []),
                        "type": r["type"], "mentions": int(s[2]) if s else 0, "articles": int(s[1]) if s else 0,
                        "first_seen": s[3] if s else None, "last_seen": s[4] if s else None})
        return out

    def search(self, q: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Actors whose name or an alias holds q (all words), most mentioned first; every actor without q."""
        words = normalize_name(q or "").split()
        where, args = "", []
        if words:
            where = ("WHERE a.id IN (SELECT actor_id FROM actor_aliases WHERE " +
                     " AND ".join("(' ' || alias || ' ') LIKE ?" for _ in words) + ")")
            args = [f"% {w} %" for w in words]
        exact = self.find(q) if q else None
        rows = self.conn.execute(
            f"SELECT a.id, a.name, a.type, (SELECT SUM(mentions) FROM actor_mentions m WHERE m.actor_id = a.id) AS n "
            f"FROM actors a {where} ORDER BY n DESC, a.id LIMIT ?", [*args, limit + 1]).fetchall()
        if exact is not None and all(int(r["id"]) != exact for r in rows):
            rows = [*self.conn.execute("SELECT id, name, type FROM actors WHERE id = ?", (exact,)).fetchall(), *rows]
        rows.sort(key=lambda r: int(r["id"]) != exact)  # the actor the name stands for first
        return self._summary(rows[:limit])

    def get(self, actor_id: int) -> dict[str, Any] | None:
        """One actor with its mention counts per week and the actors most often named with it."""
        rows = self.conn.execute("SELECT id, name, type FROM actors WHERE id = ?", (actor_id,)).fetchall()
        if not rows:
            return None
        out = self._summary(rows)[0]
        weeks: dict[str, int] = {}
        for date, mentions in self.conn.execute("SELECT date, SUM(mentions) FROM actor_mentions WHERE actor_id = ? "
                                                "GROUP BY date ORDER BY date", (actor_id,)):
            week = _week(date)
            if week:
                weeks[week] = weeks.get(week, 0) + int(mentions)
        out["mentions_per_week"] = [{"week": w, "mentions": n} for w, n in weeks.items()]
        out["co_mentioned"] = [{"id": int(r[0]), "name": r[1], "type": r[2], "articles": int(r[3])}
                               for r in self.conn.execute(
            "SELECT o.actor_id, a.name, a.type, COUNT(DISTINCT o.article_id) AS n FROM actor_mentions m "
            "JOIN actor_mentions o ON o.article_id = m.article_id AND o.actor_id != m.actor_id "
            "JOIN actors a ON a.id = o.actor_id WHERE m.actor_id = ? GROUP BY o.actor_id ORDER BY n DESC, "
            "o.actor_id LIMIT ?", (actor_id, CO_MENTIONED))]
        out["quotes"] = self.conn.execute("SELECT COUNT(*) FROM quotes WHERE actor_id = ?", (actor_id,)).fetchone()[0]
        return out

    def articles_of(self, actor: int | str) -> set[str]:
        """Ids of the articles that mention an actor, given its id or a name (any alias)."""
        actor_id = actor if isinstance(actor, int) else self.find(actor)
        if actor_id is None:
            return set()
        return {r[0] for r in self.conn.execute("SELECT DISTINCT article_id FROM actor_mentions WHERE actor_id = ?",
                                                (actor_id,))}

    def type_of(self, name: str) -> str | None:
        """The type (PERSON, ORG, GPE, ...) of the actor a name stands for, if the archive knows it."""
        actor = self.find(name)
        if actor is None:
            return None
        row = self.conn.execute("SELECT type FROM actors WHERE id = ?", (actor,)).fetchone()
        return row[0] if row else None

    def of_articles(self, article_ids: list[str], limit: int = 6) -> list[dict[str, Any]]:
        """The actors most mentioned in these articles (the answer's actor list)."""
        if not article_ids:
            return []
        marks = ",".join("?" * len(article_ids))
        return [{"id": int(r[0]), "name": r[1], "label": r[2], "type": r[2], "mentions": int(r[3])}
                for r in self.conn.execute(
            f"SELECT a.id, a.name, a.type, SUM(m.mentions) AS n FROM actor_mentions m JOIN actors a ON a.id = "
            f"m.actor_id WHERE m.article_id IN ({marks}) GROUP BY a.id ORDER BY n DESC, a.id LIMIT ?",
            [*article_ids, limit])]

    # -- quotes ------------------------------------------------------------------------------------------------

    def quotes(self, speaker: str | int | None = None, q: str | None = None, since: str | None = None,
               until: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Quotes, newest first: of a speaker (an actor id, as a number or a string of digits, or a name), holding
        the words of q, within dates."""
        where, args = [], []
        if isinstance(speaker, str) and speaker.isdigit() and len(speaker) < 18:  # an id as the API and CLI get it
            speaker = int(speaker)
        if speaker is not None and speaker != "":
            actor = speaker if isinstance(speaker, int) else self.find(str(speaker))
            if actor is None:
                where.append("lower(q.speaker) = ?")
                args.append(str(speaker).lower())
            else:
                where.append("q.actor_id = ?")
                args.append(actor)
        if since:
            where.append("q.date >= ?")
            args.append(since)
        if until:
            where.append("q.date <= ?")
            args.append(until)
        sql = ('SELECT q.id, q.article_id, q.start, q."end", q.speaker, q.actor_id, q.verb, q.date, a.title, '
               'substr(a.text, q.start + 1, q."end" - q.start) AS quote, ac.name AS actor_name FROM quotes q '
               "JOIN articles a ON a.id = q.article_id LEFT JOIN actors ac ON ac.id = q.actor_id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.conn.execute(sql + " ORDER BY q.date DESC, q.article_id, q.start", args).fetchall()
        words = [w for w in re.findall(r"\w+", (q or "").lower()) if len(w) > 2]
        out = []
        for r in rows:
            if words and not _has_words(r["quote"], words):
                continue
            out.append({"quote": r["quote"], "speaker": {"actor_id": r["actor_id"],
                                                          "name": r["actor_name"] or r["speaker"]},
                        "verb": r["verb"], "date": r["date"], "article_id": r["article_id"], "title": r["title"],
                        "start": int(r["start"]), "end": int(r["end"])})
            if len(out) >= limit:
                break
        return out


def _initials(alias: str) -> str | None:
    from index.actors import initials

    return initials(alias)


def _has_words(text: str, words: list[str]) -> bool:
    """Every word of the query, by its first five letters (a crude stem: "strike" finds "strikes")."""
    lowered = text.lower()
    return all(w[:5] in lowered for w in words)
