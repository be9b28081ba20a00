"""End to end over HTTP against a real server process on the demo archive."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from qa.settings import Settings
from tests.conftest import on_store
from tests.service import Server

KEY = "test-key-5f1c"
AUTH = {"Authorization": f"Bearer {KEY}"}
NEW_ARTICLE = {
    "id": "test-lighthouse", "title": "Lighthouse Keeper Retires After 41 Years", "date": "2024-09-28",
    "source": "harbourtimes.example", "url": "https://harbourtimes.example/2024/09/lighthouse",
    "text": "Osric Penhallow, the last full-time keeper of the Greywater lighthouse, retired on Friday after "
            "41 years. Penhallow said he would spend his retirement restoring a fishing boat called the Wren.",
}


@pytest.fixture(scope="module")
def server(demo_settings: Settings, store: str, tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server process on a copy of the demo index; on Milvus, one answering from a `milvus-lite server`."""
    index = tmp_path_factory.mktemp("service") / "index"
    shutil.copytree(demo_settings.index_dir, index)  # this module writes to its index
    env = {}
    if store == "milvus":
        uri = request.getfixturevalue("milvus_server")
        on_store(replace(demo_settings, index_dir=index), store, uri, prefix="service")
        env = {"NEWSQA_STORE": "milvus", "NEWSQA_MILVUS_URI": uri, "NEWSQA_MILVUS_PREFIX": "service"}
    srv = Server(index, api_key=KEY, env=env)
    yield srv
    srv.stop()


@pytest.mark.slow
def test_ask_search_article(server: Server) -> None:
    status, body = server.post("/api/ask", {"question": "How much will Lumora's Halo home hub cost?"})
    assert status == 200 and "249 crowns" in body["answer"]
    citation = body["citations"][0]
    status, article = server.get(f"/api/articles/{citation['article_id']}")
    assert status == 200 and article[citation["field"]][citation["start"]:citation["end"]] == citation["quote"]
    status, found = server.post("/api/search", {"query": "Lumora Halo preorders", "k": 3, "until": "2024-03-01"})
    assert status == 200 and len(found["results"]) == 3
    assert all(r["date"] <= "2024-03-01" for r in found["results"])
    assert server.get("/api/articles/unknown-id")[0] == 404
    assert server.post("/api/ask", {"question": ""})[0] == 422


@pytest.mark.slow
def test_stream_sends_sentences_with_citations(server: Server) -> None:
    status, raw = server.post("/api/ask", {"question": "How much will Lumora's Halo home hub cost?", "stream": True})
    assert status == 200
    events = [block for block in raw.split("\n\n") if block.strip()]
    answers = [json.loads(e.split("data: ", 1)[1]) for e in events if e.startswith("event: answer")]
    done = [json.loads(e.split("data: ", 1)[1]) for e in events if e.startswith("event: done")]
    assert answers and all(a["citations"] for a in answers) and len(done) == 1
    assert "".join(a["delta"] for a in answers).strip() == done[0]["answer"]


@pytest.mark.slow
def test_api_key_guards_writes(server: Server) -> None:
    assert server.post("/api/articles", [NEW_ARTICLE])[0] == 401
    assert server.post("/api/articles", [NEW_ARTICLE], headers={"Authorization": "Bearer wrong"})[0] == 401
    assert server.request("DELETE", "/api/articles/x")[0] == 401
    assert server.post("/api/index/rebuild", {})[0] == 401


@pytest.mark.slow
def test_add_ask_delete(server: Server) -> None:
    status, report = server.post("/api/articles", [NEW_ARTICLE, {"title": "no text"}], headers=AUTH)
    assert status == 200 and report["new"] == 1 and report["skipped"][0]["where"] == "request[1]"
    status, body = server.post("/api/ask", {"question": "What boat will Osric Penhallow restore?"})
    assert status == 200 and "Wren" in body["answer"]
    assert body["citations"][0]["article_id"] == "test-lighthouse"
    status, _ = server.request("DELETE", "/api/articles/test-lighthouse", headers=AUTH)
    assert status == 200
    assert server.get("/api/articles/test-lighthouse")[0] == 404
    status, body = server.post("/api/ask", {"question": "What boat will Osric Penhallow restore?"})
    assert all(c["article_id"] != "test-lighthouse" for c in body["citations"])
    assert server.request("DELETE", "/api/articles/test-lighthouse", headers=AUTH)[0] == 404


@pytest.mark.slow
def test_rebuild_while_queries_run(server: Server) -> None:
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def query_loop() -> None:
        nonlocal answered
        while not stop.is_set():
            status, body = server.post("/api/ask", {"question": "How much will Lumora's Halo home hub cost?"})
            if status != 200 or "249 crowns" not in body.get("answer", ""):
                failures.append(f"{status}: {str(body)[:200]}")
            answered += 1

    threads = [threading.Thread(target=query_loop) for _ in range(2)]
    for t in threads:
        t.start()
    status, job = server.post("/api/index/rebuild", {}, headers=AUTH)
    assert status == 202 and job["state"] in ("queued", "running")
    deadline = time.time() + 600
    while job["state"] not in ("done", "failed") and time.time() < deadline:
        time.sleep(0.5)
        job = server.get(f"/api/jobs/{job['id']}")[1]
    stop.set()
    for t in threads:
        t.join()
    assert job["state"] == "done", job.get("error")
    assert failures == [] and answered > 0
    assert server.get("/api/health")[1]["generation"] == job["result"]["generation"]


@pytest.mark.slow
def test_openai_client(server: Server) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=server.url + "/v1", api_key="unused")
    assert [m.id for m in client.models.list().data] == ["newsqa"]
    reply = client.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": "How much will Lumora's Halo home hub cost?"}])
    content = reply.choices[0].message.content or ""
    assert "249 crowns" in content and "Sources:" in content and "[1]" in content
    citations = reply.model_extra["citations"]
    assert citations and citations[0]["quote"] in content

    stream = client.chat.completions.create(
        model="newsqa", stream=True,
        messages=[{"role": "user", "content": "How much will Lumora's Halo home hub cost?"}])
    pieces, streamed_citations = [], []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        streamed_citations += (chunk.model_extra or {}).get("citations") or []
    assert "".join(pieces) == content and streamed_citations == citations


@pytest.mark.slow
def test_follow_up_uses_the_actor_of_the_previous_turn(server: Server) -> None:
    followups = [json.loads(line) for line in
                 (Path(__file__).parent / "data" / "followups.jsonl").read_text().splitlines() if line]
    right = 0
    for convo in followups:
        first, second = convo["turns"]
        actor = first.removeprefix("Who is ").rstrip("?")
        _, one = server.post("/api/ask", {"question": first})
        history = [{"role": "user", "content": first}, {"role": "assistant", "content": one["answer"]}]
        _, two = server.post("/api/ask", {"question": second, "history": history})
        assert actor in two["resolved_question"], two["resolved_question"]  # the pronoun now names the actor
        surname = actor.split()[-1]
        for citation in two["citations"]:  # and the answer comes from articles about that actor
            assert surname in server.get(f"/api/articles/{citation['article_id']}")[1]["text"]
        right += convo["expected"] in two["answer"] and any(c["title"] == convo["title"] for c in two["citations"])
    assert right >= len(followups) // 2, right  # 4 of 6 when written; the rest is answer extraction, not follow-ups
