"""Hostile input (tests/hostile.py) through the real `newsqa ingest`: nothing crashes or hangs, every good record
is ingested, every bad one is reported with where and why, the counts add up, and memory stays bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from index import store
from tests.hostile import generate

ROOT = Path(__file__).resolve().parents[1]


def _ingest(index: Path, path: Path) -> tuple[int, dict, int]:
    """Exit code, JSON report and peak resident memory (kB) of one `newsqa ingest --json` process."""
    env = {**os.environ, "NEWSQA_INDEX": str(index)}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "ingest", "--json", "-q", str(path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda name=name, pipe=pipe: output.__setitem__(name, pipe.read()))
               for name, pipe in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    timer = threading.Timer(600, proc.kill)  # a hang fails the test instead of stalling CI
    timer.start()
    # wait4 rather than wait: it also returns the child's own resource usage, peak memory included
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    assert output["out"], output["err"].decode(errors="replace")[-2000:]
    return proc.returncode, json.loads(output["out"]), usage.ru_maxrss


@pytest.mark.slow
def test_hostile_archive_is_ingested_and_every_bad_record_reported(tmp_path: Path) -> None:
    archive = tmp_path / "hostile"
    expected = generate(archive)
    code, report, _ = _ingest(tmp_path / "index", archive)

    assert code == 1  # exit 1: done, with skipped records
    assert report["records"] == expected.records, report
    assert report["new"] == len(expected.good)
    assert report["duplicates"] == expected.duplicates
    assert len(report["skipped"]) == len(expected.bad)
    for where, reason in expected.bad:
        assert any(where in s["where"] and reason in s["reason"] for s in report["skipped"]), (where, reason)
    assert all(s["where"] and s["reason"] for s in report["skipped"])

    conn = store.connect(tmp_path / "index", readonly=True)
    assert set(store.article_hashes(conn)) == expected.good
    for article_id in expected.no_script:
        text = store.get_article(conn, article_id)["text"]
        for code_piece in ("alert(", "<script", "onerror", "onclick", "color:red", "steal(", "javascript:"):
            assert code_piece not in text
    chunks = conn.execute("SELECT COUNT(*) FROM chunks WHERE article_id='one-sentence'").fetchone()[0]
    assert chunks >= 20  # a 50,000-character sentence is cut by tokens, not stored as one giant passage
    dates = [r[0] for r in conn.execute("SELECT date FROM articles WHERE id LIKE 'odd-date-%'")]
    assert "9999-12-31" not in dates and all(d is None or len(d) == 10 for d in dates)
    stored = store.get_article(conn, "rtl-and-emoji")["text"]
    assert "\u202e" not in stored and "🚢" in stored  # bidi overrides removed, emoji kept

    run = json.loads(subprocess.run([sys.executable, "-m", "cli", "stats", "--json"], cwd=ROOT, check=True,
                                    env={**os.environ, "NEWSQA_INDEX": str(tmp_path / "index")},
                                    capture_output=True, text=True).stdout)
    last = run["runs"][0]  # the run log keeps what was ingested and what was skipped, with reasons
    assert last["skipped"] == len(last["skipped_records"]) == len(expected.bad)
    assert {r["where"] for r in last["skipped_records"]} == {s["where"] for s in report["skipped"]}
    assert set(last["articles"]["new"]) == expected.good


@pytest.mark.slow
def test_memory_stays_bounded_with_a_20_mb_article(tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text(json.dumps({"id": "s", "text": "The ferry to Orsk left on time this morning."}) + "\n")
    _, _, base = _ingest(tmp_path / "a", small)
    big = tmp_path / "big.jsonl"
    line = "The Orsk port authority published its tender documents today. " * 330_000
    big.write_text(json.dumps({"id": "s", "text": "The ferry to Orsk left on time this morning."}) + "\n"
                   + json.dumps({"id": "big", "text": line}) + "\n")
    code, report, peak = _ingest(tmp_path / "b", big)
    assert report["new"] == 1 and "over the limit" in report["skipped"][0]["reason"]
    print(f"peak RSS: tiny ingest {base} kB, with the 20 MB record {peak} kB")
    # kB: a 20 MB record costs a few copies of itself, not more (and the measurement is real: > 100 MB)
    assert base > 100_000 and peak - base < 250_000, (base, peak)
