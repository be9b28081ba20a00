"""Stories (articles about one event, grouped at ingest) and timelines."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from api.deps import EngineDep, errors
from api.models import StoriesOut, StoryOut, TimelineOut, TimelineRequestIn
from qa.stories import find_stories, get_story
from qa.timeline import TimelineRequest, build_timeline

router = APIRouter()


@router.get("/api/stories", response_model=StoriesOut, summary="Stories by words, actor and dates",
            responses=errors(400, 503))
def stories(engine: EngineDep, q: Annotated[str | None, Query(max_length=500)] = None,
            actor: Annotated[str | None, Query(max_length=200)] = None, since: dt.date | None = None,
            until: dt.date | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    found = find_stories(engine.reader, engine.searcher, q=q or None, actor=actor or None, since=since, until=until,
                         limit=limit, actors=engine.actor_index)
    return {"stories": found}


@router.get("/api/stories/{story_id}", response_model=StoryOut, summary="One story with its articles",
            responses=errors(404, 503))
def story(story_id: Annotated[str, Path(max_length=64)], engine: EngineDep) -> dict[str, Any]:
    found = get_story(engine.reader, story_id)
    if found is None:
        raise HTTPException(404, f"no story {story_id}")
    return found


@router.post("/api/timeline", response_model=TimelineOut, summary="Dated events about a subject, each an exact "
             "quote of its article", responses=errors(400, 413, 503))
def timeline(body: TimelineRequestIn, engine: EngineDep) -> dict[str, Any]:
    request = TimelineRequest(query=body.query, actor=body.actor, since=body.since, until=body.until,
                              as_of=body.as_of)
    return build_timeline(engine.reader, engine.searcher, request, actors=engine.actor_index).to_dict()
