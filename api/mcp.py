"""The archive as MCP tools (Model Context Protocol, official `mcp` SDK): `search`, `ask` and `get_article`, over
stdio (`newsqa mcp`) and streamable HTTP (`/mcp` in the service).

Thin on purpose: each tool is a row of TOOLS, naming its argument model (the API's request models and limits), its
output model (the API's response models, so the structured output is what /api returns) and the engine call the
API route makes. A new tool is one more row, e.g. for POST /api/timeline (names as that route has them):

    ToolSpec("timeline", "A story's events in date order (as POST /api/timeline) ...", TimelineRequest,
             TimelineOut, lambda engine, settings, args: <what the route calls>(engine, args), rate_limited=True)

(arguments: subclass the request model with extra="forbid", as SearchArgs does)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from io import TextIOWrapper
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import UNAVAILABLE
from api.models import (
    MAX_QUESTION_CHARS,
    AnswerOut,
    ArticleOut,
    Filters,
    QuotesOut,
    SearchOut,
    SearchRequest,
    TimelineOut,
    TimelineRequestIn,
)
from api.routes.ask import answer_question
from api.routes.search import search_passages
from api.security import RateLimiter
from qa.engine import Engine
from qa.settings import Settings
from qa.timeline import TimelineRequest, build_timeline

log = logging.getLogger("newsqa.mcp")
PATH = "/mcp"
HEADERS = ["Mcp-Protocol-Version", "Mcp-Session-Id"]  # what a browser client of /mcp sends: CORS must allow them
INSTRUCTIONS = ("A news archive. `ask` answers a question with sentences quoted from articles, `search` ranks "
                "passages, `get_article` returns an article's text. Every quote and passage is exact: the text of "
                "article `article_id` from `start` to `end` (of its headline when `field` is 'title'). Filters: "
                "`as_of` (later articles do not exist), `since`, `until`, `source`, `actor`.")


class NotFound(Exception):
    """A tool's target does not exist (the API's 404)."""


class ToolRefused(Exception):
    """A call that is refused with a message for the caller (rate limit, bad arguments)."""


# Arguments: the API's request models with its limits; unknown names are refused, not ignored, so a misspelt
# filter never widens a search silently.
class SearchArgs(SearchRequest):
    model_config = ConfigDict(extra="forbid")


class AskArgs(Filters):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="The question, in plain words")
    k: int | None = Field(default=None, ge=1, le=50, description="Passages to read; absent: NEWSQA_TOP_K")


class ArticleArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    article_id: str = Field(min_length=1, max_length=200, description="An article id, as citations and search "
                                                                      "results give it")


def _search(engine: Engine, settings: Settings, args: SearchArgs) -> dict[str, Any]:
    return search_passages(engine, args)  # as POST /api/search


def _ask(engine: Engine, settings: Settings, args: AskArgs) -> dict[str, Any]:
    return answer_question(engine, args, args.question, args.k or settings.top_k)  # as POST /api/ask


class TimelineArgs(TimelineRequestIn):
    model_config = ConfigDict(extra="forbid")


class QuotesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speaker: str | None = Field(default=None, max_length=200, description="An actor's name or id")
    q: str | None = Field(default=None, max_length=200, description="Words the quote holds")
    since: dt.date | None = None
    until: dt.date | None = None
    limit: int = Field(default=50, ge=1, le=500)


def _timeline(engine: Engine, settings: Settings, args: TimelineArgs) -> dict[str, Any]:
    request = TimelineRequest(query=args.query, actor=args.actor, since=args.since, until=args.until,
                              as_of=args.as_of)  # as POST /api/timeline
    return build_timeline(engine.reader, engine.searcher, request, actors=engine.actor_index).to_dict()


def _quotes(engine: Engine, settings: Settings, args: QuotesArgs) -> dict[str, Any]:
    return {"quotes": engine.actors.quotes(args.speaker, args.q, args.since.isoformat() if args.since else None,
                                           args.until.isoformat() if args.until else None, limit=args.limit)}


def _article(engine: Engine, settings: Settings, args: ArticleArgs) -> dict[str, Any]:
    found = engine.reader.article(args.article_id)  # as GET /api/articles/{id}
    if found is None:
        raise NotFound(f"no article with id '{args.article_id}'")
    return found


def _cited(c: dict[str, Any]) -> str:
    where = "headline" if c.get("field") == "title" else f"text[{c['start']}:{c['end']}]"
    return (f"[{c['n']}] \"{c['quote']}\" ({c['title'] or '(untitled)'}, {c['source'] or 'unknown source'}, "
            f"{c['date'] or 'undated'}; article {c['article_id']}, {where})")


def _render_answer(out: dict[str, Any]) -> str:
    lines = [out["answer"]]
    if out.get("short_answer"):
        lines.insert(0, f"Short answer: {out['short_answer']['text']}")
    if out["citations"]:
        lines += ["", "Sources:", *map(_cited, out["citations"])]
    elif out.get("nearest"):
        lines += ["", "Nearest articles:", *(f"- {a.get('title') or '(untitled)'} ({a.get('source')}, "
                                              f"{a.get('date')}; article {a.get('article_id')})"
                                              for a in out["nearest"])]
    return "\n".join(lines)


def _render_search(out: dict[str, Any]) -> str:
    if not out["results"]:
        return f"No passages for {out['query']!r}."
    return "\n\n".join(f"{i}. {h['title'] or '(untitled)'} ({h['source'] or 'unknown source'}, "
                       f"{h['date'] or 'undated'}; article {h['article_id']}, text[{h['start']}:{h['end']}], "
                       f"score {h['score']})\n{h['text']}" for i, h in enumerate(out["results"], start=1))


def _render_article(out: dict[str, Any]) -> str:
    head = [out["title"] or "(untitled)", f"{out['source'] or 'unknown source'}, {out['date'] or 'undated'}; "
                                          f"article {out['id']}"]
    return "\n".join([*head, *([out["url"]] if out["url"] else []), "", out["text"]])


def render_json(out: dict[str, Any]) -> str:
    """The default text content: the structured output itself."""
    return json.dumps(out, ensure_ascii=False, indent=1)


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool: arguments validated by `args`, `run` does what the matching API route does, its result is
    checked against (and described by) `out`; `text` renders it for clients that read text content only."""

    name: str
    description: str
    args: type[BaseModel]
    out: type[BaseModel]
    run: Callable[[Engine, Settings, Any], dict[str, Any]]
    text: Callable[[dict[str, Any]], str] = render_json
    rate_limited: bool = False  # shares the per-client question budget of /api/ask (NEWSQA_RATE_LIMIT)


