"""Questions: /api/ask (JSON or server-sent events) and the OpenAI-compatible /v1 endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from api.deps import READ_ERRORS, EngineDep, RateLimited, SettingsDep
from api.models import MAX_QUESTION_CHARS, AnswerOut, AskRequest, ChatRequest
from api.openai_compat import completion, completion_chunks
from qa.answer import Answer
from qa.conversation import Turn, resolve
from qa.engine import Engine

router = APIRouter()
STREAMED = {200: {"content": {"text/event-stream": {}}}}


@router.post("/api/ask", response_model=AnswerOut, summary="Answer a question with citations",
             dependencies=[RateLimited], responses={**STREAMED, **READ_ERRORS})
def ask(body: AskRequest, engine: EngineDep, settings: SettingsDep) -> Any:
    question = resolve(body.question, body.turns(), _type_of(engine))
    k = body.k if body.k is not None else settings.top_k  # NEWSQA_TOP_K, as /v1/chat/completions reads
    answer = engine.answerer.answer(body.to_query(question, k))
    if body.stream:
        return StreamingResponse(_sse(answer, question), media_type="text/event-stream")
    return {**answer.to_dict(), "resolved_question": question}


def _type_of(engine: Engine) -> Callable[[str], str | None] | None:
    """The archive's actor types for pronoun resolution ("he" is a person), when the index has actors."""
    return engine.actor_index.type_of if engine.actor_index is not None else None


def _sse(answer: Answer, resolved: str) -> Iterator[str]:
    """Each cited sentence as an `answer` event with its citation, then the whole answer as `done`."""
    parts = [(f"{c.shown} [{c.n}] ", [c.to_dict()]) for c in answer.citations] or [(answer.answer, [])]
    for delta, cited in parts:
        yield f"event: answer\ndata: {json.dumps({'delta': delta, 'citations': cited}, ensure_ascii=False)}\n\n"
    done = {**answer.to_dict(), "resolved_question": resolved}
    yield f"event: done\ndata: {json.dumps(done, ensure_ascii=False)}\n\n"


@router.get("/v1/models", summary="OpenAI-compatible model list")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": "newsqa", "object": "model", "created": 0, "owned_by": "newsqa"}]}


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat: the last user message is the question",
             dependencies=[RateLimited], responses={**STREAMED, **READ_ERRORS})
def chat(body: ChatRequest, engine: EngineDep, settings: SettingsDep) -> Any:
    turns = _turns(body)
    question = resolve(turns[-1].content, turns[:-1], _type_of(engine))
    answer = engine.answerer.answer(question, k=settings.top_k)
    if body.stream:
        return StreamingResponse(completion_chunks(answer, body.model), media_type="text/event-stream")
    return completion(answer, body.model)


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
