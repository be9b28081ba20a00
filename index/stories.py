"""Stories: articles about the same event, grouped incrementally in the writer's transaction.

An article joins a story when it is close to one of the story's articles dated within a window of days (single
link): their link score, the cosine of the words they use most distinctively (TF-IDF over headline and lead)
plus a share of the cosine of their mean chunk vectors, passes a threshold. MiniLM's vectors alone put two daily
digests or two housing reports together (same kind of text); the distinctive words tell one event from another.
A re-published copy (mean vectors nearly identical within the window) joins its original's story as a copy, not
as a member of its own. An update reads only the articles dated near its own, and rewrites only the stories it
touched; an article that links two stories merges them.

Thresholds are StoryParams fields, calibrated on labelled article pairs (bench/stories.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS

from corpus.entities import ACTOR_LABELS
from index import reader  # its day numbers (reader imports this module too: names are read at call time)

VERSION = "1"  # meta key 'stories': the grouping the stored stories were made with (absent: group everything)

SCHEMA = """
CREATE TABLE IF NOT EXISTS story_members (
    article_id TEXT PRIMARY KEY, story_id TEXT NOT NULL, day INTEGER NOT NULL, copy_of TEXT,
    vector BLOB NOT NULL, terms TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS story_members_story ON story_members(story_id);
CREATE INDEX IF NOT EXISTS story_members_day ON story_members(day);
CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY, title TEXT, lead_article TEXT, first_date TEXT, last_date TEXT,
    articles INTEGER NOT NULL, copies INTEGER NOT NULL DEFAULT 0, actors TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS stories_last ON stories(last_date);
CREATE TABLE IF NOT EXISTS story_terms (term TEXT PRIMARY KEY, articles INTEGER NOT NULL) WITHOUT ROWID;
"""
_TOKEN = re.compile(r"[a-z][a-z0-9'’-]+|\d[\d,.]*\d")
_STOP = frozenset(STOPWORDS_EN_PLUS)


@dataclass(frozen=True)
class StoryParams:
    """How close two articles must be to share a story (see module doc)."""

    window_days: int = 7  # linked articles are at most this many days apart (undated ones link among themselves)
    link_score: float = 0.25  # words cosine + vector_share x (vector cosine - 0.7) that links two articles
    vector_share: float = 0.5
    min_cosine: float = 0.55  # pairs below this vector cosine are not scored at all
    scored: int = 40  # at most this many closest candidates (by vector cosine) are scored
    copy_cosine: float = 0.985  # a re-published copy of a report
    terms_kept: int = 60  # distinctive words kept per article
    lead_chars: int = 3000  # of the text, after the headline (counted twice)
    idf_prior: int = 1000  # articles added to the count in IDFs: a small archive weighs words as a large one would
    undated_candidates: int = 20_000  # undated articles compared with an undated one (the latest stored)
    actors_shown: int = 6


@dataclass
class StoryUpdate:
    """What one update did to the stories."""

    touched: set[str] = field(default_factory=set)  # stories rewritten (new, grown, shrunk)
    deleted: set[str] = field(default_factory=set)  # stories left without articles
    grouped: int = 0  # articles placed
    compared: int = 0  # stored articles read as candidates


def _statements() -> list[str]:
    return [s.strip() for s in SCHEMA.split(";") if s.strip()]


def grouped_before(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT value FROM meta WHERE key='stories'").fetchone()
    return bool(row and row[0] == VERSION)


def update_stories(conn: sqlite3.Connection, removed: Sequence[str], added: Mapping[str, np.ndarray],
                   params: StoryParams | None = None) -> StoryUpdate:
    """In the writer's open transaction: take removed articles out of their stories, place added ones (id ->
    mean chunk vector, normalised). The first update of an index grouped before stories existed groups every
    stored article."""
    params = params or StoryParams()
    for statement in _statements():
        conn.execute(statement)
    out = StoryUpdate()
    if not grouped_before(conn):
        for table in ("story_members", "stories", "story_terms"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM meta WHERE key = 'story_docs'")
        stored = article_vectors(conn)
        added = {**{k: v for k, v in stored.items() if k not in set(removed)}, **added}
        removed = []
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('stories', ?)", (VERSION,))
    _remove(conn, removed, out)
    if added:
        _place(conn, added, params, out)
    for story_id in sorted(out.touched):
        if not _rewrite(conn, story_id, params):
            out.deleted.add(story_id)
    out.touched -= out.deleted
    return out


def article_vectors(conn: sqlite3.Connection, article_ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Each article's mean chunk vector (normalised), from the stored chunk vectors."""
    sql = "SELECT c.article_id, e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash"
    rows: list[Any] = []
    if article_ids is None:
        rows = conn.execute(sql + " ORDER BY c.article_id, c.id").fetchall()
    else:
        ids = sorted(set(article_ids))
        for i in range(0, len(ids), 500):
            batch = ids[i:i + 500]
            rows += conn.execute(sql + f" WHERE c.article_id IN ({','.join('?' * len(batch))})", batch).fetchall()
    grouped: dict[str, list[np.ndarray]] = {}
    for article_id, blob in rows:
        grouped.setdefault(article_id, []).append(np.frombuffer(blob, dtype=np.float32))
    return {a: mean_vector(np.stack(v)) for a, v in grouped.items()}