TOOLS: list[ToolSpec] = [
    ToolSpec("search", "Passages of the archive ranked for a query (as POST /api/search). Each result's `text` "
                       "is exactly the article's text[start:end].", SearchArgs, SearchOut, _search, _render_search),
    ToolSpec("ask", "Answer a question from the archive (as POST /api/ask): sentences quoted from articles, each "
                    "cited [n]. Each citation's `quote` is exactly the article's text[start:end] (its headline's "
                    "when `field` is 'title'). `abstained` is true when the archive does not say.",
             AskArgs, AnswerOut, _ask, _render_answer, rate_limited=True),
    ToolSpec("get_article", "A stored article's metadata and cleaned text (as GET /api/articles/{id}); citation "
                            "offsets index into `text`.", ArticleArgs, ArticleOut, _article, _render_article),
    ToolSpec("timeline", "Dated events about a subject (words, an actor or both), oldest first, each an exact "
                         "quote of its article with offsets, re-published copies once, and what the archive holds "
                         "on it (as POST /api/timeline).", TimelineArgs, TimelineOut, _timeline),
    ToolSpec("quotes", "Direct quotes, newest first, by speaker (a name or actor id), words and dates; each "
                       "`quote` is exactly the article's text[start:end] (as GET /api/quotes).", QuotesArgs,
             QuotesOut, _quotes),
]


