"""HTTP wiring only: routes, error mapping, the chat page. `python server.py` (or `newsqa serve`) starts it."""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from api.jobs import Jobs
from api.models import (
    AnswerOut,
    ArticleIn,
    ArticleOut,
    AskRequest,
    ChatRequest,
    ErrorOut,
    JobOut,
    SearchOut,
    SearchRequest,
    UpdateOut,
)
from api.openai_compat import completion, completion_chunks
from api.security import BodyLimit, RateLimiter
from corpus.load import load_records
from index.embed import ModelUnavailable
from index.manifest import IndexCorrupt, IndexNotFound, ModelMismatch
from qa.answer import Answer
from qa.conversation import Turn, resolve
from qa.engine import Engine, writer
from qa.settings import Settings

log = logging.getLogger("newsqa.server")
UNAVAILABLE = (IndexNotFound, IndexCorrupt, ModelMismatch, ModelUnavailable)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


class _EngineHolder:
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


EngineDep = Annotated[Engine, Depends(get_engine)]
WriteAccess = Depends(require_api_key)


def _answer(engine: Engine, body: AskRequest) -> tuple[Answer, str]:
    question = resolve(body.question, body.turns())
    return engine.answerer.answer(body.to_query(question, body.k)), question


def _sse(answer: Answer, resolved: str) -> Iterator[str]:
    """Each cited sentence as an `answer` event with its citation, then the whole answer as `done`."""
    parts = [(f"{c.shown} [{c.n}] ", [c.to_dict()]) for c in answer.citations] or [(answer.answer, [])]
    for delta, cited in parts:
        yield f"event: answer\ndata: {json.dumps({'delta': delta, 'citations': cited}, ensure_ascii=False)}\n\n"
    done = {**answer.to_dict(), "resolved_question": resolved}
    yield f"event: done\ndata: {json.dumps(done, ensure_ascii=False)}\n\n"


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give (each is {"detail": "..."})."""
    what = {400: "The body could not be parsed (not JSON or not UTF-8)", 401: "Missing or wrong API key",
            403: "Write endpoints are disabled (no API key configured)",
            404: "Not found", 413: "Request body too large", 429: "Too many requests; see Retry-After",
            503: "No usable index yet; the detail says how to build one"}
    return {code: {"model": ErrorOut, "description": what[code]} for code in codes}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = _EngineHolder(settings)
        app.state.jobs = Jobs()
        app.state.write_lock = threading.Lock()
        try:
            app.state.engine.get()  # load model and index once, before the first request
        except UNAVAILABLE as exc:
            log.error("%s", exc)  # the service still starts: requests get 503 with this message
        yield

    app = FastAPI(title="newsqa", version="0.1.0", lifespan=lifespan,
                  description="Question answering over a news archive; every answer sentence cites its source.")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.cors_allow_list:  # off unless NEWSQA_CORS_ORIGINS names origins
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_allow_list, allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])
    limit = Depends(RateLimiter(settings.rate_limit))
    read_errors = _errors(400, 413, 429, 503)
    write_errors = _errors(400, 401, 403, 404, 413, 503)

    for exc_type in UNAVAILABLE:
        @app.exception_handler(exc_type)
        async def unavailable(_: Request, exc: Exception) -> JSONResponse:
            return JSONResponse(status_code=503, content={"detail": str(exc)})

    # -- read API --------------------------------------------------------------------------------------

    @app.post("/api/ask", response_model=AnswerOut, summary="Answer a question with citations",
              dependencies=[limit], responses={200: {"content": {"text/event-stream": {}}}, **read_errors})
    def ask(body: AskRequest, engine: EngineDep) -> Any:
        answer, resolved = _answer(engine, body)
        if body.stream:
            return StreamingResponse(_sse(answer, resolved), media_type="text/event-stream")
        return {**answer.to_dict(), "resolved_question": resolved}

    @app.post("/api/search", response_model=SearchOut, summary="Ranked passages for a query",
              responses=_errors(400, 413, 503))
    def search(body: SearchRequest, engine: EngineDep) -> dict[str, Any]:
        hits = engine.searcher.search(body.to_query(body.query, body.k))
        return {"query": body.query, "results": [h.to_dict() for h in hits]}

    @app.get("/api/articles/{article_id}", response_model=ArticleOut, summary="A stored article",
             responses=_errors(404, 503))
    def article(article_id: str, engine: EngineDep) -> dict[str, Any]:
        found = engine.reader.article(article_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no article with id '{article_id}'")
        return found

    @app.get("/api/stats", summary="What the index holds, and the log of ingest runs", responses=_errors(503))
    def stats(engine: EngineDep) -> dict[str, Any]:
        engine.reader.refresh()
        return engine.reader.stats()

    @app.get("/api/health", summary="Liveness and index readiness")
    def health(request: Request) -> dict[str, Any]:
        try:
            engine = request.app.state.engine.get()
            engine.reader.refresh()
        except UNAVAILABLE as exc:
            return {"status": "no-index", "detail": str(exc)}
        return {"status": "ok", "articles": engine.reader.manifest.articles,
                "generation": engine.reader.manifest.generation}

    # -- write API -------------------------------------------------------------------------------------

    def _writer(request: Request, engine: Engine, **kwargs: Any) -> Any:
        return writer(settings, get_embedder=lambda: engine.searcher.embedder, **kwargs)

    @app.post("/api/articles", response_model=UpdateOut, dependencies=[WriteAccess],
              summary="Add or update articles (incremental); answerable as soon as the call returns",
              responses=write_errors)
    def add_articles(body: list[ArticleIn], request: Request, engine: EngineDep) -> dict[str, Any]:
        if len(body) > 1000:
            raise HTTPException(413, "at most 1000 articles per request")
        loaded = load_records([a.model_dump(exclude_none=True) for a in body], "request",
                              settings.max_article_chars)
        with request.app.state.write_lock, _writer(request, engine) as w:
            report = w.ingest(loaded.articles, loaded.skipped, ["POST /api/articles"])
        engine.reader.refresh()
        return report.to_dict()

    @app.delete("/api/articles/{article_id}", response_model=UpdateOut, dependencies=[WriteAccess],
                summary="Delete an article", responses=write_errors)
    def delete_article(article_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
        with request.app.state.write_lock, _writer(request, engine) as w:
            report = w.remove([article_id])
        if report.not_found:
            raise HTTPException(404, f"no article with id '{article_id}'")
        engine.reader.refresh()
        return report.to_dict()

    @app.post("/api/index/rebuild", response_model=JobOut, status_code=202, dependencies=[WriteAccess],
              summary="Re-chunk and re-embed everything in the background; queries use the old index meanwhile",
              responses=write_errors)
    def rebuild(request: Request, engine: EngineDep) -> dict[str, Any]:
        def work(progress: Any) -> dict[str, Any]:
            with request.app.state.write_lock, _writer(request, engine, for_rebuild=True,
                                                       on_progress=progress) as w:
                return w.rebuild().to_dict()

        return request.app.state.jobs.start("rebuild", work).to_dict()

    @app.get("/api/jobs/{job_id}", response_model=JobOut, summary="Progress of a background job",
             responses=_errors(404))
    def job(job_id: str, request: Request) -> dict[str, Any]:
        found = request.app.state.jobs.get(job_id)
        if found is None:
            raise HTTPException(404, f"no job with id '{job_id}'")
        return found.to_dict()

    # -- OpenAI-compatible -----------------------------------------------------------------------------

    @app.get("/v1/models", summary="OpenAI-compatible model list")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "newsqa", "object": "model", "created": 0, "owned_by": "newsqa"}]}

    @app.post("/v1/chat/completions", summary="OpenAI-compatible chat: the last user message is the question",
              dependencies=[limit], responses={200: {"content": {"text/event-stream": {}}}, **read_errors})
    def chat(body: ChatRequest, engine: EngineDep) -> Any:
        turns = [Turn(m.role, m.content) for m in body.messages if m.role != "system"]
        if not turns or turns[-1].role != "user" or not turns[-1].content.strip():
            raise RequestValidationError([{"loc": ["body", "messages"], "type": "value_error",
                                           "msg": "the last message must be a non-empty user message"}])
        question = resolve(turns[-1].content[:2000], turns[:-1])
        answer = engine.answerer.answer(question, k=settings.top_k)
        if body.stream:
            return StreamingResponse(completion_chunks(answer, body.model), media_type="text/event-stream")
        return completion(answer, body.model)

    # -- chat page -------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(resources.files("api").joinpath("static/index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        suffix = name[name.rfind("."):] if "." in name else ""
        if "/" in name or suffix not in STATIC_TYPES:
            raise HTTPException(404, "not found")
        path = resources.files("api").joinpath(f"static/{name}")
        if not path.is_file():
            raise HTTPException(404, "not found")
        return Response(path.read_bytes(), media_type=STATIC_TYPES[suffix])

    return app


def main() -> None:
    import uvicorn

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper())
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
