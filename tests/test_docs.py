"""The user's documents: docs/benchmarks.md is what bench/render_docs.py makes of bench/results/, and the README
stays short and documents every setting there is."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from qa.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VARIABLE = re.compile(r"`(NEWSQA_[A-Z0-9_]+)`")


@pytest.fixture(scope="module")
def render_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_render_docs", ROOT / "bench" / "render_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _configuration_table() -> list[str]:
    """The table rows of the README's Configuration section."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert section, "README has no '## Configuration' section"
    return [line for line in section.group(1).splitlines() if line.startswith("|")]


def test_benchmarks_page_is_current(render_docs: ModuleType) -> None:
    written = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")

    assert written == render_docs.render(ROOT / "bench" / "results"), (
        "docs/benchmarks.md is out of date: run `.venv/bin/python bench/render_docs.py` and commit it")


def test_every_results_file_has_a_section(render_docs: ModuleType) -> None:
    text = render_docs.render(ROOT / "bench" / "results")

    for path in sorted((ROOT / "bench" / "results").glob("*.json")):
        assert f"`bench/results/{path.name}`" in text


def test_an_unknown_results_file_renders_and_check_reports_staleness(render_docs: ModuleType,
                                                                     tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "answers-cv.json").write_text(json.dumps({
        "cross_validated": {"news-dev": {"answered": 0.8, "questions": 79}},
        "html_by_outlet": {"dw": {"answered": 0.6, "questions": 12}},
        "data_version": "abc123", "questions": 91, "training_data": ["html.jsonl.gz"]}))
    (results / "new-bench.json").write_text(json.dumps({"rows": [{"system": "x", "p50_ms": 12.345}], "date": "d"}))
    out = tmp_path / "benchmarks.md"

    assert render_docs.main(["--results", str(results), "--out", str(out), "--check"]) == 1  # missing
    assert render_docs.main(["--results", str(results), "--out", str(out)]) == 0
    assert render_docs.main(["--results", str(results), "--out", str(out), "--check"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "## Answer model, cross-validated" in text and "newsqa train fit" in text
    assert "| dw | 0.600 | 12 |" in text
    assert "## new-bench" in text and "| x | 12.35 |" in text
    out.write_text(text.replace("0.600", "0.601"), encoding="utf-8")
    assert render_docs.main(["--results", str(results), "--out", str(out), "--check"]) == 1


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")

    assert lines <= 300, f"README.md has {lines} lines; measurements go to docs/benchmarks.md"


def test_readme_configuration_table_lists_every_setting() -> None:
    documented = {v for row in _configuration_table() for v in VARIABLE.findall(row.split("|")[1])}

    assert set(Settings.ENV.values()) - documented == set(), "settings missing from the README's table"
    assert documented - set(Settings.ENV.values()) == set(), "the README's table names settings that do not exist"


def test_readme_links_into_docs_resolve() -> None:
    links = re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#]*)", README.read_text(encoding="utf-8"))

    assert links, "README links to nothing in docs/"
    for link in links:
        assert (ROOT / link).is_file(), f"README links to {link}, which does not exist"
