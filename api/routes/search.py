"""Ranked passages for a query, without answering."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import EngineDep, errors
from api.models import SearchOut, SearchRequest
from qa.engine import Engine
from qa.stories import one_per_story, story_of_hits

router = APIRouter()


@router.post("/api/search", response_model=SearchOut, summary="Ranked passages for a query",
             responses=errors(400, 413, 503))
def search(body: SearchRequest, engine: EngineDep) -> dict[str, Any]:
    return search_passages(engine, body)


def search_passages(engine: Engine, body: SearchRequest) -> dict[str, Any]:
    """What POST /api/search answers (and the MCP search tool): ranked passages with their stories."""
    # one hit per story: search deeper, then keep each story's best hit
    hits = engine.searcher.search(body.to_query(body.query, body.k * 3 if body.per_story else body.k))
    stories = story_of_hits(engine.reader, hits)
    if body.per_story:
        hits = one_per_story(hits, stories, body.k)
    return {"query": body.query, "results": [{**h.to_dict(), "story_id": stories.get(h.article_id)} for h in hits]}
