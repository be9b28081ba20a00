"""Ingest on Ray (`newsqa ingest --ray`): on a real local cluster, the same index as a local ingest; an address
that does not answer fails fast, names the setting and leaves the index as it was."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray

from cli.main import EXIT_USAGE, main
from corpus.demo import demo_dir
from index import store
from index.report import UpdateReport
from qa.engine import Engine, ingest
from qa.ray_ingest import RayNotInstalled, RayUnavailable, connect, ingest_on_ray
from qa.search import Query
from qa.settings import Settings
from tests.conftest import DATA

pytestmark = pytest.mark.slow

QUESTION = json.loads((DATA / "demo_questions.jsonl").read_text().splitlines()[0])
BAD_RECORDS = [
    {"id": "tram-1", "title": "Tram depot opens", "date": "2024-06-10", "source": "example.org",
     "text": "The new tram depot in Drayhaven opened on Monday. It holds forty trams and employs 120 people."},
    {"id": "no-text", "title": "A record without a body"},
    {"id": "tram-1", "title": "Tram depot opens", "date": "2024-06-10", "source": "example.org",
     "text": "The new tram depot in Drayhaven opened on Monday. It holds forty trams and employs 120 people."},
]


@pytest.fixture(scope="module")
def cluster() -> Any:
    """A real local Ray cluster for this module; its address is what `--ray ADDRESS` would be given."""
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The demo archive plus a file with a bad record and a duplicate, so skipped records are compared too."""
    extra = tmp_path_factory.mktemp("inputs") / "extra.jsonl"
    extra.write_text("".join(json.dumps(r) + "\n" for r in BAD_RECORDS) + "{not json\n")
    return [demo_dir(), extra]


def _settings(root: Path) -> Settings:
    # Batches of 16 articles: several boilerplate batches and several rounds on the cluster, as a large archive.
    return Settings.from_env({}, index_dir=root / "index", ingest_batch=16)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, inputs: list[Path]) -> tuple[Settings, UpdateReport]:
    settings = _settings(tmp_path_factory.mktemp("local"))
    return settings, ingest(settings, inputs)


@pytest.fixture(scope="module")
def on_ray(tmp_path_factory: pytest.TempPathFactory, inputs: list[Path], cluster: str
           ) -> tuple[Settings, UpdateReport]:
    settings = _settings(tmp_path_factory.mktemp("ray"))
    return settings, ingest_on_ray(settings, inputs, cluster)


def _rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(settings.index_dir / store.DB_NAME)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def _vectors(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    conn = store.connect(settings.index_dir, readonly=True)
    try:
        manifest = store.read_manifest(conn)
        assert manifest is not None
        return store.all_chunk_vectors(conn, manifest.dim)
    finally:
        conn.close()


def test_ray_ingest_reports_as_a_local_ingest(local: tuple[Settings, UpdateReport],
                                              on_ray: tuple[Settings, UpdateReport]) -> None:
    expected, got = local[1].to_dict(), on_ray[1].to_dict()

    for key in ("new", "updated", "unchanged", "duplicates", "records", "chunks_added", "embedded", "reused",
                "generation"):
        assert got[key] == expected[key], key
    assert got["skipped"] == expected["skipped"]
    assert [s["where"].rsplit("/", 1)[-1] for s in got["skipped"]] == ["extra.jsonl:4", "extra.jsonl:2"]
    assert got["duplicates"] == 1
    assert got["new"] + got["duplicates"] + len(got["skipped"]) == got["records"]
    assert got["seconds"]["entities"] == 0.0 < got["seconds"]["cluster_embed"]  # spaCy ran on the cluster only


def test_ray_ingest_gives_the_same_articles_chunks_and_entities(local: tuple[Settings, UpdateReport],
                                                                on_ray: tuple[Settings, UpdateReport]) -> None:
    for sql in ("SELECT id, title, date, source, url, authors, text, content_hash, origin FROM articles ORDER BY id",
                'SELECT c.id, c.article_id, c.ordinal, c.start, c."end", c.n_tokens, c.embed_hash, '
                'substr(a.text, c.start + 1, c."end" - c.start) FROM chunks c JOIN articles a ON a.id = c.article_id '
                "ORDER BY c.id",
                "SELECT article_id, name, norm, label, mentions FROM entities ORDER BY article_id, rowid"):
        expected, got = _rows(local[0], sql), _rows(on_ray[0], sql)
        assert got == expected, sql
        assert expected


def test_ray_ingest_gives_the_same_vectors(local: tuple[Settings, UpdateReport],
                                           on_ray: tuple[Settings, UpdateReport]) -> None:
    expected_ids, expected = _vectors(local[0])
    got_ids, got = _vectors(on_ray[0])

    assert got_ids.tolist() == expected_ids.tolist()
    assert got.shape == expected.shape == (len(expected_ids), 384)
    assert np.allclose(got, expected, atol=1e-5)


def test_ray_ingest_gives_the_same_answer(local: tuple[Settings, UpdateReport],
                                          on_ray: tuple[Settings, UpdateReport]) -> None:
    query = Query(QUESTION["question"], k=5)
    expected = Engine.open(local[0]).answerer.answer(query)
    got = Engine.open(on_ray[0]).answerer.answer(query)

    assert QUESTION["expected"] in expected.answer
    assert got.answer == expected.answer
    assert [(c.article_id, c.start, c.end) for c in got.citations] == [
        (c.article_id, c.start, c.end) for c in expected.citations]


def test_ray_reingest_of_the_same_inputs_embeds_nothing(on_ray: tuple[Settings, UpdateReport], inputs: list[Path],
                                                        cluster: str) -> None:
    settings, first = on_ray

    again = ingest_on_ray(settings, inputs, cluster)

    assert (again.new, again.updated, again.embedded) == ([], [], 0)
    assert again.unchanged == len(first.new)
    assert again.generation == first.generation


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("address", ["127.0.0.1:1", "ray://127.0.0.1:1"])
def test_an_address_that_does_not_answer_names_the_setting_and_leaves_the_index(
        address: str, on_ray: tuple[Settings, UpdateReport], capsys: pytest.CaptureFixture[str]) -> None:
    settings = on_ray[0]
    before = _digest(settings.index_dir)

    status = main(["ingest", str(demo_dir()), "--index", str(settings.index_dir), "--ray", address])

    err = capsys.readouterr().err
    assert status == EXIT_USAGE
    assert f"no Ray cluster answers at '{address}'" in err
    assert "--ray ADDRESS" in err and "NEWSQA_RAY_ADDRESS" in err
    assert _digest(settings.index_dir) == before


def test_an_address_from_the_environment_is_checked_before_the_index_is_created(
        tmp_path: Path, inputs: list[Path]) -> None:
    settings = replace(_settings(tmp_path), ray_address="127.0.0.1:1")

    with pytest.raises(RayUnavailable, match="NEWSQA_RAY_ADDRESS"):
        ingest_on_ray(settings, inputs)

    assert not settings.index_dir.exists()


def test_a_path_given_as_the_address_is_explained(tmp_path: Path) -> None:
    with pytest.raises(RayUnavailable, match="write the paths before --ray"):
        connect(str(tmp_path))


def test_ray_missing_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when it is not installed

    with pytest.raises(RayNotInstalled, match=r"pip install 'newsqa\[ray\]'"):
        ingest_on_ray(_settings(tmp_path), [demo_dir()], "local")
    assert not (tmp_path / "index").exists()