def mean_vector(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.astype(np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


# -- removing ------------------------------------------------------------------------------------------------

def _remove(conn: sqlite3.Connection, removed: Sequence[str], out: StoryUpdate) -> None:
    """Removed articles leave their stories; a copy of a removed original becomes the original (the earliest)."""
    for batch in _batches(sorted(set(removed))):
        marks = ",".join("?" * len(batch))
        rows = conn.execute(f"SELECT article_id, story_id FROM story_members WHERE article_id IN ({marks})",
                            batch).fetchall()
        out.touched.update(r[1] for r in rows)
        conn.execute(f"DELETE FROM story_members WHERE article_id IN ({marks})", batch)
        orphans = conn.execute(f"SELECT article_id, copy_of, day FROM story_members WHERE copy_of IN ({marks}) "
                               "ORDER BY day, article_id", batch).fetchall()
        heads: dict[str, str] = {}
        for article_id, original, _ in orphans:
            head = heads.setdefault(original, article_id)
            conn.execute("UPDATE story_members SET copy_of = ? WHERE article_id = ?",
                         (None if head == article_id else head, article_id))


# -- placing -------------------------------------------------------------------------------------------------

@dataclass
class _Pool:
    """Candidate articles: stored ones near the update's dates, then the update's own as they are placed."""

    ids: list[str]
    days: list[int]
    stories: list[str]
    roots: list[str]  # the original an article is a copy of, or itself
    vectors: list[np.ndarray]
    terms: list[dict[str, float]]


def _place(conn: sqlite3.Connection, added: Mapping[str, np.ndarray], params: StoryParams, out: StoryUpdate) -> None:
    meta = _article_meta(conn, list(added))
    order = sorted(added, key=lambda a: (meta.get(a, (None, reader.UNDATED, ""))[1], a))
    days = [meta.get(a, (None, reader.UNDATED, ""))[1] for a in order]
    counts = {a: _term_counts(*meta.get(a, (None, reader.UNDATED, ""))[::2], params) for a in order}
    weights = _term_weights(conn, counts, params)
    pool = _stored_pool(conn, days, set(added), params)
    out.compared += len(pool.ids)
    taken = _TakenIds(conn)
    stored_matrix = np.stack(pool.vectors) if pool.vectors else np.zeros((0, 1), np.float32)
    stored_days = np.array(pool.days, dtype=np.int64)
    n_stored = len(pool.ids)
    # this update's own vectors and days, filled as its articles are placed (no re-stacking per article)
    own_matrix = np.zeros((len(order), len(next(iter(added.values())))), dtype=np.float32)
    own_days = np.array(days, dtype=np.int64)
    for k, (article_id, day) in enumerate(zip(order, days, strict=True)):
        vector = added[article_id]
        own_matrix[k] = vector
        cand = _near(stored_days, day, params) if n_stored else np.zeros(0, dtype=np.int64)
        sims = stored_matrix[cand] @ vector if len(cand) else np.zeros(0, dtype=np.float32)
        placed = len(pool.ids) - n_stored
        if placed:  # this update's articles placed so far
            own = _near(own_days[:placed], day, params)
            if len(own):
                cand = np.concatenate([cand, own + n_stored])
                sims = np.concatenate([sims, own_matrix[own] @ vector])
        linked, root = _links(weights[article_id], cand, sims, pool, params)
        if not linked:
            story = _new_story_id(article_id, taken)
            taken.add(story)
        else:
            story = linked[0]
            for other in linked[1:]:  # this article joins stories that were apart: they become one
                _merge(conn, pool, other, story)
                out.touched.add(other)
        pool.ids.append(article_id)
        pool.days.append(day)
        pool.stories.append(story)
        pool.roots.append(root or article_id)
        pool.vectors.append(vector)
        pool.terms.append(weights[article_id])
        conn.execute("INSERT OR REPLACE INTO story_members(article_id, story_id, day, copy_of, vector, terms) "
                     "VALUES (?,?,?,?,?,?)", (article_id, story, day, root, vector.astype(np.float32).tobytes(),
                                              json.dumps(weights[article_id])))
        out.touched.add(story)
        out.grouped += 1


def _links(terms: dict[str, float], cand: np.ndarray, sims: np.ndarray, pool: _Pool, params: StoryParams
           ) -> tuple[list[str], str | None]:
    """(stories the article links to, closest first; the original it copies, if it is a copy)."""
    if not len(cand):
        return [], None
    best = int(np.argmax(sims))
    if float(sims[best]) >= params.copy_cosine:
        i = int(cand[best])
        return [pool.stories[i]], pool.roots[i]
    close = np.flatnonzero(sims >= params.min_cosine)
    if len(close) > params.scored:  # the words are compared for the closest few only (a Python loop)
        close = close[np.argpartition(-sims[close], params.scored)[:params.scored]]
    scored: dict[str, float] = {}
    for i, sim in zip(cand[close].tolist(), sims[close].tolist(), strict=True):
        other = pool.terms[i]
        words = sum(w * other.get(t, 0.0) for t, w in terms.items())
        score = words + params.vector_share * (sim - 0.7)
        if score >= params.link_score and score > scored.get(pool.stories[i], -math.inf):
            scored[pool.stories[i]] = score
    return sorted(scored, key=lambda s: -scored[s]), None


def _merge(conn: sqlite3.Connection, pool: _Pool, gone: str, into: str) -> None:
    conn.execute("UPDATE story_members SET story_id = ? WHERE story_id = ?", (into, gone))
    pool.stories = [into if s == gone else s for s in pool.stories]


def _term_counts(title: str | None, text: str, params: StoryParams) -> Counter[str]:
    """Word counts of the headline (twice: it names the event) and the lead, stop words left out."""
    head = (title or "").lower()
    words = _TOKEN.findall(f"{head} {head} {text[:params.lead_chars].lower()}")
    return Counter(w for w in words if len(w) > 2 and w not in _STOP)


def _term_weights(conn: sqlite3.Connection, counts: Mapping[str, Counter[str]], params: StoryParams
                  ) -> dict[str, dict[str, float]]:
    """Each article's most distinctive words, TF-IDF weighted and normalised. The document frequencies are
    counted as articles are grouped (removals are not subtracted: a few stale counts barely move an IDF)."""
    df_update: Counter[str] = Counter(t for c in counts.values() for t in c)
    conn.executemany("INSERT INTO story_terms(term, articles) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET "
                     "articles = articles + excluded.articles", df_update.items())
    row = conn.execute("SELECT value FROM meta WHERE key='story_docs'").fetchone()
    n = (int(row[0]) if row else 0) + len(counts)
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('story_docs', ?)", (str(n),))
    df: dict[str, int] = {}
    terms = sorted(df_update)
    for batch in _batches(terms):
        df.update(conn.execute(f"SELECT term, articles FROM story_terms WHERE term IN ({','.join('?' * len(batch))})",
                               batch).fetchall())
    out: dict[str, dict[str, float]] = {}
    for article_id, c in counts.items():
        weights = {t: (1 + math.log(k)) * math.log((n + params.idf_prior) / (1 + df.get(t, 0))) for t, k in c.items()}
        top = sorted(weights.items(), key=lambda x: -x[1])[:params.terms_kept]
        norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
        out[article_id] = {t: round(w / norm, 4) for t, w in top if w > 0}
    return out


def _near(days: np.ndarray, day: int, params: StoryParams) -> np.ndarray:
    """Positions of the pool articles that may share a story with an article of this day."""
    if day == reader.UNDATED:
        return np.flatnonzero(days == reader.UNDATED)
    return np.flatnonzero((days != reader.UNDATED) & (np.abs(days - day) <= params.window_days))


def _stored_pool(conn: sqlite3.Connection, days: list[int], exclude: set[str], params: StoryParams) -> _Pool:
    dated = sorted({d for d in days if d != reader.UNDATED})
    rows: list[Any] = []
    # one range query per run of close days: an update of last week's news reads only its weeks
    spans: list[list[int]] = []
    for d in dated:
        if spans and d - spans[-1][1] <= 2 * params.window_days:
            spans[-1][1] = d
        else:
            spans.append([d, d])
    columns = "article_id, day, story_id, copy_of, vector, terms"
    for lo, hi in spans:
        rows += conn.execute(f"SELECT {columns} FROM story_members WHERE day BETWEEN ? AND ?",
                             (lo - params.window_days, hi + params.window_days)).fetchall()
    if reader.UNDATED in days:
        rows += conn.execute(f"SELECT {columns} FROM story_members WHERE day = ? ORDER BY rowid DESC LIMIT ?",
                             (reader.UNDATED, params.undated_candidates)).fetchall()
    rows = [r for r in rows if r[0] not in exclude]
    return _Pool(ids=[r[0] for r in rows], days=[int(r[1]) for r in rows], stories=[r[2] for r in rows],
                 roots=[r[3] or r[0] for r in rows],
                 vectors=[np.frombuffer(r[4], dtype=np.float32) for r in rows],
                 terms=[json.loads(r[5]) for r in rows])


def _article_meta(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[str | None, int, str]]:
    """(title, day, text) of each article."""
    out: dict[str, tuple[str | None, int, str]] = {}
    for batch in _batches(ids):
        for row in conn.execute(f"SELECT id, title, date, text FROM articles WHERE id IN "
                                f"({','.join('?' * len(batch))})", batch):
            out[row[0]] = (row[1], reader.day_number(row[2]), row[3])
    return out


class _TakenIds:
    """Story ids in use, looked up one at a time (an update must not read every story of the archive)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.new: set[str] = set()

    def __contains__(self, story: str) -> bool:
        return story in self.new or self.conn.execute("SELECT 1 FROM story_members WHERE story_id = ? LIMIT 1",
                                                      (story,)).fetchone() is not None

    def add(self, story: str) -> None:
        self.new.add(story)


def _new_story_id(article_id: str, taken: _TakenIds) -> str:
    """A story's id comes from its first article's (stable across runs that group the same way)."""
    salt = 0
    while True:
        story = "s" + hashlib.sha1(f"{article_id}\0{salt}".encode()).hexdigest()[:11]
        if story not in taken:
            return story
        salt += 1


# -- story rows ----------------------------------------------------------------------------------------------

def _rewrite(conn: sqlite3.Connection, story_id: str, params: StoryParams) -> bool:
    """The story's row from its members: its title is the headline of its most central original (the one
    closest to the mean of all), dates, counts and main actors. False when it has no articles left."""
    rows = conn.execute("SELECT m.article_id, m.copy_of, m.vector, a.title, a.date FROM story_members m "
                        "JOIN articles a ON a.id = m.article_id WHERE m.story_id = ?", (story_id,)).fetchall()
    if not rows:
        conn.execute("DELETE FROM stories WHERE id = ?", (story_id,))
        return False
    originals = [r for r in rows if r[1] is None] or rows
    vectors = np.stack([np.frombuffer(r[2], dtype=np.float32) for r in originals])
    centre = vectors @ vectors.mean(axis=0)
    lead = originals[int(np.argmax(centre))]
    dates = sorted(r[4][:10] for r in rows if r[4])
    actors = _main_actors(conn, [r[0] for r in originals], params.actors_shown)
    conn.execute("INSERT OR REPLACE INTO stories(id, title, lead_article, first_date, last_date, articles, copies,"
                 " actors) VALUES (?,?,?,?,?,?,?,?)",
                 (story_id, lead[3], lead[0], dates[0] if dates else None, dates[-1] if dates else None,
                  len(originals), len(rows) - len(originals), json.dumps(actors)))
    return True


def _main_actors(conn: sqlite3.Connection, ids: list[str], limit: int) -> list[dict[str, Any]]:
    """The actors named by most of the story's articles (then by mentions), each with its most used name."""
    counts: Counter[str] = Counter()
    mentions: Counter[str] = Counter()
    names: dict[str, Counter[str]] = {}
    labels: dict[str, Counter[str]] = {}
    allowed = sorted(ACTOR_LABELS - {"WORK_OF_ART", "LAW", "PRODUCT"})
    for batch in _batches(ids):
        sql = (f"SELECT article_id, name, norm, label, mentions FROM entities WHERE article_id IN "
               f"({','.join('?' * len(batch))}) AND label IN ({','.join('?' * len(allowed))})")
        seen: set[tuple[str, str]] = set()
        for article_id, name, norm, label, n in conn.execute(sql, [*batch, *allowed]):
            if (article_id, norm) not in seen:
                seen.add((article_id, norm))
                counts[norm] += 1
            mentions[norm] += n
            names.setdefault(norm, Counter())[name] += n
            labels.setdefault(norm, Counter())[label] += n
    ranked = sorted(counts, key=lambda k: (-counts[k], -mentions[k], k))[:limit]
    return [{"name": names[k].most_common(1)[0][0], "type": labels[k].most_common(1)[0][0], "articles": counts[k]}
            for k in ranked]


def _batches(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# -- reading -------------------------------------------------------------------------------------------------

def story_ids(conn: sqlite3.Connection, article_ids: Iterable[str]) -> dict[str, str]:
    """The story of each article (articles of an index grouped before stories existed have none)."""
    out: dict[str, str] = {}
    try:
        for batch in _batches(sorted(set(article_ids))):
            out.update(conn.execute(f"SELECT article_id, story_id FROM story_members WHERE article_id IN "
                                    f"({','.join('?' * len(batch))})", batch).fetchall())
    except sqlite3.OperationalError:  # no story tables yet: the next update groups the archive
        return {}
    return out


def story_rows(conn: sqlite3.Connection, story_ids_: Sequence[str] | None = None, *, since: str | None = None,
               until: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Stories (given ones in that order, else the latest first) overlapping [since, until], without articles."""
    where, args = [], []
    if since:
        where.append("last_date >= ?")
        args.append(since)
    if until:
        where.append("first_date <= ?")
        args.append(until)
    try:
        if story_ids_ is not None:
            rows = []
            for batch in _batches(list(dict.fromkeys(story_ids_))):
                sql = f"SELECT * FROM stories WHERE id IN ({','.join('?' * len(batch))})"
                rows += conn.execute(" AND ".join([sql, *where]), [*batch, *args]).fetchall()
            rank = {s: i for i, s in enumerate(story_ids_)}
            rows.sort(key=lambda r: rank[r["id"]])
            rows = rows[:limit]
        else:
            sql = "SELECT * FROM stories" + (" WHERE " + " AND ".join(where) if where else "")
            rows = conn.execute(sql + " ORDER BY last_date DESC, articles DESC, id LIMIT ?", [*args, limit]).fetchall()
    except sqlite3.OperationalError:
        return []
    return [_story_dict(r) for r in rows]


def story_articles(conn: sqlite3.Connection, story_id: str) -> list[dict[str, Any]]:
    """The story's articles in date order; each original lists the re-published copies folded into it."""
    try:
        rows = conn.execute("SELECT m.article_id, m.copy_of, a.title, a.date, a.source FROM story_members m "
                            "JOIN articles a ON a.id = m.article_id WHERE m.story_id = ? "
                            "ORDER BY a.date, m.article_id", (story_id,)).fetchall()
    except sqlite3.OperationalError:
        return []
    copies: dict[str, list[str]] = {}
    for r in rows:
        if r[1]:
            copies.setdefault(r[1], []).append(r[0])
    return [{"article_id": r[0], "title": r[2], "date": r[3], "source": r[4], "copies": copies.get(r[0], [])}
            for r in rows if not r[1]]


def copy_origins(conn: sqlite3.Connection, article_ids: Iterable[str]) -> dict[str, str]:
    """For articles that are re-published copies: the original each copies."""
    out: dict[str, str] = {}
    try:
        for batch in _batches(sorted(set(article_ids))):
            out.update(conn.execute(f"SELECT article_id, copy_of FROM story_members WHERE copy_of IS NOT NULL AND "
                                    f"article_id IN ({','.join('?' * len(batch))})", batch).fetchall())
    except sqlite3.OperationalError:
        return {}
    return out


def _story_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "title": row["title"], "first_date": row["first_date"], "last_date": row["last_date"],
            "article_count": row["articles"], "copies": row["copies"], "lead_article": row["lead_article"],
            "actors": json.loads(row["actors"])}
