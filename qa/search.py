"""Passage retrieval: the question's embedding against the chunk vectors."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from index.embed import Embedder
from index.reader import IndexReader


@dataclass(frozen=True)
class Hit:
    """A retrieved passage; text == article text[start:end]."""

    chunk_id: int
    article_id: str
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    text: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = round(self.score, 4)
        return out


class Searcher:
    def __init__(self, reader: IndexReader, embedder: Embedder) -> None:
        self.reader = reader
        self.embedder = embedder

    def embed_query(self, query: str) -> Any:
        return self.embedder.encode([query])[0]

    def search(self, query: str, k: int = 5, query_vector: Any = None) -> list[Hit]:
        self.reader.refresh()  # pick up what a writer committed since the last query
        vector = self.embed_query(query) if query_vector is None else query_vector
        found = self.reader.search(vector, k)
        rows = self.reader.chunks([chunk_id for chunk_id, _ in found])
        hits = []
        for chunk_id, score in found:
            row = rows.get(chunk_id)
            if row is None:
                continue  # removed by a writer between the vector search and this lookup
            hits.append(Hit(chunk_id=chunk_id, article_id=row["article_id"], title=row["title"],
                            date=row["date"], source=row["source"], url=row["url"], text=row["text"],
                            start=row["start"], end=row["end"], score=score))
        return hits
