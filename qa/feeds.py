"""Polling feeds into the index: fetch each feed (conditionally), fetch the pages of its new and changed items,
and store their articles through the index Writer, one batch at a time, under the write lock.

Crash safety: an item is marked seen after the commit that stores its article, on the same connection; a poll
killed between the two finds the article stored on its next poll (article ids come from item keys) and marks it
seen without fetching or ingesting it again. A feed's ETag / Last-Modified are saved only once all its items are
in, so a poll cut short is answered in full (not 304) the next time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.feeds import FeedMalformed, Item, item_record, parse_feed
from corpus.fetch import FetchError, FetchLimits, client, fetch
from corpus.load import articles_from_raw
from corpus.readers import RawRecord, Skipped
from index import feeds, store
from index.embed import Embedder
from index.store import LineHistory
from qa.engine import writer
from qa.settings import Settings

log = logging.getLogger(__name__)

FEED_BATCH = 20  # items whose pages are fetched, then committed as one update: a kill loses at most this much work
PAGE_RETRIES = 3  # polls that retry an item's page after a transient failure (timeout, 5xx), its feed text stored


def user_agent() -> str:
    from importlib import metadata

    try:
        return f"newsqa/{metadata.version('newsqa')}"
    except metadata.PackageNotFoundError:
        return "newsqa/dev"


def limits_of(settings: Settings) -> FetchLimits:
    return FetchLimits(timeout=settings.feed_timeout, max_bytes=settings.feed_max_bytes, user_agent=user_agent())


@dataclass
class FeedPoll:
    """What one poll of one feed did."""

    feed_id: int
    url: str
    status: str = "ok"  # ok | not_modified | error
    error: str | None = None
    items: int = 0  # in the feed document
    new: list[str] = field(default_factory=list)  # article ids
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0  # items seen before (or stored by a poll that was cut short)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # items ingested from the feed's own text, and why
    retrying: int = 0  # items whose page failed for now: stored from the feed's text, their page tried next poll
    seconds: dict[str, float] = field(default_factory=dict)  # fetch, extract, embed, index

    def to_dict(self) -> dict[str, Any]:
        return {"feed_id": self.feed_id, "url": self.url, "status": self.status, "error": self.error,
                "items": self.items, "new": len(self.new), "updated": len(self.updated), "unchanged": self.unchanged,
                "skipped": [{"where": s.where, "reason": s.reason} for s in self.skipped], "notes": self.notes,
                "retrying": self.retrying, "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

    def _add_time(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


@dataclass
class PollReport:
    feeds: list[FeedPoll] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(f.new or f.updated for f in self.feeds)

    def to_dict(self) -> dict[str, Any]:
        return {"feeds": [f.to_dict() for f in self.feeds], "new": sum(len(f.new) for f in self.feeds),
                "updated": sum(len(f.updated) for f in self.feeds),
                "errors": sum(f.status == "error" for f in self.feeds)}


def open_store(settings: Settings) -> Any:
    """A read-write connection to the index's store (created when there is none yet: feeds can come first)."""
    Path(settings.index_dir).mkdir(parents=True, exist_ok=True)
    return store.connect(settings.index_dir)


def poll(settings: Settings, feed_ids: Sequence[int] | None = None, *, due_only: bool = False,
         get_embedder: Callable[[], Embedder] | None = None, lock: Any = None) -> PollReport:
    """Poll the given feeds (default: all, or with due_only those whose next poll has come). A feed's failure is
    recorded on it and the others go on. lock: held around each write (the service's one-writer lock)."""
    report = PollReport()
    conn = open_store(settings)
    try:
        ids = list(feed_ids) if feed_ids else (feeds.due_feeds(conn) if due_only else
                                                [f["id"] for f in feeds.list_feeds(conn)])
        limits = limits_of(settings)
        with client(limits) as http:
            for feed_id in ids:
                feed = feeds.get_feed(conn, feed_id)
                if feed is None:
                    continue
                result = FeedPoll(feed_id, feed["url"])
                try:
                    _poll_feed(settings, conn, feed, http, limits, result, get_embedder, lock)
                except Exception as exc:  # noqa: BLE001 - one feed's failure must not stop the others
                    log.exception("feed %d (%s) failed", feed_id, feed["url"])
                    result.status, result.error = "error", f"{type(exc).__name__}: {exc}"[:500]
                    feeds.record_failure(conn, feed_id, result.error)
                report.feeds.append(result)
    finally:
        conn.close()
    return report


