"""A real newsqa server (uvicorn, own process) on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, index_dir: Path, api_key: str | None = None, env: dict[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "NEWSQA_INDEX": str(index_dir), "NEWSQA_PORT": str(self.port),
               "NEWSQA_LOG_LEVEL": "WARNING",
               # a module's tests share one client address and together ask more than the default 120 a
               # minute; the tests of the limit itself set NEWSQA_RATE_LIMIT
               "NEWSQA_RATE_LIMIT": "0", **(env or {})}
        env.pop("NEWSQA_API_KEY", None)
        if api_key:
            env["NEWSQA_API_KEY"] = api_key
        self.log = log
        output = open(log, "wb") if log else subprocess.PIPE  # noqa: SIM115 - closed with the process
        quiet = [] if log else ["-q"]
        self.proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", *quiet], cwd=ROOT, env=env,
                                     stdout=output, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            try:
                if self.get("/api/health")[1].get("status") == "ok":
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                output = (self.proc.stdout.read().decode() if self.proc.stdout else
                          log.read_text(errors="replace") if log else "")
                self.stop()
                raise RuntimeError(f"server did not start:\n{output}")
            time.sleep(0.3)

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
                ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=120) as response:
                raw = response.read().decode()
                status = response.status
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raw, status, kind = error.read().decode(), error.code, error.headers.get("Content-Type", "")
        return status, (json.loads(raw) if "json" in kind else raw)

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        return self.request("POST", path, body, **kwargs)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
