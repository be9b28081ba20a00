"""OpenAI chat.completions shapes for a cited answer: content with a Sources list, citations alongside, and how
the answer was made (mode, removed sentences, note) under "newsqa"."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from qa.answer import Answer
from qa.llm.generate import Result


def content(answer: Answer, note: str | None = None) -> str:
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
    if note:
        lines += ["", f"_Note: {note}._"]
    return "\n".join(lines)


def _newsqa(result: Result) -> dict[str, Any]:
    return {"mode": result.mode, "unsupported": [u.to_dict() for u in result.unsupported], "note": result.note,
            "answer": result.answer.answer}


def completion(result: Result, model: str) -> dict[str, Any]:
    answer = result.answer
    text = content(answer, result.note)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(answer.question.split()), "completion_tokens": len(text.split()),
                  "total_tokens": len(answer.question.split()) + len(text.split())},
        "citations": [c.to_dict() for c in answer.citations],
        "newsqa": _newsqa(result),
    }


def completion_chunks(events: Iterator[tuple[str, Any]], model: str) -> Iterator[str]:
    """Server-sent events of chat.completion.chunk objects. Generative: the model's text as it writes it, then
    the checked answer (after a rule, with what was removed) as the last content; extractive: the answer's
    content. The last chunk carries the citations and, under "newsqa", mode, removed sentences and note."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    wrote = False
    for kind, value in events:
        if kind == "token":
            wrote = True
            yield chunk({"content": value})
            continue
        result: Result = value
        text = content(result.answer, result.note)
        if wrote:  # what the user keeps is the checked answer, shown after the model's draft
            removed = "".join(f"\n- ~~{u.text}~~ ({u.reason})" for u in result.unsupported)
            text = (f"\n\n---\n**Checked against the archive:**\n\n{text}"
                    + (f"\n\nRemoved, not supported by the passages:{removed}" if removed else ""))
        for piece in _pieces(text):
            yield chunk({"content": piece})
        yield chunk({}, "stop", citations=[c.to_dict() for c in result.answer.citations], newsqa=_newsqa(result))
    yield "data: [DONE]\n\n"


def _pieces(text: str) -> Iterator[str]:
    words = text.split(" ")
    for i in range(0, len(words), 8):
        piece = " ".join(words[i:i + 8])
        yield piece if i + 8 >= len(words) else piece + " "
