"""Direct quotes: extraction patterns, exact offsets, speakers resolved to actors, /api/quotes over real HTTP, and
"What did X say about Y?" answered from them."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator

import pytest

from corpus.quotes import extract_quotes
from index.actor_reader import ActorIndex
from qa.answer import said_question
from qa.settings import Settings
from tests.service import Server

TEXT = ("The mayor spoke on Monday.\n\n"
        "\"We will rebuild the bridge before winter,\" Mayor Elspeth Grainger said.\n\n"
        "Opposition leader Farid Castellane said: \"The city cannot afford another delay.\"\n\n"
        "“This is the first paragraph of a long statement.\n\n"
        "“And this is its second paragraph,” said Rosalind Achterberg, the union's general secretary.\n\n"
        "Achterberg walked out. “Nobody will stop us now,” she said.\n\n"
        "Critics said the plan was too costly, and that the council had ignored residents.\n\n"
        "The report called it a \"hasty fix\" in its summary.")


def test_patterns_offsets_and_speakers() -> None:
    quotes = extract_quotes(TEXT, ["Elspeth Grainger", "Farid Castellane", "Rosalind Achterberg"])
    got = [(TEXT[q.start:q.end], q.speaker, q.verb) for q in quotes]
    assert got[0] == ("We will rebuild the bridge before winter,", "Elspeth Grainger", "said")
    assert got[1] == ("The city cannot afford another delay.", "Farid Castellane", "said")
    assert got[2][0].startswith("This is the first paragraph") and got[2][0].endswith("its second paragraph,")
    assert got[2][1] == "Rosalind Achterberg"
    assert got[3] == ("Nobody will stop us now,", "Rosalind Achterberg", "said") and quotes[3].pronoun
    assert len(got) == 4  # reported speech and a two-word scare quote stay out


@pytest.fixture(scope="module")
def server(demo_settings: Settings) -> Iterator[Server]:
    server = Server(demo_settings.index_dir)
    yield server
    server.stop()


def test_sentences_clauses_and_descriptions() -> None:
    text = ("Internet watchdog Netblocks said on Wednesday that “the service is down in several countries today.” "
            "It added that the fault was “not related to any filtering by a government”.\n"
            "But Orla Penrose added: “We will publish the figures next week, as promised.”\n"
            "It was “a clear and unprecedented test” of the agency’s “capacity to act on its own”, said The Courier.\n"
            "Harbour Transit said the line would close. “Repairs will take at least three more weeks,” the company "
            "said.")
    found = {text[q.start:q.end].split()[0]: q.speaker for q in extract_quotes(text, ["Orla Penrose"],
                                                                                ["Harbour Transit", "Netblocks"])}
    assert found["the"] == "Netblocks"  # not "It", the next sentence's subject
    assert found["We"] == "Orla Penrose"  # not "But Orla Penrose"
    assert found["a"] == found["capacity"] == "Courier"  # the sentence's verb after its last quote
    assert found["Repairs"] == "Harbour Transit"  # "the company": the organisation named last


def test_stored_quotes_are_exact_and_attributed(demo_settings: Settings) -> None:
    actors = ActorIndex(demo_settings.index_dir)
    quotes = actors.quotes(limit=1000)
    assert len(quotes) >= 60
    for q in quotes:
        text = actors.conn.execute("SELECT text FROM articles WHERE id = ?", (q["article_id"],)).fetchone()[0]
        assert text[q["start"]:q["end"]] == q["quote"]
    holtzberg = actors.quotes("Holtzberg")
    assert holtzberg and all(q["speaker"]["name"] == "Maren Holtzberg" for q in holtzberg)
    assert any("last stretch is often the hardest" in q["quote"] for q in holtzberg)


def test_quotes_endpoint_over_http(server: Server) -> None:
    status, body = server.get("/api/quotes?speaker=" + urllib.parse.quote("Kellerby") + "&since=2024-01-01")
    assert status == 200 and body["quotes"]
    for q in body["quotes"]:
        assert q["speaker"]["name"] == "Matthias Kellerby" and q["speaker"]["actor_id"]
        assert set(q) >= {"quote", "speaker", "verb", "date", "article_id", "title", "start", "end"}
        status, article = server.get(f"/api/articles/{q['article_id']}")
        assert article["text"][q["start"]:q["end"]] == q["quote"] and q["date"] >= "2024-01-01"
    status, body = server.get("/api/quotes?speaker=Kellerby&q=ambush")
    assert [q["quote"] for q in body["quotes"]] == ["This is not an investigation. It is a political ambush."]
    status, body = server.get("/api/quotes?speaker=Kellerby&until=2023-01-01")
    assert status == 200 and body["quotes"] == []
    actor = server.get("/api/quotes?speaker=Kellerby")[1]["quotes"][0]["speaker"]["actor_id"]
    status, by_id = server.get(f"/api/quotes?speaker={actor}")  # the speaker as an actor id
    assert status == 200 and by_id["quotes"] == server.get("/api/quotes?speaker=Kellerby")[1]["quotes"]
    assert server.get("/api/quotes?since=notadate")[0] == 422


def test_what_did_x_say_about_y(server: Server) -> None:
    assert said_question("What did Kellerby say about the charges?") == ("Kellerby", "the charges?".rstrip("?"))
    assert said_question("Who won the election?") is None
    status, body = server.post("/api/ask", {"question": "What did Holtzberg say about cutting rates too early?"})
    assert status == 200 and body["citations"], body
    for c in body["citations"]:
        status, article = server.get(f"/api/articles/{c['article_id']}")
        assert article["text"][c["start"]:c["end"]] == c["quote"]
        assert f"“{c['quote']}” [{c['n']}]" in body["answer"]
    assert body["answer"].startswith("Maren Holtzberg")
    status, body = server.post("/api/ask", {"question": "What did Kellerby say about the charges?"})
    assert status == 200 and body["citations"], body
    # each quote introduced by a verb that reads alone ("told" of "told reporters" reads as "said")
    assert re.findall(r"Matthias Kellerby (\w+): “", body["answer"]) and not re.search(r" (told|asked|according to): “",
                                                                                        body["answer"])


def test_last_clause_titles_and_short_partial_quotes() -> None:
    text = ("Ferry fares rose again, and crossings need “weeks of careful planning” to book in summer, said The "
            "Harbour Gazette.\n"
            "Transport Minister Ilse Brandvold opened the new pier on Friday. Later the minister joked that the "
            "gulls had “filed their complaints”.\n"
            "Councillor Teodor Vasquin called the delay “utterly avoidable” at the meeting.")
    found = {text[q.start:q.end]: q.speaker for q in extract_quotes(text, ["Ilse Brandvold", "Teodor Vasquin"])}
    assert found["weeks of careful planning"] == "Harbour Gazette"  # the sentence's last clause attributes it
    assert found["filed their complaints"] == "Ilse Brandvold"  # three words, and "the minister": her title
    assert "utterly avoidable" not in found  # two words: a fragment, not a statement
