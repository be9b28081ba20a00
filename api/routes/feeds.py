"""Feed subscriptions: list, add, show, remove (writes behind the API key). The service's scheduler polls them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam

from api.deps import WRITE_ERRORS, SettingsDep, WriteAccess, errors
from api.models import ErrorOut, FeedIn, FeedOut
from index import feeds, store
from qa.feeds import open_store
from qa.settings import Settings

router = APIRouter()
FeedId = Annotated[int, PathParam(ge=1, le=2**62, description="The feed's id (newsqa feeds list)")]


def _read(settings: Settings) -> Any:
    """A read-only connection, or None before the index exists (no feeds yet)."""
    if not (Path(settings.index_dir) / store.DB_NAME).exists():
        return None
    return store.connect(settings.index_dir, readonly=True)


@router.get("/api/feeds", response_model=list[FeedOut], summary="Feeds with their state", responses=errors(400))
def list_feeds(settings: SettingsDep) -> list[dict[str, Any]]:
    conn = _read(settings)
    if conn is None:
        return []
    try:
        return feeds.list_feeds(conn)
    finally:
        conn.close()


@router.post("/api/feeds", response_model=FeedOut, status_code=201, dependencies=[WriteAccess],
             summary="Subscribe to an RSS or Atom feed; it is polled within seconds, then every every_seconds",
             responses={**WRITE_ERRORS, 409: {"model": ErrorOut, "description": "Already subscribed"}})
def add_feed(body: FeedIn, settings: SettingsDep) -> dict[str, Any]:
    conn = open_store(settings)  # the URL was checked by FeedIn: absolute http or https
    try:
        return feeds.add_feed(conn, body.url, body.every_seconds, body.source)
    except feeds.FeedExists as exc:
        raise HTTPException(409, str(exc)) from None
    finally:
        conn.close()


@router.get("/api/feeds/{feed_id}", response_model=FeedOut, summary="A feed and its state", responses=errors(404))
def get_feed(feed_id: FeedId, settings: SettingsDep) -> dict[str, Any]:
    conn = _read(settings)
    found = feeds.get_feed(conn, feed_id) if conn is not None else None
    if conn is not None:
        conn.close()
    if found is None:
        raise HTTPException(404, f"no feed {feed_id}")
    return found


@router.delete("/api/feeds/{feed_id}", dependencies=[WriteAccess], responses=WRITE_ERRORS,
               summary="Unsubscribe (the feed's articles stay in the archive)")
def remove_feed(feed_id: FeedId, settings: SettingsDep) -> dict[str, Any]:
    conn = open_store(settings)
    try:
        removed = feeds.remove_feed(conn, feed_id)
    finally:
        conn.close()
    if not removed:
        raise HTTPException(404, f"no feed {feed_id}")
    return {"removed": 1, "id": feed_id}
