"""The archive as MCP tools, through the `mcp` SDK's own client: over stdio (`python -m cli mcp` as a subprocess) and
over streamable HTTP (/mcp of a real `newsqa serve` on loopback), on the demo index with the real model."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel, ConfigDict, Field

from qa.settings import Settings
from tests.service import ROOT, Server

QUESTION = "How many preorders had Lumora received for the Halo?"
QUERY = "Lumora Halo home hub"
TOOLS = {"search", "ask", "get_article", "timeline", "quotes"}
FILTERS = {"as_of", "since", "until", "source", "actor"}


def stdio_params(settings: Settings, env: dict[str, str] | None = None) -> Any:
    from mcp import StdioServerParameters

    return StdioServerParameters(command=sys.executable, args=["-m", "cli", "mcp", "--index", str(settings.index_dir)],
                                 cwd=str(ROOT), env={"NEWSQA_LOG_LEVEL": "INFO", **(env or {})})


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return dict(result.structured_content)


async def _session(target: Any) -> dict[str, Any]:
    """One client session that lists the tools and calls each (with and without filters, and wrongly); what came
    back, for the tests below to check."""
    from mcp import Client

    out: dict[str, Any] = {}
    async with Client(target, read_timeout_seconds=120) as client:
        out["tools"] = {t.name: t for t in (await client.list_tools()).tools}
        out["ask"] = await client.call_tool("ask", {"question": QUESTION})
        cited = structured(out["ask"])["citations"]
        latest = max(c["date"] for c in cited)
        out["until"] = (dt.date.fromisoformat(latest) - dt.timedelta(days=1)).isoformat()
        out["ask_until"] = await client.call_tool("ask", {"question": QUESTION, "until": out["until"]})
        out["search"] = await client.call_tool("search", {"query": QUERY, "k": 8})
        earliest = min(h["date"] for h in structured(out["search"])["results"])
        out["search_until"] = await client.call_tool("search", {"query": QUERY, "k": 8, "until": earliest})
        out["search_earliest"] = earliest
        out["timeline"] = await client.call_tool("timeline", {"query": "port strike"})
        out["quotes"] = await client.call_tool("quotes", {"limit": 8})
        ids = ({c["article_id"] for c in cited} | {h["article_id"] for h in structured(out["search"])["results"]}
               | {e["article_id"] for e in structured(out["timeline"])["events"]}
               | {q["article_id"] for q in structured(out["quotes"])["quotes"]})
        out["articles"] = {i: await client.call_tool("get_article", {"article_id": i}) for i in sorted(ids)}
        out["missing"] = await client.call_tool("get_article", {"article_id": "no-such-article"})
        out["misspelt"] = await client.call_tool("search", {"query": QUERY, "untill": "2024-01-01"})
        out["too_long"] = await client.call_tool("ask", {"question": "why " * 600})
        out["bad_date"] = await client.call_tool("ask", {"question": QUESTION, "as_of": "last Tuesday"})
    return out


def session(target: Any) -> dict[str, Any]:
    return anyio.run(_session, target)


@pytest.fixture(scope="module")
def server(demo_settings: Settings) -> Iterator[Server]:
    srv = Server(demo_settings.index_dir)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def over_stdio(demo_settings: Settings) -> dict[str, Any]:
    return session(stdio_params(demo_settings))


@pytest.fixture(scope="module")
def over_http(server: Server) -> dict[str, Any]:
    return session(f"{server.url}/mcp")


@pytest.fixture(params=["stdio", "http"])
def calls(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.getfixturevalue(f"over_{request.param}")


@pytest.mark.slow
def test_lists_the_tools_with_the_api_filters_and_output_schemas(calls: dict[str, Any]) -> None:
    tools = calls["tools"]
    assert set(tools) == TOOLS
    for name in ("search", "ask"):
        assert FILTERS <= set(tools[name].input_schema["properties"]), name
    assert tools["ask"].input_schema["required"] == ["question"]
    assert tools["ask"].input_schema["properties"]["question"]["maxLength"] == 2000  # the API's limit
    assert "citations" in tools["ask"].output_schema["properties"]
    for tool in tools.values():
        assert tool.output_schema["type"] == "object" and tool.annotations.read_only_hint


@pytest.mark.slow
def test_ask_citations_are_exact_quotes_of_the_articles(calls: dict[str, Any], demo_settings: Settings) -> None:
    from qa.engine import open_reader

    answer = structured(calls["ask"])
    assert not answer["abstained"] and answer["citations"]
    store = open_reader(demo_settings, check=False)
    for c in answer["citations"]:
        fetched = structured(calls["articles"][c["article_id"]])  # through the get_article tool
        stored = store.article(c["article_id"])  # and independently, from the index's own store
        assert stored is not None and fetched == stored
        source = stored["title"] if c["field"] == "title" else stored["text"]
        assert source[c["start"]:c["end"]] == c["quote"] and c["quote"]
        assert (c["title"], c["date"], c["source"]) == (stored["title"], stored["date"], stored["source"])
        assert f"[{c['n']}]" in answer["answer"] and c["quote"] in calls["ask"].content[0].text  # and as text


@pytest.mark.slow
def test_timeline_and_quotes_come_back_as_exact_quotes(calls: dict[str, Any]) -> None:
    events = structured(calls["timeline"])["events"]
    assert len(events) >= 2 and [e["date"] for e in events] == sorted(e["date"] for e in events)
    quotes = structured(calls["quotes"])["quotes"]
    assert quotes and all(q["speaker"]["name"] for q in quotes)
    for item in [*events, *quotes]:
        article = structured(calls["articles"][item["article_id"]])
        source = article["title"] if item.get("field") == "title" else article["text"]
        assert source[item["start"]:item["end"]] == item["quote"] and item["quote"]


@pytest.mark.slow
def test_search_passages_are_exact_spans(calls: dict[str, Any]) -> None:
    results = structured(calls["search"])["results"]
    assert len(results) >= 3 and any("Halo" in h["text"] for h in results)
    for hit in results:
        text = structured(calls["articles"][hit["article_id"]])["text"]
        assert text[hit["start"]:hit["end"]] == hit["text"]
        assert f"article {hit['article_id']}" in calls["search"].content[0].text


@pytest.mark.slow
def test_until_excludes_later_articles(calls: dict[str, Any]) -> None:
    late = [c for c in structured(calls["ask"])["citations"] if c["date"] > calls["until"]]
    assert late  # the unfiltered answer cites an article after `until` ...
    filtered = structured(calls["ask_until"])
    assert all(c["date"] <= calls["until"] for c in filtered["citations"])  # ... which the filtered one cannot
    assert not {c["article_id"] for c in late} & {c["article_id"] for c in filtered["citations"]}
    unfiltered = structured(calls["search"])["results"]
    narrowed = structured(calls["search_until"])["results"]
    assert any(h["date"] > calls["search_earliest"] for h in unfiltered)
    assert narrowed and all(h["date"] <= calls["search_earliest"] for h in narrowed)


@pytest.mark.slow
def test_wrong_calls_are_tool_errors_that_say_why(calls: dict[str, Any]) -> None:
    assert calls["missing"].is_error and "no-such-article" in calls["missing"].content[0].text
    assert calls["misspelt"].is_error and "untill" in calls["misspelt"].content[0].text  # not silently ignored
    assert calls["too_long"].is_error and "2000" in calls["too_long"].content[0].text
    assert calls["bad_date"].is_error and "as_of" in calls["bad_date"].content[0].text


@pytest.mark.slow
def test_tools_answer_what_the_api_answers(over_stdio: dict[str, Any], over_http: dict[str, Any],
                                           server: Server) -> None:
    status, api = server.post("/api/ask", {"question": QUESTION})
    assert status == 200
    assert structured(over_http["ask"]) == api == structured(over_stdio["ask"])
    status, api = server.post("/api/search", {"query": QUERY, "k": 8, "until": over_http["search_earliest"]})
    assert status == 200 and structured(over_http["search_until"]) == api


def _raw_stdio(settings: Settings, lines: list[dict[str, Any]], prelude: str, errfile: Path
               ) -> tuple[list[str], str]:
    """Runs `newsqa mcp` with `prelude` executed first in its process, sends `lines` and reads one stdout line per
    request (as a client keeps stdin open until its answers are in); all stdout lines and the stderr written."""
    code = f"{prelude}\nimport sys\nfrom cli.main import main\nsys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "NEWSQA_LOG_LEVEL": "DEBUG"}
    with open(errfile, "w") as err:  # a file, not a pipe: DEBUG logs could fill a pipe and stall the server
        proc = subprocess.Popen([sys.executable, "-c", code, "mcp", "--index", str(settings.index_dir)], cwd=ROOT,
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdin and proc.stdout
        out = []
        try:
            for message in lines:
                proc.stdin.write(json.dumps(message) + "\n")
                proc.stdin.flush()
                if "id" in message:
                    out.append(proc.stdout.readline())
            rest, _ = proc.communicate(timeout=60)  # closes stdin: the server ends
        finally:
            proc.kill()
    return [line for line in out + rest.splitlines() if line.strip()], errfile.read_text()


@pytest.mark.slow
def test_stdio_stdout_carries_protocol_messages_only(demo_settings: Settings, tmp_path: Path) -> None:
    # a tool's code that prints, and writes to fd 1 directly (as a C library might), while DEBUG logs flow
    prelude = ("import os, qa.search as s\n_search = s.Searcher.search\n"
               "def noisy(self, *a, **k):\n    print('stray print'); os.write(1, b'stray fd write\\n')\n"
               "    return _search(self, *a, **k)\ns.Searcher.search = noisy")
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
    messages = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                 "params": {"name": "search", "arguments": {"query": QUERY, "k": 2}}}]
    out, err = _raw_stdio(demo_settings, messages, prelude, tmp_path / "stderr.txt")
    replies = [json.loads(line) for line in out]  # every line is a JSON-RPC message: no stray text
    assert [r.get("id") for r in replies] == [1, 2] and all(r["jsonrpc"] == "2.0" for r in replies)
    assert replies[1]["result"]["structuredContent"]["results"]
    assert "stray print" in err and "stray fd write" in err and "DEBUG" in err  # they went to stderr


@pytest.fixture(scope="module")
def limited(demo_settings: Settings) -> Iterator[Server]:
    srv = Server(demo_settings.index_dir, api_key="mcp-test-key-0042",
                 env={"NEWSQA_RATE_LIMIT": "2", "NEWSQA_MAX_BODY_BYTES": "20000"})
    yield srv
    srv.stop()


async def _asks(url: str, n: int) -> list[Any]:
    from mcp import Client

    async with Client(url, read_timeout_seconds=120) as client:
        results = [await client.call_tool("ask", {"question": QUESTION}) for _ in range(n)]
        results.append(await client.call_tool("search", {"query": QUERY}))  # not rate-limited, as /api/search
    return results


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.mark.slow
def test_http_endpoint_has_the_api_limits(limited: Server) -> None:
    # reads need no key, on /mcp as on /api, even with NEWSQA_API_KEY set (it guards writes; no tool writes)
    *asks, search = anyio.run(_asks, f"{limited.url}/mcp", 3)
    assert [a.is_error for a in asks] == [False, False, True] and not search.is_error
    assert "NEWSQA_RATE_LIMIT" in asks[2].content[0].text
    status, body = limited.post("/api/ask", {"question": QUESTION})  # one budget per client for /api and /mcp
    assert status == 429 and "NEWSQA_RATE_LIMIT" in body["detail"]
    mcp_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "search", "arguments": {"query": "x" * 30_000}}}).encode()
    assert _post(f"{limited.url}/mcp", big, mcp_headers) == 413  # NEWSQA_MAX_BODY_BYTES, as on /api
    assert _post(f"{limited.url}/api/search", big, {"Content-Type": "application/json"}) == 413
    listing = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
    assert _post(f"{limited.url}/mcp", listing, mcp_headers) == 200
    # a web page's script (another origin) or a rebound DNS name cannot reach a loopback server's tools
    assert _post(f"{limited.url}/mcp", listing, {**mcp_headers, "Origin": "http://evil.example"}) == 403
    assert _post(f"{limited.url}/mcp", listing, {**mcp_headers, "Host": "evil.example"}) == 421
    status, _ = limited.get("/mcp")
    assert status == 405  # stateless: no server-initiated stream to hold open


@pytest.mark.slow
def test_mcp_help_and_no_index(tmp_path: Path) -> None:
    help_text = subprocess.run([sys.executable, "-m", "cli", "mcp", "--help"], cwd=ROOT, capture_output=True,
                               text=True, timeout=60).stdout
    words = " ".join(help_text.split())
    assert "Model Context Protocol" in help_text and "search, ask, get_article, timeline and quotes" in words
    empty = Settings.from_env({}, index_dir=tmp_path / "none")
    result = anyio.run(_call_once, stdio_params(empty), "search", {"query": QUERY})
    assert result.is_error and "newsqa ingest" in result.content[0].text  # the API's 503 message, as a tool error


async def _call_once(target: Any, name: str, arguments: dict[str, Any]) -> Any:
    from mcp import Client

    async with Client(target, read_timeout_seconds=120) as client:
        return await client.call_tool(name, arguments)


class WordsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=50)


class WordsOut(BaseModel):
    words: int


def test_a_tool_is_one_row_of_the_table() -> None:
    """How timeline or quotes join: a ToolSpec naming argument and output models and the engine call; validation,
    structured output, text content and errors come with it (in-process client, no index needed)."""
    from mcp import Client

    from api.mcp import TOOLS, ToolSpec, build_server

    def fail(engine: Any, settings: Any, args: Any) -> dict[str, Any]:
        raise RuntimeError("secret internals")

    extra = [ToolSpec("words", "Counts words.", WordsArgs, WordsOut, lambda e, s, a: {"words": len(a.text.split())}),
             ToolSpec("broken", "Always fails.", WordsArgs, WordsOut, fail)]
    server = build_server(lambda: None, Settings.from_env({}, index_dir=Path("/nonexistent")),  # type: ignore
                          tools=[*TOOLS, *extra])

    async def calls() -> tuple[Any, ...]:
        async with Client(server) as client:
            return ((await client.list_tools()).tools, await client.call_tool("words", {"text": "three little words"}),
                    await client.call_tool("words", {"text": "x" * 51}), await client.call_tool("broken", {"text": ""}))

    tools, counted, too_long, broken = anyio.run(calls)
    assert [t.name for t in tools] == ["search", "ask", "get_article", "timeline", "quotes", "words", "broken"]
    assert counted.structured_content == {"words": 3} and json.loads(counted.content[0].text) == {"words": 3}
    assert too_long.is_error and "50" in too_long.content[0].text
    assert broken.is_error and "secret" not in broken.content[0].text and "internal error" in broken.content[0].text


def test_cors_origins_may_call_mcp_from_a_browser(tmp_path: Path) -> None:
    """A page of an origin in NEWSQA_CORS_ORIGINS passes the preflight with the MCP headers; others get no CORS."""
    from fastapi.testclient import TestClient

    import server

    app = server.create_app(Settings.from_env({}, index_dir=tmp_path / "index", cors_origins="http://app.example"))
    client = TestClient(app)  # no lifespan needed: the preflight is answered by the CORS middleware
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type,mcp-protocol-version"}
    allowed = client.options("/mcp", headers={"Origin": "http://app.example", **ask})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://app.example"
    assert "mcp-protocol-version" in allowed.headers["access-control-allow-headers"].lower()
    other = client.options("/mcp", headers={"Origin": "http://evil.example", **ask})
    assert "access-control-allow-origin" not in other.headers
