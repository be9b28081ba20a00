"""Stored articles: read one; add, update or delete (write endpoints, behind the API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from api.deps import WRITE_ERRORS, EngineDep, SettingsDep, WriteAccess, WriteLock, errors
from api.models import ArticleIn, ArticleOut, UpdateOut
from corpus.load import load_records
from index.store import LineHistory
from qa.engine import writer

router = APIRouter()
MAX_ARTICLES_PER_REQUEST = 1000


@router.get("/api/articles/{article_id}", response_model=ArticleOut, summary="A stored article",
            responses=errors(404, 503))
def article(article_id: str, engine: EngineDep) -> dict[str, Any]:
    found = engine.reader.article(article_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no article with id '{article_id}'")
    return found


@router.post("/api/articles", response_model=UpdateOut, dependencies=[WriteAccess],
             summary="Add or update articles (incremental); answerable as soon as the call returns",
             responses=WRITE_ERRORS)
def add_articles(body: list[ArticleIn], engine: EngineDep, settings: SettingsDep, lock: WriteLock
                 ) -> dict[str, Any]:
    if len(body) > MAX_ARTICLES_PER_REQUEST:
        raise HTTPException(413, f"at most {MAX_ARTICLES_PER_REQUEST} articles per request")
    records = [a.model_dump(exclude_none=True) for a in body]
    with lock, writer(settings, get_embedder=lambda: engine.searcher.embedder) as w:
        # cleaned with the boilerplate the archive has learnt for their sources, as a bulk ingest would be
        loaded = load_records(records, "request", settings.max_article_chars, LineHistory(w.conn))
        report = w.ingest(loaded.articles, loaded.skipped, ["POST /api/articles"])
    engine.reader.refresh()
    return report.to_dict()


@router.delete("/api/articles/{article_id}", response_model=UpdateOut, dependencies=[WriteAccess],
               summary="Delete an article", responses=WRITE_ERRORS)
def delete_article(article_id: str, engine: EngineDep, settings: SettingsDep, lock: WriteLock) -> dict[str, Any]:
    with lock, writer(settings, get_embedder=lambda: engine.searcher.embedder) as w:
        report = w.remove([article_id])
    if report.not_found:
        raise HTTPException(404, f"no article with id '{article_id}'")
    engine.reader.refresh()
    return report.to_dict()
