"""Canonical actors on the demo archive (real spaCy, real SQLite, the real HTTP API): aliases merged, headline
fragments and possessives cleaned, one type per actor, incremental linking."""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corpus.article import Article
from index.actor_reader import ActorIndex
from index.actors import clean_mention, label_of
from qa.conversation import Turn, resolve
from qa.engine import writer
from qa.settings import Settings
from tests.service import Server

FRAGMENT_WORDS = re.compile(r"\b(Charged|Denies|Taking|Says|Wins|Found|Guilty|Tells|Calls|Confirms|Agrees)\b")


@pytest.fixture(scope="module")
def actors(demo_settings: Settings) -> ActorIndex:
    return ActorIndex(demo_settings.index_dir)


@pytest.fixture(scope="module")
def server(demo_settings: Settings) -> Iterator[Server]:
    server = Server(demo_settings.index_dir)
    yield server
    server.stop()


def test_cleaning_a_mention() -> None:
    body = "Matthias Kellerby denied the charges. Kellerby, 54, said the Aldermark Centre Party's rules allow it."
    assert clean_mention("Kellerby Denies Taking Bribes", "PERSON", body) == "Kellerby"
    assert clean_mention("the Aldermark Centre Party's", "ORG", body) == "Aldermark Centre Party"
    assert clean_mention("Deputy Mayor Matthias Kellerby", "PERSON", body) == "Matthias Kellerby"
    assert clean_mention("Tram Depot Bribery Case", "EVENT", body) is None  # only the headline names it
    assert label_of("Corvenna", "PERSON", "He lives in Corvenna. Protests in Corvenna grew.") == "GPE"
    assert label_of("Orrin Bay Advisory", "WORK_OF_ART", "") == "ORG"


def test_aliases_merge_into_one_actor(actors: ActorIndex) -> None:
    kellerby = actors.find("Matthias Kellerby")
    assert kellerby is not None
    assert actors.find("Kellerby") == kellerby
    assert actors.find("Deputy Mayor Kellerby") == kellerby
    assert actors.find("Kellerby's") == kellerby
    found = actors.get(kellerby)
    assert found is not None and found["type"] == "PERSON" and found["name"] == "Matthias Kellerby"
    assert found["articles"] >= 5 and found["first_seen"] <= found["last_seen"]
    assert sum(w["mentions"] for w in found["mentions_per_week"]) == found["mentions"]
    co = [c["name"] for c in found["co_mentioned"]]
    assert "Piet Vandermolen" in co
    # the articles that mention an actor, by id or by any alias
    assert actors.articles_of(kellerby) == actors.articles_of("Kellerby") and len(actors.articles_of(kellerby)) >= 5


def test_types_by_majority_and_no_fragments(actors: ActorIndex) -> None:
    assert actors.type_of("Corvenna") == "GPE"  # the small model calls the city a person in some articles
    for actor in actors.search(None, limit=500):
        assert not FRAGMENT_WORDS.search(actor["name"]), actor
        assert not actor["name"].endswith(("'s", "’s")) and not actor["name"].lower().startswith("the "), actor


def test_actors_endpoints_over_http(server: Server) -> None:
    status, body = server.get("/api/actors?q=" + urllib.parse.quote("Kellerby"))
    assert status == 200
    first = body["actors"][0]
    assert first["name"] == "Matthias Kellerby" and set(first) >= {"id", "name", "aliases", "type", "mentions",
                                                                   "first_seen", "last_seen"}
    status, one = server.get(f"/api/actors/{first['id']}")
    assert status == 200 and one["id"] == first["id"] and one["mentions_per_week"] and one["co_mentioned"]
    assert server.get("/api/actors/999999")[0] == 404
    assert server.get("/api/actors/abc")[0] == 422


def test_answer_actor_list_has_no_fragments_or_possessives(server: Server) -> None:
    for question in ("Who was charged in the tram depot bribery case?", "What did Kellerby deny?",
                     "Who won the Corvenna mayoral election?"):
        status, body = server.post("/api/ask", {"question": question})
        assert status == 200 and body["actors"], body
        for actor in body["actors"]:
            assert not FRAGMENT_WORDS.search(actor["name"]), actor
            assert not actor["name"].endswith(("'s", "’s")), actor
            assert actor["id"] > 0 and actor["type"]


def test_he_resolves_to_a_person_only(actors: ActorIndex) -> None:
    history = [Turn("user", "What did the Corvenna mayor Grainger announce about the Kellerby case?")]
    resolved = resolve("What did he promise?", history, actors.type_of)
    assert "Corvenna" not in resolved and ("Grainger" in resolved or "Kellerby" in resolved)


def test_an_update_links_only_its_articles_and_an_actor_gains_an_alias(demo_settings: Settings,
                                                                     tmp_path: Path) -> None:
    import shutil
    from dataclasses import replace

    index = tmp_path / "index"
    shutil.copytree(demo_settings.index_dir, index)
    settings = replace(demo_settings, index_dir=index)
    before = ActorIndex(index)
    kellerby = before.find("Matthias Kellerby")
    count = before.conn.execute("SELECT COUNT(*) FROM actor_mentions").fetchone()[0]
    article = Article(id="upd-1", title="Former Deputy Mayor Appeals", date="2024-12-02", source="x.example",
                      text="Former deputy mayor Matthias Kellerby lodged an appeal on Monday. Mr. Kellerby said "
                           "the verdict was wrong. His lawyer, Benedikt Szalay, filed the papers in Corvenna.")
    with writer(settings) as w:  # the real model: the copied index holds its vectors
        w.ingest([article])
    after = ActorIndex(index)
    assert after.find("Mr. Kellerby") == kellerby
    rows = after.conn.execute("SELECT actor_id FROM actor_mentions WHERE article_id = 'upd-1'").fetchall()
    assert kellerby in {r[0] for r in rows}
    assert after.conn.execute("SELECT COUNT(*) FROM actor_mentions").fetchone()[0] == count + len(rows)
    assert "upd-1" in after.articles_of(kellerby)


