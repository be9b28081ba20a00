"""OpenAI chat.completions shapes for a cited answer: content with a Sources list, citations alongside."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from qa.answer import Answer


def content(answer: Answer) -> str:
    short = " and ".join(f"{s.text} [{s.citation}]" for s in answer.short_answers)
    lines = [f"**{short}**", "", answer.answer] if short else [answer.answer]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            where = ", ".join(x for x in (c.source, c.date) if x)
            lines.append(f"[{c.n}] {c.title or '(untitled)'}{' — ' + where if where else ''}"
                         f"{' ' + c.url if c.url else ''}")
    elif answer.nearest:
        lines += ["", "Nearest articles:"] + [f"- {a['title'] or '(untitled)'} ({a['date'] or 'undated'})"
                                              for a in answer.nearest]
    return "\n".join(lines)


def completion(answer: Answer, model: str) -> dict[str, Any]:
    text = content(answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(answer.question.split()), "completion_tokens": len(text.split()),
                  "total_tokens": len(answer.question.split()) + len(text.split())},
        "citations": [c.to_dict() for c in answer.citations],
    }


def completion_chunks(answer: Answer, model: str) -> Iterator[str]:
    """Server-sent events of chat.completion.chunk objects; the last chunk carries the citations."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in _pieces(content(answer)):
        yield chunk({"content": piece})
    yield chunk({}, "stop", citations=[c.to_dict() for c in answer.citations])
    yield "data: [DONE]\n\n"


def _pieces(text: str) -> Iterator[str]:
    words = text.split(" ")
    for i in range(0, len(words), 8):
        piece = " ".join(words[i:i + 8])
        yield piece if i + 8 >= len(words) else piece + " "
