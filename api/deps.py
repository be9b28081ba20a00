"""What the routes share: the engine, settings and jobs kept on app.state, the API-key and rate-limit guards,
and the OpenAPI entries of the error answers."""

from __future__ import annotations

import hmac
import threading
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from api.jobs import Jobs
from api.models import ErrorOut
from index.actor_reader import ActorsUnavailable
from index.embed import ModelUnavailable
from index.manifest import IndexCorrupt, IndexNotFound, ModelMismatch
from index.milvus import StoreUnavailable
from qa.engine import Engine
from qa.settings import Settings

UNAVAILABLE = (IndexNotFound, IndexCorrupt, ModelMismatch, ModelUnavailable, StoreUnavailable, ActorsUnavailable)


class EngineHolder:
    """Opens the index lazily, so the service starts (and answers 503 with how to fix) before an index exists."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = Engine.open(self.settings)
            return self._engine


def get_engine(request: Request) -> Engine:
    return request.app.state.engine.get()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_jobs(request: Request) -> Jobs:
    return request.app.state.jobs


def get_write_lock(request: Request) -> threading.Lock:
    """One writer at a time: POST/DELETE articles and rebuilds queue behind each other."""
    return request.app.state.write_lock


def require_api_key(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Write endpoints: disabled without NEWSQA_API_KEY; with it, `Authorization: Bearer <key>` is required."""
    key: str | None = request.app.state.settings.api_key
    if not key:
        raise HTTPException(403, "write endpoints are disabled: start the service with NEWSQA_API_KEY set, then "
                                 "send 'Authorization: Bearer <key>'")
    scheme, _, token = (authorization or "").partition(" ")
    # compare_digest: the time taken does not reveal how much of a guessed key was right
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key.encode()):
        raise HTTPException(401, "missing or wrong API key", headers={"WWW-Authenticate": "Bearer"})


def rate_limit(request: Request) -> None:
    """The ask endpoints share one per-client budget (api.security.RateLimiter on app.state)."""
    request.app.state.rate_limiter(request)


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
WriteLock = Annotated[threading.Lock, Depends(get_write_lock)]
WriteAccess = Depends(require_api_key)
RateLimited = Depends(rate_limit)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give (each is {"detail": "..."})."""
    what = {400: "The body could not be parsed (not JSON or not UTF-8)", 401: "Missing or wrong API key",
            403: "Write endpoints are disabled (no API key configured)",
            404: "Not found", 413: "Request body too large", 429: "Too many requests; see Retry-After",
            503: "No usable index yet; the detail says how to build one"}
    return {code: {"model": ErrorOut, "description": what[code]} for code in codes}


READ_ERRORS = errors(400, 413, 429, 503)
WRITE_ERRORS = errors(400, 401, 403, 404, 413, 503)
