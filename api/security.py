"""Guards in front of the routes: request body size limit and a per-client rate limit on the ask endpoints."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from typing import Any

from fastapi import HTTPException, Request

Scope = dict[str, Any]


class BodyTooLarge(HTTPException):
    """Raised from inside the body stream: FastAPI passes HTTPExceptions through its body parsing as they are."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes (NEWSQA_MAX_BODY_BYTES)")


class BodyLimit:
    """ASGI middleware: 413 for a request body over `limit` bytes, declared (Content-Length) or streamed."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send)
            return
        seen = 0
        started = False

        async def counted_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracked_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:  # the app reads the whole body before it answers, so this is the normal case
                await self._reject(send)

    async def _reject(self, send: Any) -> None:
        body = json.dumps({"detail": BodyTooLarge(self.limit).detail})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body.encode()})


class RateLimiter:
    """Token bucket per client address: `per_minute` requests a minute, bursts up to the same number."""

    def __init__(self, per_minute: int, max_clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.max_clients = max_clients  # oldest buckets are forgotten: memory stays bounded
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds to wait before the next one."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait

    def __call__(self, request: Request) -> None:
        """FastAPI dependency for the ask endpoints."""
        wait = self.check(request.client.host if request.client else "unknown")
        if wait:
            raise HTTPException(429, f"too many questions from this client; retry in {math.ceil(wait)} s "
                                     f"(limit {int(self.capacity)} a minute, NEWSQA_RATE_LIMIT)",
                                headers={"Retry-After": str(math.ceil(wait))})
