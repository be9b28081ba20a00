"""Ranked passages for a query, without answering."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import EngineDep, errors
from api.models import SearchOut, SearchRequest

router = APIRouter()


@router.post("/api/search", response_model=SearchOut, summary="Ranked passages for a query",
             responses=errors(400, 413, 503))
def search(body: SearchRequest, engine: EngineDep) -> dict[str, Any]:
    hits = engine.searcher.search(body.to_query(body.query, body.k))
    return {"query": body.query, "results": [h.to_dict() for h in hits]}
