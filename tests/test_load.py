"""A bounded load test (loopback, 16 clients, 20 s) on the demo archive: zero errors. Figures are printed;
`python bench/load.py --demo --json bench/results/load.json` is the benchmark run of the same code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.load import load_questions, print_table, run_load
from qa.settings import Settings
from tests.service import Server

QUESTIONS = Path(__file__).parent / "data" / "demo_questions.jsonl"


@pytest.mark.slow
def test_sixteen_clients_for_twenty_seconds_get_no_error(demo_settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(demo_settings.index_dir, tmp_path / "index")
    srv = Server(tmp_path / "index", env={"NEWSQA_RATE_LIMIT": "0"})
    try:
        result = run_load(srv.url, load_questions(QUESTIONS), clients=16, duration=20)
    finally:
        srv.stop()
    print_table(result)
    assert result["errors"] == 0, [e["error_samples"] for e in result["endpoints"].values()]
    assert all(e["requests"] >= 16 for e in result["endpoints"].values()), result  # every client got answers
