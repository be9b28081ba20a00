"""Bounded load test: N concurrent clients ask and search a real newsqa server for a fixed time (loopback only).

    python bench/load.py --demo                       # starts a server on the demo index, 16 clients, 30 s
    python bench/load.py --url http://127.0.0.1:8000  # an already running server
    python bench/load.py --index DIR --clients 8 --duration 20 --json bench/results/load.json

Each client alternates POST /api/ask and POST /api/search with questions from a JSONL file (default: the demo
questions of the test suite). Prints requests, errors, throughput and p50/p95/p99 latency per endpoint and
writes them as JSON. Any non-200 answer or connection error counts as an error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import Server  # noqa: E402 - after the path is set

DEFAULT_QUESTIONS = ROOT / "tests" / "data" / "demo_questions.jsonl"
ENDPOINTS = ("/api/ask", "/api/search")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _client(url: str, questions: list[str], offset: int, stop_at: float, out: dict[str, Any],
            lock: threading.Lock) -> None:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    i = offset
    while time.perf_counter() < stop_at:
        endpoint = ENDPOINTS[i % 2]
        question = questions[i % len(questions)]
        body = json.dumps({"question": question} if endpoint == "/api/ask" else {"query": question, "k": 10})
        started = time.perf_counter()
        try:
            conn.request("POST", endpoint, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            payload = response.read()
            ok = response.status == 200 and payload.startswith(b"{")
            error = None if ok else f"{response.status}: {payload[:200]!r}"
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        elapsed = time.perf_counter() - started
        with lock:
            out[endpoint]["latencies"].append(elapsed)
            if error:
                out[endpoint]["errors"].append(error)
        i += 1
    conn.close()


def run_load(url: str, questions: list[str], clients: int = 16, duration: float = 30.0) -> dict[str, Any]:
    """Drive the server for `duration` seconds; figures per endpoint and in total."""
    out: dict[str, Any] = {e: {"latencies": [], "errors": []} for e in ENDPOINTS}
    lock = threading.Lock()
    started = time.perf_counter()
    stop_at = started + duration
    threads = [threading.Thread(target=_client, args=(url, questions, n, stop_at, out, lock)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    result: dict[str, Any] = {"clients": clients, "duration_s": round(wall, 2), "endpoints": {}}
    for endpoint, data in out.items():
        lat = data["latencies"]
        result["endpoints"][endpoint] = {
            "requests": len(lat), "errors": len(data["errors"]), "error_samples": data["errors"][:5],
            "throughput_rps": round(len(lat) / wall, 2), "p50_ms": round(percentile(lat, 50) * 1000, 1),
            "p95_ms": round(percentile(lat, 95) * 1000, 1), "p99_ms": round(percentile(lat, 99) * 1000, 1)}
    result["requests"] = sum(e["requests"] for e in result["endpoints"].values())
    result["errors"] = sum(e["errors"] for e in result["endpoints"].values())
    result["throughput_rps"] = round(result["requests"] / wall, 2)
    return result


def load_questions(path: Path) -> list[str]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            questions.append(record.get("question") or record.get("query"))
    return [q for q in questions if q]


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['clients']} clients for {result['duration_s']} s: {result['requests']} requests, "
          f"{result['errors']} errors, {result['throughput_rps']} requests/s")
    print(f"{'endpoint':<14}{'requests':>10}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for endpoint, e in result["endpoints"].items():
        print(f"{endpoint:<14}{e['requests']:>10}{e['errors']:>8}{e['throughput_rps']:>9}{e['p50_ms']:>9}"
              f"{e['p95_ms']:>9}{e['p99_ms']:>9}")
        for sample in e["error_samples"]:
            print(f"    error: {sample}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server (loopback)")
    where.add_argument("--index", type=Path, help="start a server on this index")
    where.add_argument("--demo", action="store_true", help="start a server on the bundled demo archive")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds (at most 60)")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="JSONL with 'question' fields")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 60:
        parser.error("--duration must be in (0, 60] seconds: this is a bounded test")
    if args.url and urllib.parse.urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address: never load-test someone else's server")
    server = None if args.url else Server(args.index, demo=args.demo)
    try:
        result = run_load(args.url or server.url, load_questions(args.questions), args.clients, args.duration)
    finally:
        if server:
            server.stop()
    result.update(date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), machine=platform.machine(),
                  cpus=os.cpu_count())
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
