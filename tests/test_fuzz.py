"""schemathesis against the running service's OpenAPI schema, with and without the API key: no 5xx, and every
response matches the schema (status codes, content types, headers, bodies). Bounded: a few examples per route."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.settings import Settings
from tests.service import Server

KEY = "fuzz-key-7b2e91"
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")


@pytest.fixture(scope="module")
def live(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    base = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(demo_settings.index_dir, base / "index")  # fuzzed writes land in a copy
    log = base / "server.log"
    srv = Server(base / "index", api_key=KEY, env={"NEWSQA_RATE_LIMIT": "0", "NEWSQA_LOG_LEVEL": "DEBUG"}, log=log)
    yield srv, log
    srv.stop()


@pytest.mark.slow
@pytest.mark.parametrize("with_key", [True, False], ids=["with-key", "without-key"])
def test_schemathesis_finds_no_server_error_or_schema_violation(live: tuple[Server, Path], with_key: bool,
                                                               tmp_path: Path) -> None:
    srv, log = live
    report = tmp_path / "report.json"
    cmd = [str(Path(sys.executable).with_name("schemathesis")), "run", f"{srv.url}/openapi.json", "-c", CHECKS,
           "-n", "8", "--seed", "20261125", "--report", "ndjson", "--report-ndjson-path", str(report)]
    if with_key:
        cmd += ["-H", f"Authorization: Bearer {KEY}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:]
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    assert len(events) > 10  # it really ran
    assert "Tested: 11" in done.stdout or "Tested:" in done.stdout
    assert KEY not in log.read_text(errors="replace")  # debug logs of every fuzzed request hold no key
