"""Feed subscriptions and what was seen of them, kept in the index's SQLite store (tables feeds, feed_items).

Times are UTC ISO 8601 strings (store.now()), so that they compare as text. A failing feed is polled again after
a backoff that doubles with each failure in a row, capped at MAX_BACKOFF.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from index import store

MAX_BACKOFF = 6 * 3600  # seconds: a feed down for days is still tried four times a day
MIN_EVERY = 1  # seconds; the CLI and API ask for at least a minute, tests poll faster


class FeedExists(ValueError):
    """A URL already subscribed to."""


def _at(seconds_from_now: float, now: dt.datetime | None = None) -> str:
    moment = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=seconds_from_now)
    return moment.isoformat(timespec="seconds")


def backoff(every_seconds: int, failures: int) -> int:
    """Seconds before the next try of a feed that failed `failures` times in a row."""
    return int(min(every_seconds * 2 ** max(failures, 0), max(MAX_BACKOFF, every_seconds)))


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT on a connection in autocommit mode (the Writer's), or sqlite3's implicit
    transaction, committed on leaving, on a connection in its default mode."""
    if conn.isolation_level is None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    else:
        with conn:
            yield


def add_feed(conn: sqlite3.Connection, url: str, every_seconds: int, source: str | None = None) -> dict[str, Any]:
    """Subscribe to url; it is due at once."""
    with _transaction(conn):
        try:
            cur = conn.execute("INSERT INTO feeds(url, source, every_seconds, next_poll, added_at) VALUES (?,?,?,?,?)",
                               (url, source, max(int(every_seconds), MIN_EVERY), store.now(), store.now()))
        except sqlite3.IntegrityError:
            row = conn.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
            raise FeedExists(f"already subscribed to {url} (feed {row[0] if row else '?'})") from None
    found = get_feed(conn, int(cur.lastrowid or 0))
    assert found is not None
    return found


def list_feeds(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every feed with its state and the number of items seen; [] for an index older than feeds."""
    try:
        rows = conn.execute("SELECT f.*, (SELECT COUNT(*) FROM feed_items i WHERE i.feed_id = f.id) AS items_seen "
                            "FROM feeds f ORDER BY f.id").fetchall()
    except sqlite3.OperationalError:  # read-only connection to an index written before feeds existed
        return []
    return [dict(r) for r in rows]


def get_feed(conn: sqlite3.Connection, feed_id: int) -> dict[str, Any] | None:
    return next((f for f in list_feeds(conn) if f["id"] == feed_id), None)


def remove_feed(conn: sqlite3.Connection, feed_id: int) -> bool:
    """Unsubscribe; the articles it brought stay in the archive."""
    with _transaction(conn):
        conn.execute("DELETE FROM feed_items WHERE feed_id = ?", (feed_id,))
        return conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount == 1


def due_feeds(conn: sqlite3.Connection, now: str | None = None) -> list[int]:
    try:
        return [r[0] for r in conn.execute("SELECT id FROM feeds WHERE next_poll IS NULL OR next_poll <= ? "
                                           "ORDER BY next_poll", (now or store.now(),))]
    except sqlite3.OperationalError:
        return []


def seen_items(conn: sqlite3.Connection, feed_id: int) -> dict[str, str]:
    """Key -> content hash of every item of the feed already stored."""
    return dict(conn.execute("SELECT key, content_hash FROM feed_items WHERE feed_id = ?", (feed_id,)).fetchall())


def mark_seen(conn: sqlite3.Connection, feed_id: int, items: Iterable[tuple[str, str, str]]) -> None:
    """(key, article id, content hash) of items whose articles are committed."""
    with _transaction(conn):
        conn.executemany("INSERT OR REPLACE INTO feed_items(feed_id, key, article_id, content_hash, seen_at) "
                         "VALUES (?,?,?,?,?)", [(feed_id, k, a, h, store.now()) for k, a, h in items])


def record_success(conn: sqlite3.Connection, feed_id: int, etag: str | None, last_modified: str | None,
                   problem: str | None = None) -> None:
    """A poll that read the feed (problem: what went wrong with some of its items, kept as its last error)."""
    row = conn.execute("SELECT every_seconds FROM feeds WHERE id = ?", (feed_id,)).fetchone()
    if row is None:
        return  # removed meanwhile
    with _transaction(conn):
        conn.execute("UPDATE feeds SET etag = ?, last_modified = ?, last_success = ?, failures = 0, next_poll = ? "
                     "WHERE id = ?", (etag, last_modified, store.now(), _at(row[0]), feed_id))
        if problem:
            conn.execute("UPDATE feeds SET last_error = ?, last_error_at = ? WHERE id = ?",
                         (problem[:1000], store.now(), feed_id))


def record_failure(conn: sqlite3.Connection, feed_id: int, reason: str) -> None:
    """A poll that could not read the feed: the reason, and the next try after a capped backoff."""
    row = conn.execute("SELECT every_seconds, failures FROM feeds WHERE id = ?", (feed_id,)).fetchone()
    if row is None:
        return
    with _transaction(conn):
        conn.execute("UPDATE feeds SET last_error = ?, last_error_at = ?, failures = failures + 1, next_poll = ? "
                     "WHERE id = ?", (reason[:1000], store.now(), _at(backoff(row[0], row[1] + 1)), feed_id))


def stored_article_ids(conn: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
    """Which of these articles are stored (a poll killed after its commit left them unmarked)."""
    return set(store.article_hashes(conn, ids))
