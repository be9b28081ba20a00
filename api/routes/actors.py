"""Actors (entities linked across the archive) and their direct quotes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from api.deps import READ_ERRORS, EngineDep, errors
from api.models import ActorDetailOut, ActorsOut, QuotesOut

router = APIRouter()
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/api/actors", response_model=ActorsOut, summary="Actors whose name or an alias matches q",
            responses=READ_ERRORS)
def actors(engine: EngineDep, q: Text = None, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    return {"actors": engine.actors.search(q, limit=limit)}


@router.get("/api/actors/{actor_id}", response_model=ActorDetailOut, summary="An actor: aliases, type, mentions "
            "per week, first and last seen, the actors most often named with it", responses=errors(404, 503))
def actor(actor_id: Annotated[int, ...], engine: EngineDep) -> dict[str, Any]:
    found = engine.actors.get(actor_id) if 0 < actor_id < 2**63 else None
    if found is None:
        raise HTTPException(404, f"no actor with id {actor_id}")
    return found


@router.get("/api/quotes", response_model=QuotesOut, summary="Direct quotes by speaker, words and dates",
            responses=READ_ERRORS)
def quotes(engine: EngineDep, speaker: Text = None, q: Text = None, since: dt.date | None = None,
           until: dt.date | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    return {"quotes": engine.actors.quotes(speaker, q, since.isoformat() if since else None,
                                           until.isoformat() if until else None, limit=limit)}
