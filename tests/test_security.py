"""Who may write, how much may be sent, how often one may ask, and what never leaks (in-process app, real index)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import server
from api.security import RateLimiter
from qa.settings import Settings

KEY = "s3cret-key-for-tests-0042"


@pytest.fixture(scope="module")
def guarded(demo_settings: Settings) -> Iterator[TestClient]:
    settings = dataclasses.replace(demo_settings, api_key=KEY, rate_limit=3, max_body_bytes=50_000)
    with TestClient(server.create_app(settings)) as client:
        yield client


def test_body_size_limit_is_a_clear_413(guarded: TestClient) -> None:
    big = [{"id": "big", "text": "The ferry left. " * 5_000}]  # ~80 kB > 50 kB
    response = guarded.post("/api/articles", json=big, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 413 and "NEWSQA_MAX_BODY_BYTES" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted as the body streams in
        yield b'[{"id": "big", "text": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}]'

    response = guarded.post("/api/articles", content=chunks(), headers={"Authorization": f"Bearer {KEY}",
                                                                         "Content-Type": "application/json"})
    assert response.status_code == 413


def test_question_length_limit_is_a_clear_422(guarded: TestClient) -> None:
    response = guarded.post("/api/search", json={"query": "ferry " * 1000})
    assert response.status_code == 422 and "2000" in str(response.json()["detail"])


def test_rate_limit_on_ask_answers_429_with_retry_after(guarded: TestClient) -> None:
    codes = [guarded.post("/api/ask", json={"question": "Who won the Corvenna mayoral election?"}).status_code
             for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    blocked = guarded.post("/v1/chat/completions", json={"model": "newsqa",
                                                          "messages": [{"role": "user", "content": "Who won?"}]})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert "NEWSQA_RATE_LIMIT" in blocked.json()["detail"]
    assert guarded.post("/api/search", json={"query": "ferry"}).status_code == 200  # search is not limited


def test_rate_limiter_refills_per_client() -> None:
    limiter = RateLimiter(per_minute=60)
    assert all(limiter.check("a") == 0 for _ in range(60))
    assert 0 < limiter.check("a") <= 1.0  # one token a second
    assert limiter.check("b") == 0  # another client has its own bucket
    assert RateLimiter(per_minute=0).check("a") == 0  # 0 turns the limit off


def test_writes_need_the_key_and_a_wrong_key_is_refused(guarded: TestClient, demo_settings: Settings) -> None:
    article = [{"id": "x1", "text": "The Orsk ferry sailed at dawn with forty passengers on board."}]
    assert guarded.post("/api/articles", json=article).status_code == 401
    assert guarded.post("/api/articles", json=article, headers={"Authorization": f"Bearer {KEY}x"}
                        ).status_code == 401
    assert guarded.post("/api/articles", json=article, headers={"Authorization": f"Basic {KEY}"}
                        ).status_code == 401
    with TestClient(server.create_app(demo_settings)) as open_client:  # no key configured: writes are off
        assert open_client.post("/api/articles", json=article, headers={"Authorization": f"Bearer {KEY}"}
                                ).status_code == 403
        assert open_client.delete("/api/articles/x1").status_code == 403


@pytest.mark.parametrize("path", ["/static/../server.py", "/static/..%2Fserver.py", "/static/%2e%2e%2fpyproject.toml",
                                  "/static/....//app.js", "/static/app.js%00.css", "/static/%2fetc%2fpasswd.css",
                                  "/api/articles/..%2F..%2Fetc%2Fpasswd", "/api/jobs/..%2F..%2Fetc"])
def test_no_filesystem_path_is_taken_from_a_request(guarded: TestClient, path: str) -> None:
    response = guarded.get(path)
    assert response.status_code == 404
    assert "import" not in response.text and "root:" not in response.text


def test_cors_is_off_by_default_and_follows_the_allow_list(guarded: TestClient, demo_settings: Settings) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in guarded.options("/api/ask", headers=preflight).headers
    assert "access-control-allow-origin" not in guarded.get("/api/health", headers=preflight).headers
    settings = dataclasses.replace(demo_settings, cors_origins="https://news.example, https://other.example")
    with TestClient(server.create_app(settings)) as client:
        ok = client.options("/api/ask", headers={**preflight, "Origin": "https://news.example"})
        assert ok.headers["access-control-allow-origin"] == "https://news.example"
        assert "access-control-allow-origin" not in client.options("/api/ask", headers=preflight).headers


def test_the_api_key_never_reaches_logs_or_reprs(demo_settings: Settings, caplog: pytest.LogCaptureFixture
                                                 ) -> None:
    settings = dataclasses.replace(demo_settings, api_key=KEY)
    assert KEY not in repr(settings) and KEY not in str(settings.table())
    caplog.set_level(logging.DEBUG)
    with TestClient(server.create_app(settings)) as client:
        client.post("/api/articles", json=[{"text": "x"}], headers={"Authorization": f"Bearer {KEY}"})
        client.post("/api/articles", json=[{"text": "x"}], headers={"Authorization": f"Bearer {KEY}-wrong"})
        client.get("/api/stats", headers={"Authorization": f"Bearer {KEY}"})
    assert caplog.records and KEY not in caplog.text
