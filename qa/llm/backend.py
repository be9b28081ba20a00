"""An OpenAI-compatible chat backend (Ollama, vLLM, llama.cpp's server, a hosted API) behind a hard deadline.

The official `openai` client does the talking. Each call runs in a worker thread that hands tokens over a queue,
so the caller waits at most until its deadline whatever the backend does (never answers, trickles a stream,
hangs mid-body); a late worker ends by itself at the client's own timeout. Every failure becomes BackendFailed
with a short reason for the user's note, and is logged at most once a minute.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("newsqa.llm")


class BackendFailed(Exception):
    """The backend gave no usable answer in time; str(exc) says why in a few words."""


@dataclass(frozen=True)
class BackendConfig:
    url: str
    model: str = ""
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 20.0
    max_tokens: int = 256  # answers are one to three sentences


class FaultLog:
    """Logs a backend fault at most once per `every` seconds, counting the ones it kept quiet."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._last = -float("inf")
        self._quiet = 0
        self._lock = threading.Lock()

    def report(self, url: str, reason: str) -> bool:
        """True when this one was logged."""
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.every:
                self._quiet += 1
                return False
            quiet, self._quiet, self._last = self._quiet, 0, now
        log.warning("generative backend %s: %s; extractive answers given instead%s", url, reason,
                    f" ({quiet} more faults in the last minute not logged)" if quiet else "")
        return True


def describe(exc: BaseException, timeout: float) -> str:
    """A few words on what went wrong, for the answer's note and the log."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"the model did not answer within {timeout:g} s"
    if isinstance(exc, openai.APIConnectionError):
        return "the model backend is unreachable"
    if isinstance(exc, openai.APIStatusError):
        return f"the model backend answered HTTP {exc.status_code}"
    if isinstance(exc, BackendFailed):
        return str(exc)
    return f"the model backend sent a malformed answer ({type(exc).__name__})"


class Backend:
    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self.faults = FaultLog()
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from openai import OpenAI

                # no retries: a retry would spend the deadline the extractive fallback needs
                self._client = OpenAI(base_url=self.config.url, api_key=self.config.api_key or "none",
                                      timeout=self.config.timeout, max_retries=0)
            return self._client

    def tokens(self, messages: list[dict[str, str]], deadline: float, stream: bool) -> Iterator[str]:
        """The answer's text as the model writes it (one piece when not streaming); BackendFailed when it fails
        or the monotonic deadline passes first."""
        handoff: queue.Queue[tuple[str, str]] = queue.Queue()
        stop = threading.Event()
        worker = threading.Thread(target=self._run, args=(messages, stream, handoff, stop, deadline),
                                  name="llm-call", daemon=True)
        worker.start()
        try:
            while True:
                try:
                    kind, value = handoff.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise BackendFailed(f"the model did not finish within {self.config.timeout:g} s") from None
                if kind == "end":
                    return
                if kind == "error":
                    raise BackendFailed(value)
                yield value
        finally:
            stop.set()  # the worker drops the rest of a stream it is still reading

    def _run(self, messages: list[dict[str, str]], stream: bool, handoff: queue.Queue[tuple[str, str]],
             stop: threading.Event, deadline: float) -> None:
        timeout = max(0.1, deadline - time.monotonic())
        try:
            create = self.client().chat.completions.create
            kwargs: dict[str, Any] = {"model": self.config.model or "default", "messages": messages,
                                      "temperature": 0.0, "max_tokens": self.config.max_tokens, "timeout": timeout}
            if not stream:
                response = create(**kwargs)
                text = response.choices[0].message.content
                if not isinstance(text, str):
                    raise BackendFailed("the model's answer has no text")
                handoff.put(("token", text))
            else:
                chunks = create(stream=True, **kwargs)
                try:
                    for chunk in chunks:
                        if stop.is_set():
                            break
                        if not chunk.choices:
                            continue
                        piece = chunk.choices[0].delta.content
                        if piece is not None and not isinstance(piece, str):
                            raise BackendFailed("the model's stream holds no text")
                        if piece:
                            handoff.put(("token", piece))
                finally:
                    chunks.close()
            handoff.put(("end", ""))
        except Exception as exc:  # noqa: BLE001 - any failure of a foreign server becomes the fallback's note
            handoff.put(("error", describe(exc, self.config.timeout)))
