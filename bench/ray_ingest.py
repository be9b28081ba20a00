"""A local ingest against the same ingest on Ray (`newsqa ingest --ray local`), each a fresh CLI process into an
empty index: wall time as a user sees it (model load, and the Ray start for the Ray one, included).

    .venv/bin/python bench/ray_ingest.py [--corpus PATH ...] [--ray ADDRESS] [--json OUT]

Both indexes are then compared: article ids, chunk ids and texts, largest vector difference.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import conditions, write_json  # noqa: E402 - after the path is set


def run(paths: list[str], index: Path, ray: str | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "cli", "ingest", *paths, "--index", str(index), "--json", "--quiet"]
    if ray is not None:
        command.append(f"--ray={ray}")
    load = os.getloadavg()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    return {"wall_s": round(wall, 1), "articles": report["new"], "skipped": len(report["skipped"]),
            "chunks": report["chunks_added"], "embedded": report["embedded"], "seconds": report["seconds"],
            # the machine is shared: the load around each run says how comparable the two are
            "load_average_1_5_15_before": [round(x, 2) for x in load],
            "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()]}


def contents(index: Path) -> tuple[list[Any], list[Any], np.ndarray]:
    conn = sqlite3.connect(index / "meta.sqlite")
    try:
        articles = conn.execute("SELECT id, content_hash FROM articles ORDER BY id").fetchall()
        chunks = conn.execute('SELECT c.id, c.article_id, substr(a.text, c.start + 1, c."end" - c.start) '
                              "FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id").fetchall()
        rows = conn.execute("SELECT e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash "
                            "ORDER BY c.id").fetchall()
    finally:
        conn.close()
    return articles, chunks, np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="+", default=None, help="inputs (default: the bundled demo archive)")
    parser.add_argument("--ray", default="local", help="Ray address (default: a Ray of this machine only)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "ray-ingest.json")
    args = parser.parse_args()
    from corpus.demo import demo_dir

    paths = args.corpus or [str(demo_dir())]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="newsqa-ray-bench-") as tmp:
        local = run(paths, Path(tmp) / "local", None)
        print(f"local: {local}")
        on_ray = run(paths, Path(tmp) / "ray", args.ray)
        print(f"ray:   {on_ray}")
        a_local, c_local, v_local = contents(Path(tmp) / "local")
        a_ray, c_ray, v_ray = contents(Path(tmp) / "ray")
    same = {"articles": a_local == a_ray, "chunks": c_local == c_ray,
            "max_vector_difference": float(np.abs(v_local - v_ray).max()) if v_local.shape == v_ray.shape else None}
    print(f"same index: {same}")
    write_json(args.json, {"corpus": [Path(p).name for p in paths], "ray_address": args.ray,
                           "local": local, "ray": on_ray, "same": same, **conditions(load)})


if __name__ == "__main__":
    main()
