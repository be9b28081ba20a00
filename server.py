"""HTTP wiring only: settings, lifespan, middleware, error mapping and the routers of api.routes.
`python server.py` (or `newsqa serve`) starts it."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.routing import Route

from api.deps import UNAVAILABLE, EngineHolder
from api.jobs import Jobs
from api.mcp import HEADERS as MCP_HEADERS
from api.mcp import PATH as MCP_PATH
from api.mcp import HttpEndpoint, build_server
from api.routes import actors, admin, articles, ask, feeds, pages, search, stories
from api.routes.pages import DOCS_ASSETS
from api.security import BodyLimit, RateLimiter
from qa.settings import Settings

log = logging.getLogger("newsqa.server")
ROUTERS = (ask.router, search.router, stories.router, articles.router, actors.router, feeds.router, admin.router,
           pages.router)


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": str(exc)})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = EngineHolder(settings)
        app.state.jobs = Jobs()
        app.state.write_lock = threading.Lock()
        app.state.rate_limiter = RateLimiter(settings.rate_limit)
        try:
            app.state.engine.get()  # load model and index once, before the first request
        except UNAVAILABLE as exc:
            log.error("%s", exc)  # the service still starts: requests get 503 with this message
        background = _start_background(app, settings)
        try:
            async with mcp.lifespan():  # the MCP session manager runs in the app's lifespan (FastAPI skips a route's)
                yield
        finally:
            for stop in background:
                stop()

    # /docs as FastAPI makes it, but with the Swagger UI files served from the fastapi-offline package instead of
    # a CDN, so it works without a network; /redoc (from the same package's files) is in api.routes.pages
    app = FastAPIOffline(title="newsqa", version="0.1.0", lifespan=lifespan, redoc_url=None, static_url=DOCS_ASSETS,
                         favicon_url="/favicon.ico",
                         description="Question answering over a news archive; every answer sentence cites its source.")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.cors_allow_list:  # off unless NEWSQA_CORS_ORIGINS names origins
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_allow_list, allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", *MCP_HEADERS], expose_headers=MCP_HEADERS)
    for exc_type in UNAVAILABLE:
        app.add_exception_handler(exc_type, _unavailable)
    for router in ROUTERS:
        app.include_router(router)
    # MCP tools over streamable HTTP: read-only, behind the same body limit and question rate limit as /api
    mcp = HttpEndpoint(build_server(lambda: app.state.engine.get(), settings, app.version,
                                    limiter=lambda: app.state.rate_limiter), settings)
    app.router.routes.append(Route(MCP_PATH, endpoint=mcp))  # an ASGI app: every method reaches it
    return app


def _start_background(app: FastAPI, settings: Settings) -> list[Any]:
    """The feed scheduler (always: feeds can be added while the service runs) and the folder watcher (when
    NEWSQA_WATCH names folders). Both write through the service's one-writer lock, then refresh the reader."""
    from qa.engine import embedder_factory
    from qa.feeds import Scheduler
    from qa.watch import Watcher

    def embedder() -> Any:
        try:
            return app.state.engine.get().searcher.embedder  # the loaded model, as POST /api/articles uses it
        except UNAVAILABLE:
            return embedder_factory(settings)()

    def refresh() -> None:
        try:
            app.state.engine.get().reader.refresh()
        except UNAVAILABLE as exc:
            log.error("%s", exc)

    scheduler = Scheduler(settings, app.state.write_lock, embedder, refresh).start()
    stops = [scheduler.stop]
    missing = [d for d in settings.watch_dirs if not d.is_dir()]
    if missing:
        log.error("NEWSQA_WATCH: not a folder, not watched: %s", ", ".join(map(str, missing)))
    dirs = [d for d in settings.watch_dirs if d.is_dir()]
    if dirs:
        watcher = Watcher(settings, dirs, remove_deleted=bool(settings.watch_remove_deleted),
                          lock=app.state.write_lock, get_embedder=embedder, on_change=refresh)
        thread = threading.Thread(target=watcher.run, name="folder-watcher", daemon=True)
        thread.start()

        def stop_watcher() -> None:
            watcher.stop.set()
            thread.join(30)

        stops.append(stop_watcher)
        log.info("watching %s", ", ".join(map(str, dirs)))
    return stops


def main() -> None:
    import uvicorn

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper())
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
