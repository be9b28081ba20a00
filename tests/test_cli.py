"""The newsqa command, called in-process through main(argv)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from corpus.demo import demo_dir


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out)


def test_ask_search_show_stats_json_shapes(demo_settings, capsys) -> None:  # type: ignore[no-untyped-def]
    index = ["--index", str(demo_settings.index_dir), "-q"]
    assert main(["ask", "How much will Lumora's Halo home hub cost?", "--json", *index]) == 0
    answer = _json(capsys)
    assert set(answer) >= {"question", "answer", "citations"}
    assert "249 crowns" in answer["answer"]
    citation = answer["citations"][0]
    assert set(citation) >= {"n", "article_id", "title", "date", "source", "url", "quote", "start", "end",
                             "chunk_id", "score", "field"}

    assert main(["show", citation["article_id"], "--json", *index]) == 0
    article = _json(capsys)
    assert article[citation["field"]][citation["start"]:citation["end"]] == citation["quote"]

    assert main(["search", "Lumora Halo price", "--k", "3", "--json", *index]) == 0
    results = _json(capsys)
    assert results["query"] == "Lumora Halo price" and len(results["results"]) == 3
    assert set(results["results"][0]) >= {"article_id", "chunk_id", "title", "date", "source", "url", "text",
                                          "start", "end", "score"}

    assert main(["stats", "--json", *index]) == 0
    stats = _json(capsys)
    assert stats["articles"] >= 30 and stats["model"].endswith("all-MiniLM-L6-v2")

    assert main(["ask", "How much will Lumora's Halo home hub cost?", *index]) == 0
    text = capsys.readouterr().out
    assert "[1]" in text and "Sources:" in text


def test_ingest_reports_skipped_inputs_and_exits_1(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.jsonl").write_text(json.dumps({"id": "x1", "title": "Ferry", "text":
                                                 "The ferry to the islands resumed on Tuesday morning."}) + "\n{bad\n")
    index = ["--index", str(tmp_path / "index"), "-q"]
    assert main(["ingest", str(folder), "--json", *index]) == 1
    report = _json(capsys)
    assert (report["new"], report["records"]) == (1, 2)
    assert report["skipped"][0]["where"].endswith("ok.jsonl:2")
    assert main(["ingest", str(folder), *index]) == 1
    out = capsys.readouterr().out
    assert "0 new" in out and "1 unchanged" in out and "skipped" in out and "ok.jsonl:2" in out

    assert main(["remove", "x1", "--json", *index]) == 0
    assert _json(capsys)["removed"] == 1
    assert main(["show", "x1", *index]) == 3


def test_missing_index_is_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["ask", "anything?", "--index", str(tmp_path / "none")]) == 3
    assert "newsqa ingest" in capsys.readouterr().err


def test_help_lists_commands_and_environment(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in ("ingest", "ask", "search", "show", "stats", "remove", "serve", "NEWSQA_INDEX"):
        assert word in out


def test_demo_dir_is_shipped() -> None:
    assert len(list(demo_dir().glob("scraped/*.txt"))) >= 8
    assert (demo_dir() / "articles.jsonl").exists()


@pytest.mark.slow
def test_demo_flag_builds_its_index_on_first_use(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "demo-index"
    assert main(["ask", "--demo", "--index", str(index), "-q", "--json",
                 "How much will Lumora's Halo home hub cost?"]) == 0
    captured = capsys.readouterr()
    assert "building the demo index" in captured.err
    assert "249 crowns" in json.loads(captured.out)["answer"]
    assert main(["stats", "--demo", "--index", str(index), "--json"]) == 0
    assert "building" not in capsys.readouterr().err  # built once


def test_version_is_the_installed_one_or_pyproject_s(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib.metadata
    import tomllib

    declared = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"newsqa {importlib.metadata.version('newsqa')}"

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)  # run from a source tree, not installed
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"newsqa {declared['version']}"
