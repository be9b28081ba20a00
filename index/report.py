"""What an update did: the report an update returns, and its record in the store's run log."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from corpus.readers import Skipped
from index import store


@dataclass
class UpdateReport:
    """What an update did; new + updated + unchanged + duplicates + skipped = input records."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    duplicates: int = 0  # the same record again in the input (same id, same content)
    removed: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    embedded: int = 0  # texts run through the model
    reused: int = 0  # texts whose vectors were cached or shared with an identical chunk
    seconds: dict[str, float] = field(default_factory=dict)
    generation: int = 0
    stories_touched: int = 0  # stories the update created, changed or emptied (index.stories)

    @property
    def records(self) -> int:
        return len(self.new) + len(self.updated) + self.unchanged + self.duplicates + len(self.skipped)

    def absorb(self, other: UpdateReport) -> None:
        """Add another batch's report to this one."""
        for name in ("new", "updated", "removed", "not_found", "skipped"):
            getattr(self, name).extend(getattr(other, name))
        for name in ("unchanged", "duplicates", "chunks_added", "chunks_removed", "embedded", "reused",
                     "stories_touched"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for stage, seconds in other.seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.generation = max(self.generation, other.generation)

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": len(self.new), "updated": len(self.updated), "unchanged": self.unchanged,
            "duplicates": self.duplicates, "removed": len(self.removed), "not_found": self.not_found,
            "skipped": [{"where": s.where, "reason": s.reason} for s in self.skipped],
            "records": self.records, "chunks_added": self.chunks_added, "chunks_removed": self.chunks_removed,
            "embedded": self.embedded, "reused": self.reused, "stories_touched": self.stories_touched,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()}, "generation": self.generation,
        }


def log_run(conn: sqlite3.Connection, kind: str, started: str, inputs: Sequence[str], report: UpdateReport
            ) -> None:
    """One transaction: the run, every skipped record with its reason, every article it touched."""
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute(
        "INSERT INTO runs(kind, started_at, finished_at, inputs, new, updated, unchanged, removed, skipped)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        (kind, started, store.now(), json.dumps([str(i) for i in inputs]), len(report.new),
         len(report.updated), report.unchanged, len(report.removed), len(report.skipped)))
    conn.executemany('INSERT INTO skipped(run_id, "where", reason) VALUES (?,?,?)',
                     [(cur.lastrowid, s.where, s.reason) for s in report.skipped])
    conn.executemany("INSERT INTO run_articles(run_id, article_id, action) VALUES (?,?,?)",
                     [(cur.lastrowid, article_id, action) for action, ids in
                      (("new", report.new), ("updated", report.updated), ("removed", report.removed))
                      for article_id in ids])
    conn.execute("COMMIT")
