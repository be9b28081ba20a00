"""Watched folders: files created or changed under them are ingested once they have stopped changing (so a file
still being written is never ingested half), optionally the articles of deleted files are removed. File events
come from watchfiles (inotify on Linux); a file counts as settled when no event came for it and its size and
modification time stayed the same for `settle` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from index.embed import Embedder
from qa.engine import ingest, writer
from qa.settings import Settings

log = logging.getLogger(__name__)

_TEMPORARY = (".tmp", ".part", ".partial", ".swp", ".swx", ".crdownload", ".download", "~")


def _signature(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class Watcher:
    """Watches dirs and keeps the index in step with them; run() blocks until stop is set (or Ctrl-C)."""

    def __init__(self, settings: Settings, dirs: Sequence[Path], *, remove_deleted: bool = False, lock: Any = None,
                 get_embedder: Callable[[], Embedder] | None = None, on_change: Callable[[], None] | None = None,
                 settle: float | None = None, initial: bool = True) -> None:
        self.settings = settings
        self.dirs = [os.path.abspath(d) for d in dirs]
        self.remove_deleted = remove_deleted
        self.lock = lock  # the service's one-writer lock
        self.get_embedder = get_embedder
        self.on_change = on_change
        self.settle = settings.watch_settle if settle is None else settle
        self.initial = initial  # ingest what the folders already hold first (files dropped while not watching)
        self.stop = threading.Event()
        self.ready = threading.Event()  # set once the first scan is done and events are being watched

    def ignored(self, path: str) -> bool:
        name = os.path.basename(path)
        if name.startswith(".") or name.lower().endswith(_TEMPORARY):
            return True
        index = os.path.abspath(self.settings.index_dir)
        return path == index or path.startswith(index + os.sep)

    def run(self, on_report: Callable[[str], None] | None = None) -> None:
        import watchfiles

        report = on_report or (lambda line: log.info("%s", line))
        if self.initial:
            self._ingest(self.dirs, report)
        pending: dict[str, tuple[float, tuple[int, int] | None]] = {}  # path -> (last seen changing, signature)
        deleted: set[str] = set()
        tick = max(min(self.settle / 2, 1.0), 0.05)
        self.ready.set()
        with contextlib.suppress(KeyboardInterrupt):
            for changes in watchfiles.watch(*self.dirs, stop_event=self.stop, yield_on_timeout=True,
                                            rust_timeout=int(tick * 1000), debounce=int(tick * 1000), step=20,
                                            raise_interrupt=True):
                now = time.monotonic()
                for change, path in changes:
                    if self.ignored(path):
                        continue
                    if change == watchfiles.Change.deleted:
                        pending.pop(path, None)
                        if self.remove_deleted:
                            deleted.add(path)
                    elif os.path.isfile(path):
                        pending[path] = (now, _signature(path))
                        deleted.discard(path)
                settled = []
                for path, (since, signature) in list(pending.items()):
                    current = _signature(path)
                    if current != signature:  # still being written, events or not
                        pending[path] = (now, current)
                    elif now - since >= self.settle:
                        settled.append(path)
                        del pending[path]
                if settled:
                    self._ingest([p for p in settled if os.path.isfile(p)], report)
                if deleted:
                    self._remove(sorted(deleted), report)
                    deleted.clear()

    def _ingest(self, paths: Sequence[str], report: Callable[[str], None]) -> None:
        if not paths:
            return
        try:
            with self.lock or contextlib.nullcontext():
                result = ingest(self.settings, list(paths), get_embedder=self.get_embedder)
        except Exception:  # noqa: BLE001 - one bad batch must not stop the watcher
            log.exception("watch: ingesting %s failed", ", ".join(paths))
            return
        report(f"watch: {', '.join(paths)}: {len(result.new)} new, {len(result.updated)} updated, "
               f"{result.unchanged} unchanged, {len(result.skipped)} skipped"
               + "".join(f"\n  skipped {s.where}: {s.reason}" for s in result.skipped))
        if (result.new or result.updated) and self.on_change:
            self.on_change()

    def _remove(self, paths: Sequence[str], report: Callable[[str], None]) -> None:
        try:
            with self.lock or contextlib.nullcontext(), writer(self.settings, get_embedder=self.get_embedder) as w:
                ids: list[str] = []
                for path in paths:  # the origins ingest gives a file's records: path, path:line, path[n], path:row
                    ids += [r[0] for r in w.conn.execute(
                        "SELECT id FROM articles WHERE origin = ? OR substr(origin, 1, ?) IN (?, ?)",
                        (path, len(path) + 1, path + ":", path + "["))]
                result = w.remove(ids) if ids else None
        except Exception:  # noqa: BLE001
            log.exception("watch: removing the articles of %s failed", ", ".join(paths))
            return
        if result is not None:
            report(f"watch: deleted {', '.join(paths)}: {len(result.removed)} articles removed")
            if self.on_change:
                self.on_change()
