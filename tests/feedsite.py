"""A real HTTP server on loopback serving RSS 2.0 and Atom feeds and article pages, for the feed tests and the
feed benchmark. Each path answers as set in `routes`; every request is counted in `hits`, and its conditional
headers are honoured (304) when the route carries an ETag."""

from __future__ import annotations

import collections
import email.utils
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a timeout)
    conditional: bool = False  # ETag and Last-Modified, 304 when the client has them
    stream: Callable[[], object] | None = None  # yields body parts instead of body (a huge page)


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.not_modified: collections.Counter[str] = collections.Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body in one send: written apart, Nagle's algorithm and the client's delayed ACK hold
            # each small response back some 40 ms, which would be the test server's cost, not the client's
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?")[0]
                site.hits[path] += 1
                route = site.routes.get(path, Route(b"not here", 404, "text/plain"))
                if route.delay:
                    time.sleep(route.delay)
                headers = dict(route.headers)
                if route.conditional:
                    etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                    headers["ETag"] = etag
                    headers["Last-Modified"] = email.utils.formatdate(1_700_000_000, usegmt=True)
                    if self.headers.get("If-None-Match") == etag:
                        site.not_modified[path] += 1
                        self.send_response(304)
                        for k, v in headers.items():
                            self.send_header(k, v)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for k, v in headers.items():
                    self.send_header(k, v)
                try:
                    if route.stream is not None:  # no length: the body ends when the connection closes
                        self.send_header("Connection", "close")
                        self.close_connection = True
                        self.end_headers()
                        for part in route.stream():  # type: ignore[attr-defined]
                            self.wfile.write(part)
                        return
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (size limit): as it should

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def page(self, path: str, title: str, paragraphs: list[str], date: str = "2026-12-01") -> str:
        """An article page at path; returns its URL."""
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        html = (f"<!doctype html><html><head><title>{escape(title)} | Harbour Gazette</title>"
                f'<meta property="article:published_time" content="{date}T08:00:00Z">'
                f'<meta property="og:site_name" content="Harbour Gazette"></head><body>'
                f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article><h1>{escape(title)}</h1>{body}"
                f"</article><footer>Copyright Harbour Gazette</footer></body></html>")
        self.routes[path] = Route(html.encode())
        return self.url + path


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    """An RSS 2.0 document; item keys: guid, link, title, description, date (RFC 822)."""
    parts = []
    for item in items:
        fields = "".join(f"<{tag}>{escape(item[key])}</{tag.split()[0]}>" for key, tag in
                         (("guid", 'guid isPermaLink="false"'), ("link", "link"), ("title", "title"),
                          ("description", "description"), ("date", "pubDate")) if key in item)
        parts.append(f"<item>{fields}</item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>http://example.invalid/</link><description>test</description>{''.join(parts)}</channel></rss>"
            ).encode()


def atom(title: str, entries: list[dict[str, str]]) -> bytes:
    """An Atom document; entry keys: id, link, title, summary, updated (ISO 8601)."""
    parts = []
    for e in entries:
        parts.append(f"<entry><id>{escape(e['id'])}</id><title>{escape(e['title'])}</title>"
                     + (f'<link href="{escape(e["link"])}"/>' if "link" in e else "")
                     + f"<updated>{e.get('updated', '2026-12-01T09:00:00Z')}</updated>"
                     + (f"<summary>{escape(e['summary'])}</summary>" if "summary" in e else "") + "</entry>")
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{escape(title)}</title><id>urn:test:{escape(title)}</id><updated>2026-12-01T09:00:00Z</updated>"
            f"{''.join(parts)}</feed>").encode()
