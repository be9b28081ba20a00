"""Each benchmark script runs end to end on a tiny input (figures are not asserted: benches are not timed tests)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from corpus.demo import demo_dir
from qa.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEMO = demo_dir() / "articles.jsonl"

pytestmark = pytest.mark.slow


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def onnx_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("NEWSQA_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "bench-onnx-cache"))


def test_scale_bench_runs(tmp_path: Path) -> None:
    scale = _bench("scale")

    out = tmp_path / "scale.json"
    assert scale.main(["--sizes", "3000", "--queries", "20", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["kind"].split()[0][:3] for r in rows] == ["exa", "IVF"]
    assert all(0 <= r["recall_at_10"] <= 1 for r in rows)


def test_update_bench_runs(tmp_path: Path, onnx_env: None) -> None:
    update = _bench("update")

    out = tmp_path / "update.json"
    assert update.main(["--corpus", str(DEMO), "--limit", "6", "--new", "2", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["articles"] == 6 and result["update_articles"] == 2 and result["update_embedded"] > 0


def test_ingest_bench_runs(tmp_path: Path, onnx_env: None) -> None:
    ingest = _bench("ingest")

    out = tmp_path / "ingest.json"
    assert ingest.main(["--corpus", str(DEMO), "--limit", "3", "--no-txtai", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["backend"] for r in rows] == ["torch", "onnx-int8"]
    assert all(r["embedded_texts"] > 0 and r["raw_encode_passages_per_s"] > 0 for r in rows)


def test_batching_bench_runs(tmp_path: Path, onnx_env: None) -> None:
    batching = _bench("batching")

    out = tmp_path / "batching.json"
    assert batching.main(["--corpus", str(DEMO), "--limit", "4", "--batch", "4", "--rounds", "1",
                          "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["texts"] > 4 and result["speedup_batch_over_1_median"] > 0 and result["repeat_identical"]
    assert 0.9 < result["cosine_batched_vs_alone_min"] <= result["cosine_batched_vs_alone_mean"] < 1.0


def test_query_bench_runs(tmp_path: Path, demo_settings: Settings) -> None:
    query = _bench("query")

    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"question": q, "date": "2024-10-01"}) + "\n" for q in
                                 ["How much will Lumora's Halo home hub cost?", "Who won the mayoral election?"]))
    out = tmp_path / "query.json"
    assert query.main(["--index", str(demo_settings.index_dir), "--questions", str(questions), "--concurrency",
                       "1", "2", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["startup_ready_s"] > 0 and result["server_memory_mb"]["VmRSS"] > 0
    assert all(r["errors"] == 0 for r in result["rows"])
    systems = {r["system"] for r in result["rows"]}
    assert systems >= {"newsqa /api/search", "newsqa /api/ask", "newsqa search (in-process)"}
    if importlib.util.find_spec("txtai") is not None:  # the bench extra: txtai's rows, dense and like for like
        assert systems >= {"txtai search (dense, in-process)", "txtai hybrid + content + as-of"}
        hybrid = result["txtai"]["hybrid_content_as_of"]
        assert hybrid["vectors"] > 0 and hybrid["with_onnx_query_embedder"]["errors"] == 0


def test_fusion_bench_runs(tmp_path: Path, demo_settings: Settings) -> None:
    fusion = _bench("fusion")

    titles = {a["title"]: a["id"] for a in map(json.loads, DEMO.read_text().splitlines())}
    asked = [q for q in map(json.loads, (ROOT / "tests" / "data" / "demo_questions.jsonl").read_text().splitlines())
             if q["title"] in titles][:4]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"question": q["question"], "gold_ids": [titles[q["title"]]]}) + "\n"
                                 for q in asked))
    out = tmp_path / "fusion.json"
    assert fusion.main(["--index", str(demo_settings.index_dir), "--questions", str(questions), "--json",
                        str(out)]) == 0
    rows = {r["config"]: r for r in json.loads(out.read_text())}
    assert {"rrf", "score-max w=0.7", "article w=0.3", "article w=0.7"} <= set(rows)
    assert all(r["questions"] == len(asked) == 4 for r in rows.values())
    assert all(0 <= r["mrr@10"] <= r["hits@10"] <= 1 for r in rows.values())


def test_ingest_cost_bench_runs(tmp_path: Path, onnx_env: None) -> None:
    ingest_cost = _bench("ingest_cost")
    has_baseline = subprocess.run(["git", "cat-file", "-e", f"{ingest_cost.BASELINE}^{{commit}}"], cwd=ROOT,
                                  capture_output=True).returncode == 0
    if not has_baseline:  # a shallow clone: the bench compares against a commit of the history
        pytest.skip(f"baseline commit {ingest_cost.BASELINE} is not in this clone (shallow?)")

    out = tmp_path / "ingest-cost.json"
    assert ingest_cost.main(["--corpus", str(DEMO), "--limit", "4", "--repeats", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    (row,) = result["rounds"]
    assert row["baseline"]["articles"] == row["current"]["articles"] == 4 and row["ratio"] > 0
    assert all(n is None for n in result["index_tables"]["baseline"].values())  # before issue 24: no such tables
    assert result["index_tables"]["current"]["actors"] > 0 and result["index_tables"]["current"]["stories"] > 0


def test_ingest_cost_bench_says_when_its_data_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ingest-cost.json"
    assert _bench("ingest_cost").main(["--corpus", str(tmp_path / "absent.jsonl"), "--json", str(out)]) == 2
    assert "../shared/data" in capsys.readouterr().err and not out.exists()
