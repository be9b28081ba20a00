"""What every benchmark records beside its figures, and how it writes them."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def conditions(load_before: tuple[float, float, float]) -> dict[str, Any]:
    """Date, machine and load average before/after: other work on a shared machine skews every figure."""
    return {"date": time.strftime("%Y-%m-%d"),
            "load_average_1_5_15_before": [round(x, 2) for x in load_before],
            "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}


def write_json(path: Path, result: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


class Server:
    """`newsqa serve` in its own process on a loopback port, rate limit off (one client address sends everything).

    `started` is when the process was launched and `ready_s` how long until /api/health said ok.
    """

    def __init__(self, index: Path | None = None, *, demo: bool = False, port: int = 0, timeout: float = 300) -> None:
        if not port:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "NEWSQA_PORT": str(port), "NEWSQA_HOST": "127.0.0.1", "NEWSQA_RATE_LIMIT": "0",
               "NEWSQA_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        if index:
            env["NEWSQA_INDEX"] = str(index)
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: nobody has to drain it while the bench runs
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "-q", *(["--demo"] if demo else [])],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        while time.perf_counter() - self.started < timeout:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("server exited: " + self.log.read().decode(errors="replace")[-2000:])
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=5) as response:
                    if json.loads(response.read()).get("status") == "ok":
                        self.ready_s = time.perf_counter() - self.started
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not ready within {timeout:.0f} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
