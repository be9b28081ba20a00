"""The HTTP API: in-process with TestClient, and a real uvicorn server over a loopback socket."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import server
from qa.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client(store_settings: Settings):  # type: ignore[no-untyped-def]
    """The app on the demo index, on each engine (conftest.store)."""
    with TestClient(server.create_app(store_settings)) as test_client:
        yield test_client


def test_ask_and_search(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "How much will Lumora's Halo home hub cost?", "k": 5})
    assert response.status_code == 200
    body = response.json()
    assert "249 crowns" in body["answer"] and body["citations"][0]["quote"] in body["answer"]
    article = client.get(f"/api/articles/{body['citations'][0]['article_id']}").json()
    c = body["citations"][0]
    assert article[c["field"]][c["start"]:c["end"]] == c["quote"]

    response = client.post("/api/search", json={"query": "port strike Saltmere", "k": 3})
    assert response.status_code == 200 and len(response.json()["results"]) == 3


def test_errors_are_json_with_detail(client: TestClient) -> None:
    assert client.get("/api/articles/nope").json() == {"detail": "no article with id 'nope'"}
    assert client.get("/api/articles/nope").status_code == 404
    response = client.post("/api/ask", json={"question": "", "k": 5})
    assert response.status_code == 422 and "detail" in response.json()
    assert client.post("/api/ask", json={"question": "x" * 2001}).status_code == 422
    assert client.post("/api/search", json={"query": "x", "k": 0}).status_code == 422
    assert client.get("/openapi.json").json()["paths"]["/api/ask"]


def test_writes_are_disabled_without_a_configured_key(client: TestClient) -> None:
    response = client.post("/api/articles", json=[{"text": "A sentence."}], headers={"Authorization": "Bearer x"})
    assert response.status_code == 403 and "NEWSQA_API_KEY" in response.json()["detail"]
    assert client.delete("/api/articles/anything").status_code == 403
    assert client.post("/api/index/rebuild").status_code == 403


def test_missing_index_gives_503_with_how_to_fix(tmp_path: Path) -> None:
    settings = Settings.from_env({}, index_dir=tmp_path / "none")
    with TestClient(server.create_app(settings)) as test_client:
        response = test_client.post("/api/ask", json={"question": "anything?"})
        assert response.status_code == 503 and "newsqa ingest" in response.json()["detail"]
        assert test_client.get("/api/health").json()["status"] == "no-index"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_real_server_answers_over_http(demo_settings: Settings) -> None:
    port = _free_port()
    env = {**os.environ, "NEWSQA_INDEX": str(demo_settings.index_dir), "NEWSQA_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "-q"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    if json.load(r)["status"] == "ok":
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert proc.poll() is None and time.time() < deadline, "server did not start"
            time.sleep(0.3)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/ask", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"question": "How much will Lumora's Halo home hub cost?"}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
        assert "249 crowns" in body["answer"] and body["citations"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_openapi_lists_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    listed = {(path, method.upper()) for path, ops in paths.items() for method in ops}
    assert listed == {("/api/ask", "POST"), ("/api/search", "POST"), ("/api/articles/{article_id}", "GET"),
                      ("/api/stats", "GET"), ("/api/overview", "GET"), ("/api/health", "GET"),
                      ("/api/articles", "POST"), ("/api/articles/{article_id}", "DELETE"),
                      ("/api/index/rebuild", "POST"), ("/api/jobs/{job_id}", "GET"),
                      ("/api/feeds", "GET"), ("/api/feeds", "POST"), ("/api/feeds/{feed_id}", "GET"),
                      ("/api/feeds/{feed_id}", "DELETE"), ("/v1/models", "GET"), ("/v1/chat/completions", "POST"),
                      ("/api/actors", "GET"), ("/api/actors/{actor_id}", "GET"), ("/api/quotes", "GET"),
                      ("/api/stories", "GET"), ("/api/stories/{story_id}", "GET"), ("/api/timeline", "POST")}
    assert paths["/api/ask"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AskRequest")
    assert "429" in paths["/v1/chat/completions"]["post"]["responses"]
    assert "401" in paths["/api/index/rebuild"]["post"]["responses"]


def test_api_docs_pages_load_their_scripts_from_the_app(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets and all(a.startswith("/") for a in assets), (page, assets)  # nothing from a CDN
        for asset in assets:
            response = client.get(asset)
            assert response.status_code == 200 and len(response.content) > 100, asset
    assert "img-src 'self'" in client.get("/redoc").headers["content-security-policy"]


def test_favicon_is_served_and_linked(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg")
    assert '<link rel="icon" href="/favicon.ico"' in client.get("/").text
    assert 'href="/favicon.ico"' in client.get("/docs").text and 'href="/favicon.ico"' in client.get("/redoc").text


def test_ask_reads_newsqa_top_k_passages_unless_the_request_says_k(store_settings: Settings,
                                                                    client: TestClient) -> None:
    question = {"question": "Who won the chess tournament held in Brindlemouth this spring?"}
    top_1 = replace(store_settings, top_k=1)  # NEWSQA_TOP_K=1
    with TestClient(server.create_app(top_1)) as one:
        by_setting = one.post("/api/ask", json=question).json()
        by_request = one.post("/api/ask", json={**question, "k": 5}).json()
    read_one = client.post("/api/ask", json={**question, "k": 1}).json()  # the default app: NEWSQA_TOP_K unset
    read_five = client.post("/api/ask", json=question).json()

    def sources(body: dict) -> tuple[list, list]:  # type: ignore[type-arg]
        return body["citations"], body["nearest"]

    assert sources(by_setting) == sources(read_one) and sources(by_request) == sources(read_five)
    # one passage read: whatever the answer, it cites (or, abstaining, points to) a single article
    assert len({c["article_id"] for c in by_setting["citations"]} |
               {a["article_id"] for a in by_setting["nearest"]}) == 1


def test_an_over_long_question_is_a_422_on_both_ask_endpoints(client: TestClient) -> None:
    question = "Who won the Corvenna mayoral election? " + "x" * 2000
    ask = client.post("/api/ask", json={"question": question})
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "y" * 5000},
               {"role": "assistant", "content": "z"}]  # earlier turns may be longer: only the question is capped
    chat = client.post("/v1/chat/completions", json={"model": "newsqa",
                                                     "messages": [*history, {"role": "user", "content": question}]})
    assert ask.status_code == chat.status_code == 422
    [error] = chat.json()["detail"]
    assert error["loc"] == ["body", "messages", 3, "content"] and error["type"] == "string_too_long"
    assert "2000" in error["msg"] and error["ctx"] == ask.json()["detail"][0]["ctx"] == {"max_length": 2000}
    at_limit = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 2000}]})
    assert at_limit.status_code == 200 and at_limit.json()["object"] == "chat.completion"


def test_overview_tells_what_the_archive_holds_and_asks_about_its_actors(client: TestClient) -> None:
    overview = client.get("/api/overview").json()
    stats = client.get("/api/stats").json()
    assert overview["articles"] == stats["articles"] and overview["first_date"] == stats["first_date"]
    assert overview["last_date"] == stats["last_date"] and overview["last_update"] == stats["last_run"]["finished_at"]
    assert overview["sources"] == len(set(stats["sources"]) - {"(unknown)"}) and len(overview["top_sources"]) == 3
    assert len(overview["examples"]) == 3 and len(set(overview["examples"])) == 3
    assert overview == client.get("/api/overview").json()  # deterministic
    for question in overview["examples"]:  # each names an actor that the archive's articles name
        actor = question.removeprefix("What did ").removeprefix("What happened with ").removeprefix(
            "What happened in ").removesuffix(" say?").removesuffix("?")
        assert actor != question and client.post("/api/search", json={"query": actor, "actor": actor, "k": 1}
                                                  ).json()["results"], question
