"""HTTP wiring only: routes, request/response models, error mapping. `python server.py` starts it."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from index.embed import ModelUnavailable
from index.manifest import IndexCorrupt, IndexNotFound, ModelMismatch
from qa.engine import Engine
from qa.search import Query
from qa.settings import Settings

log = logging.getLogger("newsqa.server")


class Filters(BaseModel):
    as_of: dt.date | None = Field(default=None, description="Answer as of this date: later articles do not exist")
    since: dt.date | None = Field(default=None, description="Only articles dated on or after this date")
    until: dt.date | None = Field(default=None, description="Only articles dated on or before this date")
    source: str | None = Field(default=None, max_length=200, description="Only articles from this source")
    actor: str | None = Field(default=None, max_length=200, description="Only articles naming this actor")

    def to_query(self, text: str, k: int) -> Query:
        return Query(text, k=k, as_of=self.as_of, since=self.since, until=self.until, source=self.source,
                     actor=self.actor)


class AskRequest(Filters):
    question: str = Field(min_length=1, max_length=2000, description="The question, in plain words")
    k: int = Field(default=5, ge=1, le=50, description="Passages to read")


class SearchRequest(Filters):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=10, ge=1, le=100)


class CitationOut(BaseModel):
    n: int
    article_id: str
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    quote: str = Field(description="Exact text: article text[start:end]")
    start: int
    end: int
    chunk_id: int
    score: float


class AnswerOut(BaseModel):
    question: str
    answer: str = Field(description="Answer sentences, each followed by a [n] citation marker")
    citations: list[CitationOut]
    abstained: bool = Field(description="True when the archive holds no answer")
    nearest: list[dict[str, Any]] = Field(description="When abstaining: the closest articles")
    actors: list[dict[str, Any]] = Field(description="Main actors (people, organisations, places) of the cited "
                                                     "articles")


class HitOut(BaseModel):
    article_id: str
    chunk_id: int
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    text: str
    start: int
    end: int
    score: float
    dense_score: float
    bm25_score: float
    duplicates: list[str] = Field(description="Other articles carrying the same passage (re-published copies)")


class SearchOut(BaseModel):
    query: str
    results: list[HitOut]


class ArticleOut(BaseModel):
    id: str
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    authors: list[str]
    text: str = Field(description="Cleaned text; citation offsets index into it")


class _EngineHolder:
    """Opens the index lazily, so the service starts (and reports 503) before an index exists."""

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
    holder: _EngineHolder = request.app.state.engine
    return holder.get()


EngineDep = Annotated[Engine, Depends(get_engine)]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = _EngineHolder(settings)
        try:
            app.state.engine.get()  # load model and index once, before the first request
        except (IndexNotFound, IndexCorrupt, ModelMismatch, ModelUnavailable) as exc:
            log.error("%s", exc)  # the service still starts: requests get 503 with this message
        yield

    app = FastAPI(title="newsqa", version="0.1.0", lifespan=lifespan,
                  description="Question answering over a news archive; every answer sentence cites its source.")

    @app.exception_handler(IndexNotFound)
    @app.exception_handler(IndexCorrupt)
    @app.exception_handler(ModelMismatch)
    @app.exception_handler(ModelUnavailable)
    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.post("/api/ask", response_model=AnswerOut, summary="Answer a question with citations")
    def ask(body: AskRequest, engine: EngineDep) -> dict[str, Any]:
        return engine.answerer.answer(body.to_query(body.question, body.k)).to_dict()

    @app.post("/api/search", response_model=SearchOut, summary="Ranked passages for a query")
    def search(body: SearchRequest, engine: EngineDep) -> dict[str, Any]:
        hits = engine.searcher.search(body.to_query(body.query, body.k))
        return {"query": body.query, "results": [h.to_dict() for h in hits]}

    @app.get("/api/articles/{article_id}", response_model=ArticleOut, summary="A stored article")
    def article(article_id: str, engine: EngineDep) -> dict[str, Any]:
        found = engine.reader.article(article_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no article with id '{article_id}'")
        return found

    @app.get("/api/stats", summary="What the index holds")
    def stats(engine: EngineDep) -> dict[str, Any]:
        engine.reader.refresh()
        return engine.reader.stats()

    @app.get("/api/health", summary="Liveness and index readiness")
    def health(request: Request) -> dict[str, Any]:
        try:
            engine = request.app.state.engine.get()
        except (IndexNotFound, IndexCorrupt, ModelMismatch, ModelUnavailable) as exc:
            return {"status": "no-index", "detail": str(exc)}
        return {"status": "ok", "articles": engine.reader.manifest.articles,
                "generation": engine.reader.manifest.generation}

    return app


def main() -> None:
    import uvicorn

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper())
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
