"""Questions: /api/ask (JSON or server-sent events) and the OpenAI-compatible /v1 endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from api.deps import READ_ERRORS, EngineDep, RateLimited, SettingsDep
from api.models import MAX_QUESTION_CHARS, AnswerOut, AskRequest, ChatRequest
from api.openai_compat import completion, completion_chunks
from qa.conversation import Turn, resolve
from qa.llm.generate import Result
from qa.search import Query

router = APIRouter()
STREAMED = {200: {"content": {"text/event-stream": {}}}}


@router.post("/api/ask", response_model=AnswerOut, summary="Answer a question with citations",
             dependencies=[RateLimited], responses={**STREAMED, **READ_ERRORS})
def ask(body: AskRequest, engine: EngineDep, settings: SettingsDep) -> Any:
    question = resolve(body.question, body.turns())
    k = body.k if body.k is not None else settings.top_k  # NEWSQA_TOP_K, as /v1/chat/completions reads
    query = body.to_query(question, k)
    if body.stream:
        return StreamingResponse(_sse(engine.generator.events(query, body.mode), question),
                                 media_type="text/event-stream")
    return {**engine.generator.answer(query, body.mode).to_dict(), "resolved_question": question}


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _sse(events: Iterator[tuple[str, Any]], resolved: str) -> Iterator[str]:
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
        yield _event("done", {**result.to_dict(), "resolved_question": resolved})


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
    question = resolve(turns[-1].content, turns[:-1])
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