def _poll_feed(settings: Settings, conn: Any, feed: dict[str, Any], http: Any, limits: FetchLimits,
               result: FeedPoll, get_embedder: Callable[[], Embedder] | None, lock: Any) -> None:
    feed_id = int(feed["id"])
    headers = {}
    if feed["etag"]:
        headers["If-None-Match"] = feed["etag"]
    if feed["last_modified"]:
        headers["If-Modified-Since"] = feed["last_modified"]
    started = time.perf_counter()
    try:
        fetched = fetch(http, feed["url"], limits, headers)
        result._add_time("fetch", time.perf_counter() - started)
        if fetched.status == 304:
            result.status = "not_modified"
            feeds.record_success(conn, feed_id, feed["etag"], feed["last_modified"])
            return
        parsed = parse_feed(fetched.body, fetched.url, fetched.headers.get("content-type", ""))
    except (FetchError, FeedMalformed) as exc:
        result.status, result.error = "error", str(exc)
        log.warning("feed %d (%s): %s", feed_id, feed["url"], exc)
        feeds.record_failure(conn, feed_id, str(exc))
        return
    if parsed.problem:
        result.notes.append(parsed.problem)
    items = list({item.key: item for item in parsed.items}.values())  # a key listed twice: its last entry
    result.items = len(items)
    seen = feeds.seen_items(conn, feed_id)
    todo = [i for i in items if _wanted(i, seen.get(i.key))]
    result.unchanged = len(items) - len(todo)
    # stored by a poll killed before it marked them (or carried by another feed too): seen, not ingested again
    stored = feeds.stored_article_ids(conn, [i.article_id for i in todo if i.key not in seen])
    recovered = [i for i in todo if i.key not in seen and i.article_id in stored]
    if recovered:
        feeds.mark_seen(conn, feed_id, [(i.key, i.article_id, i.content_hash) for i in recovered])
        result.unchanged += len(recovered)
        todo = [i for i in todo if not (i.key not in seen and i.article_id in stored)]
    for start in range(0, len(todo), FEED_BATCH):
        _ingest_items(settings, feed, todo[start:start + FEED_BATCH], parsed.title, seen, http, limits, result,
                      get_embedder, lock)
    # with pages to retry, the feed is not asked conditionally next time: a 304 would hide their items
    retry = result.retrying > 0
    feeds.record_success(conn, feed_id, None if retry else fetched.headers.get("etag"),
                         None if retry else fetched.headers.get("last-modified"),
                         problem="; ".join(result.notes[:5] + [str(s) for s in result.skipped[:5]]) or None)


def _retries(marker: str | None, item: Item) -> int:
    """How many polls already failed to fetch the item's page (its seen marker is retry<n>:<content hash>)."""
    if not marker or not marker.startswith("retry") or not marker.endswith(":" + item.content_hash):
        return 0
    return int(marker[5:marker.index(":")] or 0)


def _wanted(item: Item, marker: str | None) -> bool:
    """New, changed, or its page still to be retried."""
    return marker != item.content_hash and _retries(marker, item) < PAGE_RETRIES


def _ingest_items(settings: Settings, feed: dict[str, Any], batch: list[Item], feed_title: str | None,
                  seen: dict[str, str], http: Any, limits: FetchLimits, result: FeedPoll,
                  get_embedder: Callable[[], Embedder] | None, lock: Any) -> None:
    """Fetch the batch's pages, then store their articles and mark the items seen, under the lock."""
    raws: list[RawRecord] = []
    skipped: list[Skipped] = []
    markers: dict[str, str] = {}
    for item in batch:
        page, problem = None, None
        markers[item.key] = item.content_hash
        started = time.perf_counter()
        if item.link is None:
            problem = "the item has no link"
        else:
            try:
                page = fetch(http, item.link, limits)
            except FetchError as exc:
                problem = f"page not fetched: {exc}"
                attempts = _retries(seen.get(item.key), item) + 1
                if exc.transient and attempts < PAGE_RETRIES:
                    markers[item.key] = f"retry{attempts}:{item.content_hash}"
                    problem += " (tried again at the next poll)"
                    result.retrying += 1
        result._add_time("fetch", time.perf_counter() - started)
        started = time.perf_counter()
        record, note = item_record(item, f"feed {feed['id']} item {item.link or item.key}", page, problem,
                                   feed["source"], feed_title)
        result._add_time("extract", time.perf_counter() - started)
        if note:
            result.notes.append(f"{item.link or item.key}: {note}")
        (skipped if isinstance(record, Skipped) else raws).append(record)  # type: ignore[arg-type]
    with lock or contextlib.nullcontext(), writer(settings, get_embedder=get_embedder) as w:
        started = time.perf_counter()
        loaded = articles_from_raw(raws, skipped, settings.max_article_chars, LineHistory(w.conn))
        result._add_time("extract", time.perf_counter() - started)
        started = time.perf_counter()
        report = w.ingest(loaded.articles, loaded.skipped, [f"feed {feed['id']}: {feed['url']}"])
        embed = report.seconds.get("embed", 0.0) + report.seconds.get("entities_wait", 0.0)
        result._add_time("embed", embed)
        result._add_time("index", time.perf_counter() - started - embed)
        stored = {a.id for a in loaded.articles}
        feeds.mark_seen(w.conn, int(feed["id"]), [(i.key, i.article_id if i.article_id in stored else "",
                                                   markers[i.key]) for i in batch])
    result.new += report.new
    result.updated += report.updated
    result.unchanged += report.unchanged + report.duplicates
    result.skipped += report.skipped


class Scheduler:
    """A background thread that polls due feeds every `tick` seconds (one writer at a time through `lock`) and
    calls on_change after a poll that stored something (the service refreshes its reader there)."""

    def __init__(self, settings: Settings, lock: Any, get_embedder: Callable[[], Embedder] | None,
                 on_change: Callable[[], None], tick: float = 5.0) -> None:
        self.settings, self.lock, self.get_embedder, self.on_change, self.tick = (
            settings, lock, get_embedder, on_change, tick)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def due(self) -> list[int]:
        if not (Path(self.settings.index_dir) / store.DB_NAME).exists():
            return []
        conn = store.connect(self.settings.index_dir, readonly=True)
        try:
            return feeds.due_feeds(conn)
        finally:
            conn.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                due = self.due()
                if due:
                    report = poll(self.settings, due, get_embedder=self.get_embedder, lock=self.lock)
                    if report.changed:
                        self.on_change()
            except Exception:  # noqa: BLE001 - the scheduler outlives any one failed round
                log.exception("feed scheduler round failed")
            self._stop.wait(self.tick)
