"""The chat page in real headless Chromium (Debian's chromium, driven by Playwright) against a real server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.settings import Settings
from tests.service import Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.slow]
HOSTILE = {
    "id": "hostile", "title": "<script>window.__pwned = 1</script> Harbour Gala Raises Funds",
    "date": "2024-09-29", "source": "harbourtimes.example",
    "text": "The Harbour Gala raised 90,000 crowns for the Tallow Islands lifeboat crew on Saturday. "
            "<img src=x onerror=\"window.__pwned = 2\"> Organisers said the lifeboat Marigold would get a new engine.",
}


@pytest.fixture(scope="module")
def server(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    index = tmp_path_factory.mktemp("browser") / "index"
    shutil.copytree(demo_settings.index_dir, index)
    srv = Server(index, api_key="browser-key")
    status, _ = srv.post("/api/articles", [HOSTILE], headers={"Authorization": "Bearer browser-key"})
    assert status == 200
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: `apt-get install -y chromium` (bin/test does it in CI)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        yield instance
        instance.close()


def test_ask_click_citation_and_see_it_highlighted(server: Server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, expected = server.post("/api/ask", {"question": "How much will Lumora's Halo home hub cost?"})
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server.url + "/")
    page.fill("#question", "How much will Lumora's Halo home hub cost?")
    page.press("#question", "Enter")  # Enter sends
    answer = page.locator("li.msg.assistant").last
    answer.locator("button.cite").first.wait_for(timeout=60_000)
    assert "249 crowns" in answer.inner_text()
    answer.locator("button.cite").first.click()
    mark = page.locator("#article-text mark")
    mark.wait_for(timeout=30_000)
    assert mark.inner_text() == expected["citations"][0]["quote"]  # [1]'s sentence, highlighted
    assert page.locator("#article-title").inner_text() == expected["citations"][0]["title"]
    assert page.locator("#article").is_visible()
    assert mark.evaluate("m => { const r = m.getBoundingClientRect(); const p = m.closest('aside')"
                         ".getBoundingClientRect(); return r.top >= p.top && r.bottom <= p.bottom; }")
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert (tmp_path / "chat.png").stat().st_size > 10_000
    assert all(url.startswith(server.url) for url in requests), requests  # no CDN, no outside requests

    page.fill("#question", "first line")
    page.press("#question", "Shift+Enter")
    page.type("#question", "second line")
    assert page.input_value("#question") == "first line\nsecond line"  # Shift+Enter: a new line, not sent


def test_timeline_question_renders_a_timeline(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    _, expected = server.post("/api/ask", {"question": "timeline of the port strike"})
    events = expected["timeline"]["events"]
    assert len(events) >= 4
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#question", "timeline of the port strike")
    page.press("#question", "Enter")
    answer = page.locator("li.msg.assistant").last
    rows = answer.locator("ol.timeline > li.timeline-event")
    rows.first.wait_for(timeout=60_000)
    assert rows.count() == len(events)
    # dates down the side, in date order, each beside its own quote
    dates = [rows.nth(i).locator("time.timeline-date").inner_text() for i in range(rows.count())]
    assert dates == [e["date"] for e in events] == sorted(dates)
    assert rows.nth(0).locator(".timeline-quote").inner_text().startswith(events[0]["quote"])
    left = [rows.nth(i).locator("time").bounding_box()["x"] for i in range(rows.count())]  # type: ignore[index]
    quote_x = rows.nth(0).locator(".timeline-quote").bounding_box()["x"]  # type: ignore[index]
    assert len(set(left)) == 1 and quote_x > left[0]
    assert expected["coverage"]["text"] in answer.inner_text()
    # the last line's [n] opens its article with that sentence marked
    rows.nth(rows.count() - 1).locator("button.cite").click()
    mark = page.locator("#article-text mark")
    mark.wait_for(timeout=30_000)
    assert mark.inner_text() == events[-1]["quote"]
    assert page.locator("#article-title").inner_text() == events[-1]["title"]


def test_no_answer_state(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#question", "Who won the chess tournament held in Brindlemouth this spring?")
    page.click("#send")
    page.locator(".msg.no-answer").wait_for(timeout=60_000)
    assert "No answer in the archive" in page.locator(".msg.no-answer").inner_text()


def _ask(server: Server, browser, question: str, ready: str):  # type: ignore[no-untyped-def]
    """A new chat page with question asked; the page and the answer once its ready selector shows."""
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#question", question)
    page.press("#question", "Enter")
    answer = page.locator("li.msg.assistant").last
    answer.locator(ready).first.wait_for(timeout=60_000)
    return page, answer


def test_a_quoted_headline_is_marked_in_the_articles_title(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    question = "What did the dock union reject?"
    _, expected = server.post("/api/ask", {"question": question})
    headline = next(c for c in expected["citations"] if c["field"] == "title")
    page, answer = _ask(server, browser, question, "button.cite")
    answer.locator("button.cite").nth(expected["citations"].index(headline)).click()
    page.locator("#article-title mark").wait_for(timeout=30_000)
    assert page.locator("#article-title mark").inner_text() == headline["quote"]
    assert page.locator("#article-title").inner_text() == headline["title"]
    assert page.locator("#article-text mark").count() == 0  # the body has nothing marked
    sentence = next(c for c in expected["citations"] if c["field"] == "text")
    answer.locator("button.cite").nth(expected["citations"].index(sentence)).click()  # then a sentence
    page.locator("#article-text mark").wait_for(timeout=30_000)
    assert page.locator("#article-text mark").inner_text() == sentence["quote"]
    assert page.locator("#article-title mark").count() == 0


def test_untrusted_article_text_renders_as_text(server: Server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#question", "What will the lifeboat Marigold get after the Harbour Gala?")
    page.press("#question", "Enter")
    answer = page.locator("li.msg.assistant").last
    answer.locator("button.cite").first.wait_for(timeout=60_000)
    answer.locator("button.cite").first.click()
    page.locator("#article mark").first.wait_for(timeout=30_000)  # in the text, or in the title for a headline
    assert "<script>" in page.locator("#article-title").inner_text()
    assert "onerror" in page.locator("#article-text").inner_text()
    assert page.locator("#article img").count() == 0 and page.locator("#article script").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(tmp_path / "hostile.png"))


def _loopback_only(page, origin: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Aborts every request that leaves the test server (as a machine without a network would); returns them."""
    blocked: list[str] = []

    def route(r) -> None:  # type: ignore[no-untyped-def]
        if r.request.url.startswith(origin + "/"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return blocked


def test_api_docs_render_without_a_network(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    blocked = _loopback_only(page, server.url)
    page.goto(server.url + "/docs")
    page.get_by_text("/api/ask", exact=True).wait_for(timeout=30_000)  # Swagger UI drew the endpoint list
    for path in ("/api/search", "/api/articles/{article_id}", "/v1/chat/completions"):
        assert page.get_by_text(path, exact=True).first.is_visible(), path
    page.goto(server.url + "/redoc")
    page.get_by_text("Answer a question with citations").first.wait_for(timeout=30_000)  # ReDoc drew it too
    assert blocked == []


def test_page_loads_without_console_errors_or_missing_files(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(server.url + "/", wait_until="networkidle")
    assert errors == [] and failed == []
    # headless Chromium fetches no tab icon, so the page's icon link is loaded as an image by hand
    width = page.evaluate("""() => new Promise(done => { const img = new Image();
        img.onload = () => done(img.naturalWidth); img.onerror = () => done(0);
        img.src = document.querySelector("link[rel=icon]").href; })""")
    assert width > 0


def test_first_screen_shows_the_archive_and_examples_and_filters_show_when_active(  # type: ignore[no-untyped-def]
        server: Server, browser) -> None:
    _, overview = server.get("/api/overview")
    page = browser.new_page()
    asked: list[dict] = []  # type: ignore[type-arg]
    page.on("request", lambda r: asked.append(json.loads(r.post_data or "{}")) if r.url.endswith("/api/ask") else None)
    page.goto(server.url + "/")
    summary = page.locator("#archive-summary")
    page.wait_for_function("document.querySelectorAll('#examples button.example').length === 3", timeout=30_000)
    for fact in (f"{overview['articles']} articles", f"{overview['sources']} sources", overview["first_date"],
                 overview["last_date"], "last updated", *overview["top_sources"]):
        assert fact in summary.inner_text(), fact
    assert page.locator("#examples button.example").all_inner_texts() == overview["examples"]

    page.click("#filters summary")
    page.fill("#as_of", "2024-06-30")
    page.fill("#actor", "Lumora Systems")
    page.click("#filters summary")  # closed again: the summary still says which filters are on
    assert page.locator("#filters-active").inner_text() == "(as of 2024-06-30, actor Lumora Systems)"
    page.locator("#examples button.example").nth(2).click()  # an example is asked as it stands
    page.locator("li.msg.assistant:not(.pending)").wait_for(timeout=60_000)
    assert asked[-1]["question"] == overview["examples"][2]
    assert asked[-1]["as_of"] == "2024-06-30" and asked[-1]["actor"] == "Lumora Systems"
    assert "Filters: as of 2024-06-30, actor Lumora Systems" in page.locator("li.msg.user").last.inner_text()
    assert page.locator("#welcome").is_hidden()
    page.click("#filters summary")
    page.click("#clear-filters")
    assert page.locator("#filters-active").inner_text() == "" and page.input_value("#actor") == ""
    page.click("#new-chat")
    assert page.locator("#welcome").is_visible()


def test_sources_list_one_link_per_article_that_opens_it(server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    question = "What did the dock union reject?"
    _, expected = server.post("/api/ask", {"question": question})
    first_of: dict[str, dict] = {}  # type: ignore[type-arg]
    for citation in expected["citations"]:
        first_of.setdefault(citation["article_id"], citation)
    page, answer = _ask(server, browser, question, "ul.sources a.source-link")
    links = answer.locator("ul.sources a.source-link")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        f"/api/articles/{article_id}" for article_id in first_of]  # one per article, in citation order
    last = list(first_of.values())[-1]
    links.last.click()
    page.locator("#article mark").first.wait_for(timeout=30_000)
    assert page.locator("#article mark").first.inner_text() == last["quote"]  # opened at its first citation
