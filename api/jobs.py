"""Background jobs (index rebuilds) with progress, run one at a time in a worker thread."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    kind: str
    state: str = "queued"
    progress: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    finished_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, work: Callable[[Callable[[str, int, int], None]], dict[str, Any]]) -> Job:
        """Run work(report_progress) in a thread; its return value becomes the job's result."""
        job = Job(id=uuid.uuid4().hex[:12], kind=kind)
        with self._lock:
            self._jobs[job.id] = job

        def progress(stage: str, done: int, total: int) -> None:
            job.progress = {"stage": stage, "done": done, "total": total}

        def run() -> None:
            job.state = "running"
            try:
                job.result = work(progress)
                job.state = "done"
            except Exception as exc:  # noqa: BLE001 - a failed job is reported through its status
                log.exception("job %s failed", job.id)
                job.error = f"{type(exc).__name__}: {exc}"
                job.state = "failed"
            job.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

        threading.Thread(target=run, name=f"job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)
