"""Questions: /api/ask (JSON or server-sent events) and the OpenAI-compatible /v1 endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from api.deps import READ_ERRORS, EngineDep, RateLimited, SettingsDep
from api.models import MAX_QUESTION_CHARS, AnswerOut, AskRequest, ChatRequest, Filters
from api.openai_compat import completion, completion_chunks
from qa.conversation import Turn, resolve
from qa.engine import Engine
from qa.llm.generate import Result
from qa.search import Query
from qa.stories import coverage, newest_date
from qa.timeline import TimelineRequest, build_timeline, timeline_question

router = APIRouter()
STREAMED = {200: {"content": {"text/event-stream": {}}}}


@router.post("/api/ask", response_model=AnswerOut, summary="Answer a question with citations",
             dependencies=[RateLimited], responses={**STREAMED, **READ_ERRORS})
def ask(body: AskRequest, engine: EngineDep, settings: SettingsDep) -> Any:
    question = resolve(body.question, body.turns(), _type_of(engine))
    k = body.k if body.k is not None else settings.top_k  # NEWSQA_TOP_K, as /v1/chat/completions reads
    if body.stream:  # (a timeline question streamed is answered as any other)
        return StreamingResponse(_sse(engine, engine.generator.events(body.to_query(question, k), body.mode),
                                      question), media_type="text/event-stream")
    return answer_question(engine, body, question, k, body.mode)


def answer_question(engine: Engine, body: Filters, question: str, k: int, mode: str | None = None
                    ) -> dict[str, Any]:
    """The answer POST /api/ask gives without streaming (and the MCP ask tool): a timeline question as a
    timeline, any other in the mode asked, each citation with its story and the coverage of the subject."""
    wanted = timeline_question(question, body.as_of, newest_date(engine.reader))
    if wanted is not None:
        return _timeline_answer(engine, question, replace(wanted, actor=body.actor, since=body.since or wanted.since,
                                                          until=body.until or wanted.until))
    result = engine.generator.answer(body.to_query(question, k), mode)
    return _with_stories(engine, {**result.to_dict(), "resolved_question": question})


def _with_stories(engine: Engine, out: dict[str, Any]) -> dict[str, Any]:
    """Each citation's story id, and what the archive holds on the subject: the stories of the cited articles
    (of the nearest ones when abstaining)."""
    cited = [c["article_id"] for c in out["citations"]]
    nearest = [n["article_id"] for n in out.get("nearest", []) if n.get("article_id")]
    subject = cited or nearest[:1]
    stories = engine.reader.story_ids(sorted(set(cited + nearest)))
    for item in [*out["citations"], *out.get("nearest", [])]:
        item["story_id"] = stories.get(item.get("article_id", ""))
    out["coverage"] = coverage(engine.reader, subject[:3]).to_dict()
    return out


def _timeline_answer(engine: Engine, question: str, wanted: TimelineRequest) -> dict[str, Any]:
    """A timeline question answered as one: its events are the answer's lines and citations."""
    found = build_timeline(engine.reader, engine.searcher, wanted, actors=engine.actor_index)
    citations = [{"n": i, "article_id": e["article_id"], "title": e["title"], "date": e["date"],
                  "source": e["source"], "url": e["url"], "quote": e["quote"], "start": e["start"], "end": e["end"],
                  "chunk_id": -1, "score": 1.0, "field": e["field"], "cut": False, "story_id": e["story_id"]}
                 for i, e in enumerate(found.events, 1)]
    return {"question": question, "answer": found.answer_text(), "short_answer": None, "short_answers": [],
            "confidence": 1.0 if found.events else 0.0, "citations": citations, "abstained": not found.events,
            "nearest": [], "actors": [], "resolved_question": question, "coverage": found.coverage,
            "timeline": found.to_dict()}


def _type_of(engine: Engine) -> Callable[[str], str | None] | None:
    """The archive's actor types for pronoun resolution ("he" is a person), when the index has actors."""
    return engine.actor_index.type_of if engine.actor_index is not None else None


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _sse(engine: Engine, events: Iterator[tuple[str, Any]], resolved: str) -> Iterator[str]:
    """Generative: each piece of the model's text as a `token` event as it is written. Then each cited sentence
    of the (verified or extractive) answer as an `answer` event with its citation, and the whole answer, with
    the mode, the removed sentences and any note, as `done`."""
    for kind, value in events:
        if kind == "token":
            yield _event("token", {"delta": value})
            continue
        result: Result = value
        for delta, cited in _parts(result):
            yield _event("answer", {"delta": delta, "citations": cited})
        yield _event("done", _with_stories(engine, {**result.to_dict(), "resolved_question": resolved}))


def _parts(result: Result) -> list[tuple[str, list[dict[str, Any]]]]:
    answer = result.answer
    if not answer.citations:
        return [(answer.answer, [])]
    if result.mode == "extractive":  # one quoted sentence per citation
        return [(f"{c.shown} [{c.n}] ", [c.to_dict()]) for c in answer.citations]
    return [(answer.answer, [c.to_dict() for c in answer.citations])]


@router.get("/v1/models", summary="OpenAI-compatible model list")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": "newsqa", "object": "model", "created": 0, "owned_by": "newsqa"}]}


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat: the last user message is the question",
             dependencies=[RateLimited], responses={**STREAMED, **READ_ERRORS})
def chat(body: ChatRequest, engine: EngineDep, settings: SettingsDep) -> Any:
    turns = _turns(body)
    question = resolve(turns[-1].content, turns[:-1], _type_of(engine))
    query = Query(question, k=settings.top_k)
    if body.stream:
        return StreamingResponse(completion_chunks(engine.generator.events(query, body.mode), body.model),
                                 media_type="text/event-stream")
    return completion(engine.generator.answer(query, body.mode), body.model)


def _turns(body: ChatRequest) -> list[Turn]:
    """The conversation without system messages; 422 unless the last is a user's question that /api/ask would
    take (not empty, at most MAX_QUESTION_CHARS: it is never cut silently)."""
    turns = [Turn(m.role, m.content) for m in body.messages if m.role != "system"]
    if not turns or turns[-1].role != "user" or not turns[-1].content.strip():
        raise RequestValidationError([{"loc": ["body", "messages"], "type": "value_error",
                                       "msg": "the last message must be a non-empty user message"}])
    if len(turns[-1].content) > MAX_QUESTION_CHARS:
        last = max(i for i, m in enumerate(body.messages) if m.role == "user")
        raise RequestValidationError([{
            "loc": ["body", "messages", last, "content"], "type": "string_too_long",
            "msg": f"the last user message is the question: at most {MAX_QUESTION_CHARS} characters, "
                   f"got {len(turns[-1].content)}", "ctx": {"max_length": MAX_QUESTION_CHARS}}])
    return turns
