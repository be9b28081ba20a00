"""A scripted OpenAI-compatible chat backend: a real HTTP server on a loopback port, in a thread.

`site.reply` makes the answer from the request's messages (the test reads the numbered passages newsqa sent);
`site.fault` makes it misbehave: "slow" (sleeps past any test timeout), "500", "400", "malformed" (a 200 whose
body is not JSON), "garbage" (a 200 event stream of junk).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[list[dict[str, str]]], str]


def passages(messages: list[dict[str, str]]) -> dict[int, str]:
    """The numbered passages of newsqa's prompt: {n: text}."""
    user = messages[-1]["content"]
    out = {}
    for match in re.finditer(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n\nQuestion: )", user, re.M | re.S):
        out[int(match.group(1))] = match.group(2)
    return out


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the deadline passed) closed the socket: not an error of this site."""


class LLMSite:
    def __init__(self) -> None:
        self.reply: Reply = lambda messages: "The archive does not say."
        self.fault: str | None = None
        self.slow_seconds = 30.0
        self.requests: list[dict[str, Any]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                site.requests.append(body)
                stream = bool(body.get("stream"))
                if site.fault == "slow":
                    time.sleep(site.slow_seconds)
                if site.fault in ("500", "400"):
                    return self._send(int(site.fault), b'{"error": {"message": "scripted failure"}}',
                                      "application/json")
                if site.fault == "malformed":
                    if stream:
                        return self._send(200, b"data: {\"choices\": [{\"delta\": {\"content\": \n\n",
                                          "text/event-stream")
                    return self._send(200, b'{"choices": [{"message": {"content": "cut off', "application/json")
                if site.fault == "garbage":
                    return self._send(200, b"\x00\xff<html>not an event stream</html>\n\ndata: ???\n\n",
                                      "text/event-stream" if stream else "application/json")
                text = site.reply(body["messages"])
                if not stream:
                    return self._send(200, json.dumps({
                        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": body["model"],
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "finish_reason": "stop"}]}).encode(), "application/json")
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for piece in re.findall(r"\S+\s*", text):
                    chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                             "model": body["model"],
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        self.server = _Quiet(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
