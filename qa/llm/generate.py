"""Answers in the requested mode: extractive (quoted sentences), generative (a model writes from the passages the
extractive answer reads, every sentence verified) or auto (generative when a backend is configured).

The extractive answer is always made first: it is what the user gets when the model is absent, slow, wrong or
entirely unsupported, and it costs a fraction of the model's time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qa.answer import Answer, Answerer, Citation
from qa.llm.backend import Backend, BackendFailed
from qa.llm.context import Passage, messages, pack, prompt_tokens
from qa.llm.verify import Unsupported, VerifyParams, verify
from qa.search import Query


@dataclass
class Result:
    """An answer and how it was made."""

    answer: Answer
    mode: str  # which mode answered: "extractive" or "generative"
    unsupported: list[Unsupported] = field(default_factory=list)  # generated sentences removed, with why
    note: str | None = None  # why a generative answer was asked for and an extractive one given
    generated: str = ""  # the model's own text, before verification

    def to_dict(self) -> dict[str, Any]:
        return {**self.answer.to_dict(), "mode": self.mode, "unsupported": [u.to_dict() for u in self.unsupported],
                "note": self.note, "generated": self.generated}


@dataclass(frozen=True)
class Prepared:
    query: Query
    extractive: Answer
    passages: list[Passage]


class Generator:
    def __init__(self, answerer: Answerer, backend: Backend | None, context_tokens: int = 1500,
                 default_mode: str = "extractive", params: VerifyParams | None = None) -> None:
        self.answerer = answerer
        self.backend = backend
        self.context_tokens = context_tokens
        self.default_mode = default_mode
        self.params = params or VerifyParams()

    def warm_up(self) -> None:
        """Import the openai client and build it now: its import alone takes a second of the first deadline."""
        if self.backend is not None:
            self.backend.client()

    def generative(self, mode: str | None) -> bool:
        mode = mode or self.default_mode
        return mode == "generative" or (mode == "auto" and self.backend is not None)

    def prepare(self, query: Query) -> Prepared:
        """The extractive answer and the passages it read (with their neighbours), from one index generation."""
        a = self.answerer
        with a.searcher.reader.snapshot():
            scored = a.score(query)
            extractive = a._compose(scored)
            vector = a.searcher.embed_query(query.text)
            neighbours = [p for hit in scored.hits[:a.params.more_passages_of]
                          for p in a.searcher.next_passages(hit, query.text, vector, 1)]
        passages = pack(scored.hits, neighbours, self.context_tokens, prompt_tokens(query.text))
        return Prepared(query, extractive, passages)

    def answer(self, query: Query, mode: str | None = None) -> Result:
        """The answer in mode (None: NEWSQA_LLM_MODE)."""
        events = self.events(query, mode, stream=False)
        for kind, value in events:
            if kind == "done":
                return value
        raise AssertionError("events() always ends with done")

    def events(self, query: Query, mode: str | None = None, stream: bool = True) -> Iterator[tuple[str, Any]]:
        """("token", text) as the model writes (when generating), then ("done", Result)."""
        started = time.monotonic()
        if not self.generative(mode):
            yield "done", Result(self.answerer.answer(query), "extractive")
            return
        if self.backend is None:
            yield "done", Result(self.answerer.answer(query), "extractive",
                                 note="no generative backend is configured (NEWSQA_LLM_URL): extractive answer")
            return
        prepared = self.prepare(query)
        if not prepared.passages:
            yield "done", Result(prepared.extractive, "extractive", note="no passages to write from")
            return
        deadline = started + self.backend.config.timeout
        pieces: list[str] = []
        try:
            for piece in self.backend.tokens(messages(query.text, prepared.passages, _as_of(query)), deadline,
                                             stream):
                pieces.append(piece)
                if stream:
                    yield "token", piece
        except BackendFailed as exc:
            self.backend.faults.report(self.backend.config.url, str(exc))
            yield "done", Result(prepared.extractive, "extractive", note=f"{exc}: extractive answer",
                                 generated="".join(pieces))
            return
        yield "done", self.checked("".join(pieces), prepared)

    def checked(self, text: str, prepared: Prepared) -> Result:
        """The generated text verified: the supported sentences as the answer, each citing its supporting quote;
        the extractive answer when none is supported."""
        if not text.strip():
            return Result(prepared.extractive, "extractive", note="the model's answer was empty: extractive answer")
        supported, unsupported = verify(text, prepared.passages, self.answerer.searcher.embedder, self.params)
        if not supported:
            why = "; ".join(f"'{u.text}': {u.reason}" for u in unsupported[:3]) or "no sentences"
            return Result(prepared.extractive, "extractive", unsupported, generated=text,
                          note=f"no generated sentence was supported by the passages ({why}): extractive answer")
        citations: list[Citation] = []
        numbers: dict[tuple[str, int], int] = {}
        sentences = []
        for s in supported:
            key = (s.passage.hit.article_id, s.start)
            if key not in numbers:
                numbers[key] = len(citations) + 1
                hit = s.passage.hit
                citations.append(Citation(n=numbers[key], article_id=hit.article_id, title=hit.title, date=hit.date,
                                          source=hit.source, url=hit.url, quote=s.quote, start=s.start, end=s.end,
                                          chunk_id=hit.chunk_id, score=s.score))
            sentences.append(f"{s.claim.text} [{numbers[key]}]")
        answer = Answer(prepared.extractive.question, " ".join(sentences), citations,
                        actors=self.answerer._actors(citations), confidence=min(s.score for s in supported))
        return Result(answer, "generative", unsupported, generated=text)


def _as_of(query: Query) -> dt.date | None:
    return query.as_of