def build_server(get_engine: Callable[[], Engine], settings: Settings, version: str = "",
                 limiter: Callable[[], RateLimiter | None] = lambda: None, tools: list[ToolSpec] | None = None
                 ) -> Any:
    """A low-level MCP server for the tools; `get_engine` opens the index on first use (503's message as a tool
    error until one exists), `limiter` gives the HTTP service's rate limiter (none over stdio)."""
    import anyio
    import mcp_types as types
    from mcp.server import Server

    specs = {t.name: t for t in (tools if tools is not None else TOOLS)}
    listed = [types.Tool(name=t.name, description=t.description, input_schema=t.args.model_json_schema(),
                         output_schema=t.out.model_json_schema(),
                         annotations=types.ToolAnnotations(read_only_hint=True, destructive_hint=False,
                                                           idempotent_hint=True, open_world_hint=False))
              for t in specs.values()]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    def refused(message: str) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        spec = specs.get(params.name)
        if spec is None:
            return refused(f"no tool named {params.name!r}; tools: {', '.join(specs)}")
        try:
            args = spec.args.model_validate(params.arguments or {})
        except ValidationError as exc:  # the API's 422, in words a model can act on
            return refused(f"invalid arguments for {spec.name}: " + "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()))
        try:
            if spec.rate_limited:
                _check_rate(limiter(), ctx)
            # the engine's calls are blocking (numpy, FAISS, SQLite): in a worker thread, as FastAPI runs them
            out = await anyio.to_thread.run_sync(lambda: _run(spec, get_engine, settings, args))
        except (ToolRefused, NotFound, *UNAVAILABLE) as exc:  # the API's 429, 404 and 503
            return refused(str(exc))
        except Exception:  # the API's 500: logged here, nothing of it told to the caller
            log.exception("MCP tool %s failed", spec.name)
            return refused(f"internal error in {spec.name}; the server's log has the details")
        return types.CallToolResult(content=[types.TextContent(type="text", text=spec.text(out))],
                                    structured_content=out)

    return Server("newsqa", version=version, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool)


def _run(spec: ToolSpec, get_engine: Callable[[], Engine], settings: Settings, args: BaseModel) -> dict[str, Any]:
    # through the response model, as FastAPI's response_model does: the same fields, JSON types and defaults
    return spec.out.model_validate(spec.run(get_engine(), settings, args)).model_dump(mode="json")


def _check_rate(limiter: RateLimiter | None, ctx: Any) -> None:
    request = getattr(ctx, "request", None)
    if limiter is None or request is None:  # stdio: a local process of one user, as the CLI
        return
    client = request.client.host if getattr(request, "client", None) else "unknown"
    wait = limiter.check(client)
    if wait:
        raise ToolRefused(f"too many questions from this client; retry in {math.ceil(wait)} s (limit "
                          f"{int(limiter.capacity)} a minute, NEWSQA_RATE_LIMIT)")


# --- streamable HTTP, mounted in the FastAPI service ---

class HttpEndpoint:
    """/mcp in the service: stateless streamable HTTP with JSON responses (every tool answers in one reply, so
    no session state is kept and any number of workers can serve it). `lifespan` must run inside the app's
    lifespan: FastAPI does not run a mounted app's own."""

    def __init__(self, server: Any, settings: Settings) -> None:
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager

        self.manager = StreamableHTTPSessionManager(
            app=server, stateless=True, json_response=True, security_settings=_transport_security(settings),
            max_request_body_size=settings.max_body_bytes if settings.max_body_bytes > 0 else 2**62)
        self._app = StreamableHTTPASGIApp(self.manager)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:  # ASGI
        if scope["type"] == "http" and scope["method"] == "GET":
            # the spec lets a server refuse the GET stream with 405; a stateless server would hold it open with
            # nothing ever to send on it
            body = b'{"detail": "this MCP endpoint sends no server-initiated messages: POST requests to it"}'
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"content-type", b"application/json"), (b"allow", b"POST, DELETE"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self._app(scope, receive, send)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield


def _transport_security(settings: Settings) -> Any:
    """On a loopback address, only loopback Host headers and browser origins (plus NEWSQA_CORS_ORIGINS) may
    reach /mcp, as the MCP spec asks against DNS rebinding; bound to another address, the operator's proxy
    decides who reaches it (the SDK's own rule)."""
    from mcp.server.transport_security import TransportSecuritySettings

    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        return None
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *settings.cors_allow_list])


# --- stdio: `newsqa mcp` ---

def claim_stdout() -> BinaryIO:
    """Keeps stdout for protocol messages alone: the protocol writes to a private copy of fd 1, and fd 1 (so every
    print, log handler or C library writing there) goes to stderr from now on."""
    sys.stdout.flush()
    wire = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(wire, "wb")


def serve_stdio(get_engine: Callable[[], Engine], settings: Settings, wire: BinaryIO, version: str = "") -> None:
    """Serves one client on stdin and `wire` (see claim_stdout) until stdin closes."""
    import anyio
    from mcp.server.stdio import stdio_server

    server = build_server(get_engine, settings, version)

    async def main() -> None:
        out = anyio.wrap_file(TextIOWrapper(wire, encoding="utf-8"))
        async with stdio_server(stdout=out) as (read, write):
            await server.run(read, write, server.create_initialization_options())

    log.info("MCP server on stdio (tools: %s)", ", ".join(t.name for t in TOOLS))
    anyio.run(main)
