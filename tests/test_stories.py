"""Stories, timelines and coverage on the demo archive: real MiniLM, real SQLite, a real HTTP server."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index import store
from index.stories import StoryParams
from qa.settings import Settings
from qa.timeline import timeline_question
from tests.service import Server

WALKOUT, SPREADS_TITLE = "3028bc2e26d1", "Strike Spreads To Drayhaven As Dock Union Rejects Revised Offer"
CHARGED, SKYLARK = "50434ee39816", "4b11d8eb1586"
KEY = "stories-key"


def _members(index: Path) -> dict[str, tuple[str, str | None]]:
    conn = sqlite3.connect(index / store.DB_NAME)
    try:
        return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT article_id, story_id, copy_of FROM story_members")}
    finally:
        conn.close()


def _stories(index: Path) -> dict[str, tuple[Any, ...]]:
    conn = sqlite3.connect(index / store.DB_NAME)
    try:
        return {r[0]: tuple(r) for r in conn.execute("SELECT * FROM stories")}
    finally:
        conn.close()


def _article_id(index: Path, title: str) -> str:
    conn = sqlite3.connect(index / store.DB_NAME)
    try:
        return str(conn.execute("SELECT id FROM articles WHERE title = ?", (title,)).fetchone()[0])
    finally:
        conn.close()


def _copy_of(index: Path, article_id: str, new_id: str, date: str | None = None) -> dict[str, Any]:
    """A re-published copy of a stored article under another id and source (the same report)."""
    row = store.get_article(store.connect(index, readonly=True), article_id)
    assert row is not None
    return {"id": new_id, "title": row["title"], "date": date or row["date"], "source": "wire-copy.example",
            "text": row["text"]}


def test_demo_groups_the_port_strike_and_keeps_other_events_apart(demo_settings: Settings) -> None:
    members = _members(demo_settings.index_dir)
    spreads = _article_id(demo_settings.index_dir, SPREADS_TITLE)
    assert len(members) == store.counts(store.connect(demo_settings.index_dir, readonly=True))[0]  # every article
    assert members[WALKOUT][0] == members[spreads][0]  # the walk-out and its spread a week later: one story
    assert members[CHARGED][0] != members[WALKOUT][0]
    assert members[SKYLARK][0] not in {members[CHARGED][0], members[WALKOUT][0]}
    row = _stories(demo_settings.index_dir)[members[WALKOUT][0]]
    assert row[3] <= "2024-03-11" and row[4] >= "2024-03-18"  # first_date, last_date span both


def test_an_update_regroups_only_the_stories_it_touches(demo_settings: Settings, tmp_path: Path) -> None:
    from qa.engine import ingest

    index = tmp_path / "index"
    shutil.copytree(demo_settings.index_dir, index)
    settings = Settings.from_env({}, index_dir=index)
    before_members, before_stories = _members(index), _stories(index)
    records = [_copy_of(index, WALKOUT, "walkout-copy"),
               {"id": "skylark-news", "title": "Skylark Observatory Sends Back Its First Solar Images",
                "date": "2024-09-10", "source": "northernledger.example",
                "text": "The Skylark solar observatory sent back its first images of the Sun on Monday, three months "
                        "after lifting off from the Skarnes spaceport. Mission scientists said the images showed "
                        "the observatory's cameras working as designed."}]
    path = tmp_path / "new.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = ingest(settings, [path])
    after_members, after_stories = _members(index), _stories(index)
    # the copy folds into the walk-out's story as a copy of it
    assert after_members["walkout-copy"] == (before_members[WALKOUT][0], WALKOUT)
    touched = {s for s in after_stories if after_stories[s] != before_stories.get(s)}
    assert touched and len(touched) <= 2 and report.stories_touched == len(touched)
    assert before_members[WALKOUT][0] in touched
    # every other story is exactly as it was
    assert {s: r for s, r in after_stories.items() if s not in touched} == {
        s: r for s, r in before_stories.items() if s not in touched}
    assert all(after_members[a] == m for a, m in before_members.items())

    # the original removed: its copy stands in for it, in the same story
    from qa.engine import writer

    with writer(settings) as w:
        w.remove([WALKOUT])
    assert _members(index)["walkout-copy"] == (before_members[WALKOUT][0], None)


def test_grouping_params_are_data() -> None:
    strict, loose = StoryParams(link_score=0.9), StoryParams(link_score=0.1)
    assert strict.window_days == loose.window_days == 7 and strict != loose


@pytest.mark.parametrize(("question", "subject", "since"), [
    ("timeline of the port strike", "the port strike", None),
    ("What happened with Kellerby since March?", "Kellerby", dt.date(2024, 3, 1)),
    ("What has happened to the Pennock Ridge fire?", "the Pennock Ridge fire", None),
])
def test_timeline_questions_are_recognised(question: str, subject: str, since: dt.date | None) -> None:
    wanted = timeline_question(question, newest=dt.date(2024, 9, 30))
    assert wanted is not None and wanted.query == subject and wanted.since == since


def test_other_questions_are_not_timelines() -> None:
    assert timeline_question("Who was charged in the tram depot case?") is None
    assert timeline_question("How much will the Halo hub cost?") is None


# -- through the HTTP API ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    index = tmp_path_factory.mktemp("stories") / "index"
    shutil.copytree(demo_settings.index_dir, index)
    srv = Server(index, api_key=KEY)
    # a re-published copy of the walk-out report, a day later elsewhere: a timeline must show it once
    status, _ = srv.post("/api/articles", [_copy_of(index, WALKOUT, "walkout-wire", "2024-03-12")],
                         headers={"Authorization": f"Bearer {KEY}"})
    assert status == 200
    yield srv
    srv.stop()


def _check_timeline(server: Server, events: list[dict[str, Any]]) -> None:
    """Every line an exact quote of its article, in date order, no two from copies of one report."""
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)
    texts = set()
    for event in events:
        status, article = server.get(f"/api/articles/{event['article_id']}")
        assert status == 200
        source = article["text"] if event["field"] == "text" else article["title"]
        assert source[event["start"]:event["end"]] == event["quote"]
        texts.add(event["quote"])
    assert len(texts) == len(events)


def test_timeline_of_the_port_strike(server: Server) -> None:
    status, body = server.post("/api/timeline", {"query": "the port strike"})
    assert status == 200
    events = body["events"]
    _check_timeline(server, events)
    ids = [e["article_id"] for e in events]
    assert WALKOUT in ids and "walkout-wire" not in ids  # the copy folded into its original
    assert len(events) >= 4 and events[0]["date"] == "2024-03-11" and events[-1]["date"] == "2024-04-06"
    assert any("voted" in e["quote"] and "accept" in e["quote"] for e in events)  # the deal that ended it
    cover = body["coverage"]
    assert cover["articles"] == len(events) and cover["first_date"] == "2024-03-11"
    assert cover["last_date"] == "2024-04-06" and "nothing after 6 April 2024" in cover["text"]


def test_timeline_of_the_tram_depot_bribery_case(server: Server) -> None:
    status, body = server.post("/api/timeline", {"query": "the tram depot bribery case"})
    assert status == 200
    events = body["events"]
    _check_timeline(server, events)
    kellerby = [e for e in events if "Kellerby" in e["quote"]]
    assert len(kellerby) >= 3
    assert kellerby[0]["date"] == "2024-02-06" and "charged" in kellerby[0]["quote"]
    assert any("guilty" in e["quote"] for e in kellerby)


def test_timeline_by_actor_and_dates(server: Server) -> None:
    status, body = server.post("/api/timeline", {"actor": "Kellerby", "since": "2024-03-01"})
    assert status == 200
    events = body["events"]
    _check_timeline(server, events)
    assert events and all(e["date"] >= "2024-03-01" for e in events)
    assert body["coverage"]["first_date"] >= "2024-03-01"
    status, _ = server.post("/api/timeline", {})
    assert status == 422


def test_stories_endpoints(server: Server) -> None:
    status, body = server.get("/api/stories?q=dock%20workers%20strike")
    assert status == 200 and body["stories"]
    story = next(s for s in body["stories"] if any(a["article_id"] == WALKOUT for a in s["articles"]))
    walkout = next(a for a in story["articles"] if a["article_id"] == WALKOUT)
    assert walkout["copies"] == ["walkout-wire"]  # the copy is listed under its original, not beside it
    assert {"id", "title", "first_date", "last_date", "articles", "actors"} <= set(story)
    assert any("Saltmere" in a["name"] for a in story["actors"])
    status, one = server.get(f"/api/stories/{story['id']}")
    assert status == 200 and one["id"] == story["id"] and one["articles"] == story["articles"]
    assert server.get("/api/stories/s-none")[0] == 404
    status, dated = server.get("/api/stories?since=2024-08-01")
    assert status == 200 and dated["stories"] and all(s["last_date"] >= "2024-08-01" for s in dated["stories"])
    status, named = server.get("/api/stories?actor=Kellerby")
    assert status == 200 and any(a["article_id"] == CHARGED for s in named["stories"] for a in s["articles"])


def test_search_carries_story_ids_and_can_keep_one_hit_per_story(server: Server) -> None:
    status, body = server.post("/api/search", {"query": "port strike dock workers", "k": 8})
    assert status == 200 and all(h["story_id"] for h in body["results"])
    stories = [h["story_id"] for h in body["results"]]
    status, body = server.post("/api/search", {"query": "port strike dock workers", "k": 8, "per_story": True})
    assert status == 200
    once = [h["story_id"] for h in body["results"]]
    assert len(once) == len(set(once)) and set(once) <= set(stories) | set(once)


def test_ask_says_what_the_archive_holds(server: Server) -> None:
    status, body = server.post("/api/ask", {"question": "How many dock workers walked out at the Port of Saltmere?"})
    assert status == 200 and not body["abstained"]
    assert all(c["story_id"] for c in body["citations"])
    assert body["coverage"]["articles"] >= 1 and body["coverage"]["text"].startswith("The archive has")
    status, body = server.post("/api/ask", {"question": "What did the Corvenna chess federation decide in 1987?"})
    assert status == 200 and body["abstained"]
    assert body["coverage"]["text"].startswith("The archive has")  # an abstention says what there is, too
    assert body["nearest"] and all(n["story_id"] for n in body["nearest"])
    status, body = server.post("/api/ask", {"question": "timeline of the port strike"})
    assert status == 200 and body["timeline"] and len(body["citations"]) == len(body["timeline"]["events"]) >= 4
    assert body["answer"].count("[") == len(body["citations"])
    assert body["coverage"] == body["timeline"]["coverage"]


def test_cli_timeline_and_stories(demo_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert main(["timeline", "the port strike", "--index", str(demo_settings.index_dir), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["events"][0]["article_id"] == WALKOUT
    assert main(["stories", "dock strike", "--index", str(demo_settings.index_dir)]) == 0
    assert "Saltmere Dock Workers Walk Out" in capsys.readouterr().out


def test_stories_bench_runs(demo_settings: Settings, tmp_path: Path) -> None:
    """bench/stories.py on the demo index (no labelled pairs there): grouping and update figures, index unchanged."""
    from bench.stories import main

    before = _members(demo_settings.index_dir)
    out = tmp_path / "stories.json"
    assert main(["--index", f"demo={demo_settings.index_dir}", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["all"]["pairs"] == 0 and result["grouping"]["demo"]["articles"] >= 30
    cost = result["ingest_cost"]["whole_index"]
    assert cost["stories"] == len(set(s for s, _ in before.values()))  # the same grouping as the writer's
    assert 0 < cost["update_50_stories_touched"] <= cost["stories"]
    assert _members(demo_settings.index_dir) == before  # rolled back
