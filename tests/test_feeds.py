"""Feeds end to end against a real HTTP server on loopback (tests/feedsite.py): RSS 2.0 and Atom, article pages,
conditional requests, changed items, and a feed for each fault; real SQLite, FAISS and BM25 (a fake embedder keeps
the plumbing fast; one test runs the real model)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cli.main import main
from index import feeds, store
from index.reader import IndexReader
from qa.feeds import poll
from qa.settings import Settings
from tests.conftest import FakeEmbedder
from tests.feedsite import Route, Site, atom, rss

ROOT = Path(__file__).resolve().parents[1]


def _paragraphs(topic: str, n: int = 3) -> list[str]:
    return [f"{topic} Paragraph {j}: the harbour board of Saltmere met on Monday and heard from dock workers, "
            f"ferry captains and the mayor about the plans for the northern pier and its new cranes." for j in range(n)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"NEWSQA_ENTITIES": "0", "NEWSQA_FEED_TIMEOUT": "2", "NEWSQA_FEED_MAX_BYTES": "1000000"},
                             index_dir=tmp_path / "index", model=FakeEmbedder.name)


@pytest.fixture
def site() -> Site:
    with Site() as s:
        yield s


def _add(settings: Settings, url: str, source: str | None = None) -> int:
    conn = store.connect(_mkdir(settings.index_dir))
    try:
        return int(feeds.add_feed(conn, url, 900, source)["id"])
    finally:
        conn.close()


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _feed(settings: Settings, feed_id: int) -> dict:  # type: ignore[type-arg]
    conn = store.connect(settings.index_dir, readonly=True)
    try:
        found = feeds.get_feed(conn, feed_id)
        assert found is not None
        return found
    finally:
        conn.close()


def _article_ids(settings: Settings) -> set[str]:
    reader = IndexReader(settings.index_dir)
    assert reader.manifest.articles == len(store.article_hashes(reader.conn))
    return set(store.article_hashes(reader.conn))


def _rss_site(site: Site, n: int, prefix: str = "r") -> list[dict[str, str]]:
    items = []
    for i in range(n):
        url = site.page(f"/news/{prefix}{i}.html", f"Saltmere harbour story number {i} of the week",
                        _paragraphs(f"Story {prefix}{i} about crane {i * 7 + 3}."))
        items.append({"guid": f"urn:{prefix}:{i}", "link": url, "title": f"Harbour story {i}",
                      "description": f"Summary of story {i}.", "date": "Tue, 01 Dec 2026 08:00:00 GMT"})
    return items


def test_rss_and_atom_items_become_articles_unchanged_feeds_cost_one_304(settings: Settings, site: Site,
                                                                          fake_embedder: FakeEmbedder) -> None:
    items = _rss_site(site, 3)
    site.routes["/rss.xml"] = Route(rss("Harbour Gazette", items), content_type="application/rss+xml",
                                    conditional=True)
    page = site.page("/atom/1.html", "Ferry captains strike over the new timetable in Saltmere",
                     _paragraphs("The ferry captains of Saltmere walked out at dawn."))
    site.routes["/atom.xml"] = Route(atom("Ferry News", [{"id": "tag:ferry,2026:1", "link": page,
                                                          "title": "Captains strike", "summary": "They walked out."}]),
                                     content_type="application/atom+xml", conditional=True)
    rss_id, atom_id = _add(settings, site.url + "/rss.xml", "gazette.example"), _add(settings, site.url + "/atom.xml")

    report = poll(settings, get_embedder=lambda: fake_embedder)
    assert report.to_dict()["new"] == 4 and report.to_dict()["errors"] == 0, report.to_dict()
    assert len(_article_ids(settings)) == 4
    reader = IndexReader(settings.index_dir)
    article = store.get_article(reader.conn, next(a for a in _article_ids(settings)
                                                  if store.get_article(reader.conn, a)["url"] == page))
    assert article["title"] == "Ferry captains strike over the new timetable in Saltmere"
    assert "walked out at dawn" in article["text"] and "Copyright" not in article["text"]
    assert article["date"] == "2026-12-01" and article["source"] == "Harbour Gazette"  # from the page
    gazette = [store.get_article(reader.conn, a) for a in _article_ids(settings)]
    assert sum(a["source"] == "gazette.example" for a in gazette) == 3  # the feed's --source wins
    state = _feed(settings, rss_id)
    assert state["items_seen"] == 3 and state["etag"] and state["last_success"] and state["last_error"] is None

    # unchanged: one conditional request each, answered 304, nothing fetched or ingested
    hits = sum(site.hits.values())
    texts = fake_embedder.texts
    generation = IndexReader(settings.index_dir).manifest.generation
    report = poll(settings, get_embedder=lambda: fake_embedder)
    assert [f.status for f in report.feeds] == ["not_modified", "not_modified"]
    assert sum(site.hits.values()) - hits == 2 and site.not_modified["/rss.xml"] == 1
    assert fake_embedder.texts == texts and IndexReader(settings.index_dir).manifest.generation == generation

    # the feed changes: one new item, one changed item (same GUID, new content); the others cost nothing
    more = _rss_site(site, 4)
    more[1]["description"] = "Corrected summary of story 1."
    site.page("/news/r1.html", "Saltmere harbour story number 1 of the week",
              _paragraphs("Story r1 now says the crane count was corrected to 12."))
    site.routes["/rss.xml"] = Route(rss("Harbour Gazette", more), content_type="application/rss+xml",
                                    conditional=True)
    page_hits = site.hits["/news/r0.html"]
    report = poll(settings, [rss_id], get_embedder=lambda: fake_embedder)
    result = report.feeds[0]
    assert (len(result.new), len(result.updated), result.unchanged) == (1, 1, 2), result.to_dict()
    assert site.hits["/news/r0.html"] == page_hits  # an unchanged item's page is not fetched again
    assert len(_article_ids(settings)) == 5
    corrected = [a for a in (store.get_article(IndexReader(settings.index_dir).conn, i) for i in
                             _article_ids(settings)) if "corrected to 12" in a["text"]]
    assert len(corrected) == 1
    assert _feed(settings, atom_id)["items_seen"] == 1


def test_new_items_are_answerable_with_citations(settings: Settings, site: Site, fake_embedder: FakeEmbedder
                                                 ) -> None:
    from qa.engine import Engine
    from qa.search import Query

    url = site.page("/news/lighthouse.html", "Keeper of the Tallow lighthouse retires after forty years",
                    ["Maren Oduya, keeper of the Tallow lighthouse, retired on Friday after forty years of service.",
                     "The lighthouse will be run automatically from January, the coastal authority said.",
                     "Oduya said she would miss the storms most of all, and the ferry crews who waved each morning."])
    site.routes["/rss.xml"] = Route(rss("Coast", [{"guid": "lh-1", "link": url, "title": "Keeper retires"}]),
                                    content_type="application/rss+xml")
    _add(settings, site.url + "/rss.xml")
    assert poll(settings, get_embedder=lambda: fake_embedder).to_dict()["new"] == 1
    engine = Engine.open(settings, get_embedder=lambda: fake_embedder)
    answer = engine.answerer.answer(Query("Who was the keeper of the Tallow lighthouse?", k=3))
    assert answer.citations and answer.citations[0].url == url
    assert "Maren Oduya" in answer.answer


def test_each_fault_is_recorded_on_its_feed_and_the_others_go_on(settings: Settings, site: Site,
                                                                 fake_embedder: FakeEmbedder) -> None:
    site.routes["/good.xml"] = Route(rss("Good", _rss_site(site, 2, "g")), content_type="application/rss+xml")
    site.routes["/slow.xml"] = Route(rss("Slow", []), delay=4)  # NEWSQA_FEED_TIMEOUT is 2 s here
    site.routes["/gone.xml"] = Route(b"gone", 404, "text/plain")
    site.routes["/broken.xml"] = Route(b"oops", 500, "text/plain")
    site.routes["/loop-a"] = Route(status=302, headers={"Location": "/loop-b"})
    site.routes["/loop-b"] = Route(status=302, headers={"Location": "/loop-a"})
    site.routes["/malformed.xml"] = Route(b"<?xml version='1.0'?><rss version='2.0'><channel><item><title>Half",
                                          content_type="application/rss+xml")
    site.routes["/downgrade.xml"] = Route(status=301, headers={"Location": site.url.replace("http:", "ftp:") + "/x"})
    big = 50 * 1024 * 1024
    site.routes["/huge.html"] = Route(stream=lambda: (b"<p>" + b"x" * (1024 * 1024 - 3) for _ in range(big // 2**20)))
    site.routes["/report.pdf"] = Route(b"%PDF-1.4 ...", content_type="application/pdf")
    odd = [{"guid": "odd-huge", "link": site.url + "/huge.html", "title": "Huge page story",
            "description": "The dredging of the northern channel will start in March, the port said."},
           {"guid": "odd-pdf", "link": site.url + "/report.pdf", "title": "Annual port report",
            "description": "The port handled a record 4.2 million tonnes of cargo last year."},
           {"guid": "odd-nolink", "title": "Pier closed",
            "description": "The old pier is closed to walkers until the storm damage is repaired."}]
    site.routes["/odd.xml"] = Route(rss("Odd", odd), content_type="application/rss+xml")
    names = ["good.xml", "slow.xml", "gone.xml", "broken.xml", "loop-a", "malformed.xml", "downgrade.xml", "odd.xml"]
    ids = {name: _add(settings, f"{site.url}/{name}") for name in names}

    started = time.monotonic()
    report = {f.url.rsplit("/", 1)[1]: f for f in poll(settings, get_embedder=lambda: fake_embedder).feeds}
    assert time.monotonic() - started < 60
    assert (report["good.xml"].status, len(report["good.xml"].new)) == ("ok", 2)
    expected = {"slow.xml": "timed out", "gone.xml": "HTTP 404", "broken.xml": "HTTP 500",
                "loop-a": "redirect loop", "malformed.xml": "malformed XML", "downgrade.xml": "another scheme"}
    for name, reason in expected.items():
        state = _feed(settings, ids[name])
        assert report[name].status == "error" and reason in (report[name].error or ""), (name, report[name])
        assert reason in state["last_error"] and state["last_error_at"] and state["failures"] == 1, state
        assert state["next_poll"] > state["last_error_at"] and state["last_success"] is None
    # the odd items are ingested from the feed's own text, each with a note saying why
    odd_report = report["odd.xml"]
    assert odd_report.status == "ok" and len(odd_report.new) == 3, odd_report.to_dict()
    notes = " ".join(odd_report.notes)
    assert "over the limit" in notes and "application/pdf, not HTML" in notes and "no link" in notes
    assert "feed's own text was ingested" in notes
    odd_state = _feed(settings, ids["odd.xml"])
    assert odd_state["last_success"] and "application/pdf" in odd_state["last_error"]
    texts = " ".join(a["text"] for a in (store.get_article(IndexReader(settings.index_dir).conn, i)
                                         for i in _article_ids(settings)))
    assert "dredging of the northern channel" in texts and "4.2 million tonnes" in texts and "old pier" in texts

    # retried later with a backoff that grows, capped
    assert feeds.backoff(900, 1) == 1800 and feeds.backoff(900, 30) == feeds.MAX_BACKOFF
    conn = store.connect(settings.index_dir)
    assert set(feeds.due_feeds(conn)) == set()  # nothing is due right after a poll
    conn.close()
    poll(settings, [ids["gone.xml"]], get_embedder=lambda: fake_embedder)
    assert _feed(settings, ids["gone.xml"])["failures"] == 2
    site.routes["/gone.xml"] = Route(rss("Back", []), content_type="application/rss+xml")
    poll(settings, [ids["gone.xml"]], get_embedder=lambda: fake_embedder)
    back = _feed(settings, ids["gone.xml"])
    assert back["failures"] == 0 and back["last_success"] and "HTTP 404" in back["last_error"]  # history kept


@pytest.mark.slow
def test_cli_feeds_add_list_poll_remove_and_stats(tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
                                                  ) -> None:
    """The real command with the real model: an added feed's items become answerable with citations."""
    url = site.page("/news/lighthouse.html", "Keeper of the Tallow lighthouse retires after forty years",
                    ["Maren Oduya, keeper of the Tallow lighthouse, retired on Friday after forty years of service.",
                     "The lighthouse will be run automatically from January, the coastal authority said.",
                     "Oduya said she would miss the storms most of all, and the ferry crews who waved each morning."])
    site.routes["/rss.xml"] = Route(rss("Coast", [{"guid": "lh-1", "link": url, "title": "Keeper retires"}]),
                                    content_type="application/rss+xml", conditional=True)
    index = ["--index", str(tmp_path / "index"), "-q"]
    assert main(["feeds", "add", site.url + "/rss.xml", "--every", "30m", "--source", "coast.example", *index]) == 0
    assert "feed 1:" in capsys.readouterr().out
    assert main(["feeds", "add", site.url + "/rss.xml", *index]) == 2  # already subscribed
    assert main(["feeds", "add", "ftp://example.org/feed", *index]) == 2
    assert "only absolute http and https" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["feeds", "add", site.url + "/x.xml", "--every", "5s", *index])  # too often
    capsys.readouterr()

    assert main(["feeds", "poll", "--json", *index]) == 0
    polled = json.loads(capsys.readouterr().out)
    assert (polled["new"], polled["errors"]) == (1, 0)
    assert main(["ask", "Who was the keeper of the Tallow lighthouse?", "--json", *index]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "Maren Oduya" in answer["answer"] and answer["citations"][0]["url"] == url
    assert answer["citations"][0]["source"] == "coast.example"
    assert main(["feeds", "poll", "1", *index]) == 0
    assert "not modified" in capsys.readouterr().out

    assert main(["feeds", "list", "--json", *index]) == 0
    (feed,) = json.loads(capsys.readouterr().out)
    assert set(feed) >= {"id", "url", "source", "every_seconds", "etag", "last_modified", "last_success", "last_error",
                         "last_error_at", "next_poll", "failures", "items_seen"}
    assert (feed["every_seconds"], feed["items_seen"], feed["source"]) == (1800, 1, "coast.example")
    assert main(["feeds", "list", *index]) == 0
    assert "every 30m" in capsys.readouterr().out
    assert main(["stats", *index]) == 0
    assert "1 items seen" in capsys.readouterr().out
    assert main(["stats", "--json", *index]) == 0
    assert json.loads(capsys.readouterr().out)["feeds"][0]["url"] == site.url + "/rss.xml"
    assert main(["feeds", "poll", "7", *index]) == 1
    assert main(["feeds", "remove", "1", *index]) == 0
    assert main(["feeds", "remove", "1", *index]) == 1
    capsys.readouterr()
    assert main(["feeds", "list", "--json", *index]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_watched_file_written_in_two_halves_is_ingested_once_whole(settings: Settings, tmp_path: Path,
                                                                     fake_embedder: FakeEmbedder) -> None:
    from qa.watch import Watcher

    folder = tmp_path / "drop"
    folder.mkdir()
    watcher = Watcher(settings, [folder], remove_deleted=True, get_embedder=lambda: fake_embedder, settle=1.0)
    lines: list[str] = []
    thread = threading.Thread(target=watcher.run, args=(lines.append,), daemon=True)
    thread.start()
    try:
        assert watcher.ready.wait(60)
        path = folder / "ferry-strike.txt"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("Ferry crews strike in Saltmere\nThe ferry crews of Saltmere stopped work on Monday morning. ")
            handle.flush()
            time.sleep(0.6)  # less than the settle time: the half file must not be ingested
            handle.write("Their union said the strike would last until the harbour board meets on Friday.\n")
        deadline = time.monotonic() + 30
        while not any("ferry-strike.txt" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # would a second ingest follow?
        ingests = [line for line in lines if "ferry-strike.txt" in line]
        assert len(ingests) == 1 and "1 new" in ingests[0], lines
        conn = store.connect(settings.index_dir, readonly=True)
        (text,) = [r[0] for r in conn.execute("SELECT text FROM articles")]
        assert "stopped work on Monday" in text and "meets on Friday" in text
        conn.close()

        path.unlink()
        deadline = time.monotonic() + 30
        while not any("removed" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any("1 articles removed" in line for line in lines), lines
        assert _article_ids(settings) == set()
    finally:
        watcher.stop.set()
        thread.join(30)


def _snapshot(index_dir: Path) -> dict[str, str]:
    """The index as readers see it, checked whole: articles, chunks, vectors and BM25 agree."""
    reader = IndexReader(index_dir)  # verifies the checksums of the generation's files
    hashes = store.article_hashes(reader.conn)
    n_chunks = reader.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert reader.manifest.chunks == n_chunks == reader._vectors.ntotal == len(reader.lexical.ids)
    assert reader.manifest.articles == len(hashes)
    return hashes


def _count(index_dir: Path, sql: str) -> int:
    try:
        conn = store.connect(index_dir, readonly=True)
    except Exception:  # noqa: BLE001 - not created yet
        return 0
    try:
        return int(conn.execute(sql).fetchone()[0])
    except Exception:  # noqa: BLE001
        return 0
    finally:
        conn.close()


@pytest.mark.slow
def test_a_poll_killed_midway_loses_nothing_and_ingests_nothing_twice(tmp_path: Path, site: Site) -> None:
    items = _rss_site(site, 60, "k")
    for path, route in site.routes.items():
        if path.startswith("/news/"):
            route.delay = 0.03  # pages take a moment, so that kills land while items are fetched and stored
    site.routes["/rss.xml"] = Route(rss("Kill", items), content_type="application/rss+xml", conditional=True)
    index = tmp_path / "index"
    env = {**os.environ, "NEWSQA_INDEX": str(index), "NEWSQA_ENTITIES": "0", "NEWSQA_LOG_LEVEL": "WARNING"}
    assert main(["feeds", "add", site.url + "/rss.xml", "--index", str(index), "-q"]) == 0

    def run() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "cli", "feeds", "poll"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    kills = 0
    for wanted in (20, 40):  # killed after one batch is stored, then after the next
        proc = run()
        deadline = time.monotonic() + 300
        while _count(index, "SELECT COUNT(*) FROM articles") < wanted and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)  # somewhere inside the following batch: fetching, embedding or committing
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        kills += proc.returncode == -signal.SIGKILL
        state = _snapshot(index)
        assert len(state) >= wanted and len(state) < 60
        seen = _count(index, "SELECT COUNT(*) FROM feed_items")
        assert seen <= len(state)  # never marked seen before its article is stored
    assert kills == 2

    proc = run()
    assert proc.wait(300) == 0, proc.stderr.read().decode() if proc.stderr else ""
    state = _snapshot(index)
    assert len(state) == 60 and _count(index, "SELECT COUNT(*) FROM feed_items") == 60
    assert _count(index, "SELECT COUNT(*) FROM articles WHERE id LIKE 'feed-%'") == 60
    # every item was stored once: the runs together added each article once, and none was ever updated
    assert _count(index, "SELECT SUM(new) FROM runs") == 60 and _count(index, "SELECT SUM(updated) FROM runs") == 0
    assert _count(index, "SELECT etag IS NOT NULL FROM feeds") == 1  # saved only once the poll completed


def test_items_stored_but_not_marked_seen_are_recognised_without_a_fetch(settings: Settings, site: Site,
                                                                         fake_embedder: FakeEmbedder) -> None:
    """What a kill between an article's commit and its item's mark leaves: the next poll fetches no page again."""
    site.routes["/rss.xml"] = Route(rss("Marks", _rss_site(site, 3, "m")), content_type="application/rss+xml")
    feed_id = _add(settings, site.url + "/rss.xml")
    assert poll(settings, get_embedder=lambda: fake_embedder).to_dict()["new"] == 3
    conn = store.connect(settings.index_dir)
    with conn:
        conn.execute("DELETE FROM feed_items")
        conn.execute("UPDATE feeds SET etag = NULL, last_modified = NULL")
    conn.close()
    pages = sum(n for p, n in site.hits.items() if p.startswith("/news/"))
    result = poll(settings, get_embedder=lambda: fake_embedder).feeds[0]
    assert (len(result.new), result.unchanged) == (0, 3)
    assert sum(n for p, n in site.hits.items() if p.startswith("/news/")) == pages
    assert _feed(settings, feed_id)["items_seen"] == 3


def test_http_feeds_endpoints(tmp_path: Path, site: Site) -> None:
    from fastapi.testclient import TestClient

    import server

    site.routes["/empty.xml"] = Route(rss("Empty", []), content_type="application/rss+xml")
    settings = Settings.from_env({"NEWSQA_API_KEY": "k" * 32}, index_dir=tmp_path / "index")
    auth = {"Authorization": "Bearer " + "k" * 32}
    with TestClient(server.create_app(settings)) as client:
        assert client.get("/api/feeds").json() == []  # no index yet: no feeds
        body = {"url": site.url + "/empty.xml", "every_seconds": 600, "source": "empty.example"}
        assert client.post("/api/feeds", json=body).status_code == 401
        response = client.post("/api/feeds", json=body, headers=auth)
        assert response.status_code == 201, response.text
        feed = response.json()
        assert (feed["url"], feed["every_seconds"], feed["source"], feed["items_seen"]) == (
            body["url"], 600, "empty.example", 0)
        assert client.post("/api/feeds", json=body, headers=auth).status_code == 409
        assert client.post("/api/feeds", json={"url": "file:///etc/passwd"}, headers=auth).status_code == 422
        assert client.post("/api/feeds", json={"url": body["url"] + "?x", "every_seconds": 5},
                           headers=auth).status_code == 422
        assert client.get(f"/api/feeds/{feed['id']}").json()["url"] == body["url"]
        assert [f["id"] for f in client.get("/api/feeds").json()] == [feed["id"]]
        assert client.delete(f"/api/feeds/{feed['id']}").status_code in (401, 403)
        assert client.delete(f"/api/feeds/{feed['id']}", headers=auth).json() == {"removed": 1, "id": feed["id"]}
        assert client.get(f"/api/feeds/{feed['id']}").status_code == 404
        assert client.delete(f"/api/feeds/{feed['id']}", headers=auth).status_code == 404
        paths = client.get("/openapi.json").json()["paths"]
        assert {"get", "post"} <= set(paths["/api/feeds"]) and {"get", "delete"} <= set(paths["/api/feeds/{feed_id}"])


@pytest.mark.slow
def test_the_service_polls_feeds_and_watches_folders_by_itself(tmp_path: Path, site: Site) -> None:
    """A real `newsqa serve` (real model): a feed added over HTTP and a file dropped into NEWSQA_WATCH become
    answerable with citations, nobody running a command."""
    from tests.service import Server

    index, drop = tmp_path / "index", tmp_path / "drop"
    drop.mkdir()
    seed = tmp_path / "seed.jsonl"
    seed.write_text(json.dumps({"id": "seed", "title": "Council meets", "text": "The town council of Saltmere met "
                                "on Tuesday to discuss the budget for the coming year."}) + "\n")
    assert main(["ingest", str(seed), "--index", str(index), "-q"]) == 0
    url = site.page("/news/bridge.html", "Engineers approve the new Drayhaven bridge design",
                    ["Chief engineer Talia Brenn approved the new Drayhaven bridge design on Wednesday.",
                     "The bridge will have four lanes and a cycle path, and should open in 2029.",
                     "Brenn said the old bridge would stay open until the new one carries traffic."])
    site.routes["/rss.xml"] = Route(rss("Bridges", [{"guid": "br-1", "link": url, "title": "Bridge approved"}]),
                                    content_type="application/rss+xml", conditional=True)
    key = "s" * 32
    env = {"NEWSQA_WATCH": str(drop), "NEWSQA_WATCH_SETTLE": "0.5", "NEWSQA_ENTITIES": "0", "NEWSQA_RATE_LIMIT": "0"}
    server = Server(index, api_key=key, env=env)
    try:
        status, feed = server.post("/api/feeds", {"url": site.url + "/rss.xml"},
                                   headers={"Authorization": f"Bearer {key}"})
        assert status == 201, feed

        def answered(question: str, must: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
            deadline = time.monotonic() + timeout
            while True:
                status, answer = server.post("/api/ask", {"question": question, "k": 3})
                if status == 200 and must in answer["answer"]:
                    return answer
                assert time.monotonic() < deadline, answer
                time.sleep(0.5)

        answer = answered("Who approved the Drayhaven bridge design?", "Talia Brenn")
        assert answer["citations"][0]["url"] == url
        status, state = server.get(f"/api/feeds/{feed['id']}")
        assert state["items_seen"] == 1 and state["last_success"]

        dropped = time.monotonic()
        (drop / "ferry.txt").write_text("Night ferry returns to Tallow\nThe night ferry to Tallow returns on "
                                        "Saturday, skipper Ida Marsk told the harbour office.\n", encoding="utf-8")
        answer = answered("Who is the skipper of the night ferry to Tallow?", "Ida Marsk")
        print(f"\na dropped file was answerable {time.monotonic() - dropped:.1f} s after it was written")
        assert answer["citations"][0]["title"] == "Night ferry returns to Tallow"
    finally:
        server.stop()


def test_a_page_that_fails_for_now_is_tried_again_at_the_next_poll(settings: Settings, site: Site,
                                                                   fake_embedder: FakeEmbedder) -> None:
    items = _rss_site(site, 2, "t")
    site.routes["/news/t1.html"] = Route(b"busy", 503, "text/plain")
    site.routes["/rss.xml"] = Route(rss("Flaky", items), content_type="application/rss+xml", conditional=True)
    feed_id = _add(settings, site.url + "/rss.xml")
    first = poll(settings, get_embedder=lambda: fake_embedder).feeds[0]
    assert (len(first.new), first.retrying) == (2, 1) and "HTTP 503" in " ".join(first.notes)
    assert _feed(settings, feed_id)["etag"] is None  # so that the next poll is not a 304 hiding the item
    conn = store.connect(settings.index_dir, readonly=True)
    stored = {r[0] for r in conn.execute("SELECT text FROM articles")}
    conn.close()
    assert "Summary of story 1." in stored  # meanwhile, the feed's own text

    site.page("/news/t1.html", "Saltmere harbour story number 1 of the week", _paragraphs("Story t1 is back."))
    second = poll(settings, get_embedder=lambda: fake_embedder).feeds[0]
    assert (len(second.new), len(second.updated), second.unchanged, second.retrying) == (0, 1, 1, 0)
    assert site.hits["/news/t0.html"] == 1 and site.hits["/news/t1.html"] == 2
    assert _feed(settings, feed_id)["etag"]
    assert poll(settings, get_embedder=lambda: fake_embedder).feeds[0].status == "not_modified"

    # a page failing at every poll is given up after PAGE_RETRIES tries: its item keeps the feed's text
    from qa.feeds import PAGE_RETRIES

    site.routes["/news/t2.html"] = Route(b"busy", 503, "text/plain")
    site.routes["/rss.xml"] = Route(rss("Flaky", [*items, {"guid": "urn:t:2", "link": site.url + "/news/t2.html",
                                                           "title": "Third", "description": "Third summary."}]),
                                    content_type="application/rss+xml", conditional=True)
    for _ in range(PAGE_RETRIES + 2):
        poll(settings, get_embedder=lambda: fake_embedder)
    assert site.hits["/news/t2.html"] == PAGE_RETRIES