def test_an_index_from_before_actors_and_stories_gets_them_at_an_unchanged_ingest(demo_settings: Settings,
                                                                                   tmp_path: Path) -> None:
    import shutil
    from dataclasses import replace

    from corpus.demo import demo_dir
    from qa.engine import ingest

    index = tmp_path / "index"
    shutil.copytree(demo_settings.index_dir, index)
    conn = sqlite3.connect(index / "meta.sqlite")
    with conn:  # what an index written before actors and stories holds: entities, no actors, no story tables
        for table in ("quotes", "actor_mentions", "actor_aliases", "actors"):
            conn.execute(f"DELETE FROM {table}")
        for table in ("story_members", "stories", "story_terms"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM meta WHERE key IN ('actors_linked', 'stories', 'story_docs')")
    conn.close()
    report = ingest(replace(demo_settings, index_dir=index), [demo_dir()])
    assert not report.new and not report.updated and report.unchanged  # nothing to write but the upgrade
    after = ActorIndex(index)
    assert after.find("Matthias Kellerby") is not None
    assert after.conn.execute("SELECT COUNT(*) FROM quotes").fetchone()[0] > 0
    stored = after.conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    assert after.conn.execute("SELECT COUNT(*) FROM story_members").fetchone()[0] == stored


def test_quotes_an_earlier_extractor_made_are_extracted_again(demo_settings: Settings, tmp_path: Path) -> None:
    import shutil
    from dataclasses import replace

    from corpus.demo import demo_dir
    from corpus.quotes import VERSION
    from qa.engine import ingest

    index = tmp_path / "index"
    shutil.copytree(demo_settings.index_dir, index)
    conn = sqlite3.connect(index / "meta.sqlite")
    assert conn.execute("SELECT value FROM meta WHERE key = 'quotes_version'").fetchone() == (VERSION,)
    expected = conn.execute('SELECT article_id, start, "end", speaker FROM quotes ORDER BY 1, 2').fetchall()
    resolved = conn.execute("SELECT COUNT(actor_id) FROM quotes").fetchone()[0]
    with conn:  # what an earlier extractor left: other quotes, an older version
        conn.execute("DELETE FROM quotes WHERE rowid % 2 = 0")
        conn.execute('INSERT INTO quotes(article_id, start, "end", speaker, actor_id, verb, date) '
                     "VALUES ('e0fe6eda5b1a', 0, 5, 'Nobody', NULL, 'said', NULL)")
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'quotes_version'")
    conn.close()
    report = ingest(replace(demo_settings, index_dir=index), [demo_dir()])
    assert not report.new and not report.updated  # nothing to write but the upgrade
    conn = sqlite3.connect(index / "meta.sqlite")
    assert conn.execute('SELECT article_id, start, "end", speaker FROM quotes ORDER BY 1, 2').fetchall() == expected
    # speakers resolve to actors at least as often (the whole archive's names are known now, not the names linked
    # before the article at its ingest)
    assert conn.execute("SELECT COUNT(actor_id) FROM quotes").fetchone()[0] >= resolved
    assert conn.execute("SELECT value FROM meta WHERE key = 'quotes_version'").fetchone() == (VERSION,)
    conn.close()


def _linked(text: str, entities: list[tuple[str, str, int]]) -> tuple[Any, dict[str, int]]:
    """One article linked into an empty in-memory archive: the linker and its names' actors."""
    from corpus.entities import Entity
    from index import actors, store

    conn = sqlite3.connect(":memory:")
    conn.executescript(store.SCHEMA)
    actors.create_tables(conn)
    article = Article(id="a1", text=text, title="t", date="2024-01-01")
    store.insert_article(conn, article)
    linker = actors.Linker(conn)
    local = linker.link(article, [Entity(n, label, m) for n, label, m in entities])
    return linker, local


def test_a_surname_two_people_share_is_linked_to_neither() -> None:
    text = ("Jimmy Carter and Rosalynn Carter marked their anniversary. Carter said the years went fast. "
            "Jack Straw spoke later. Mr Straw said he agreed.")
    linker, local = _linked(text, [("Jimmy Carter", "PERSON", 2), ("Rosalynn Carter", "PERSON", 2),
                                   ("Carter", "PERSON", 1), ("Jack Straw", "PERSON", 2)])
    names = [r[0] for r in linker.conn.execute("SELECT name FROM actors")]
    assert sorted(names) == ["Jack Straw", "Jimmy Carter", "Rosalynn Carter"]  # no actor "Carter"
    assert linker.resolve("Carter", "PERSON", local) is None
    assert linker.resolve("Mr Straw", "PERSON", local) == local["jack straw"]  # a title before a surname
