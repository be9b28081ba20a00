"""Fetch one URL over HTTP with hard limits: a deadline, a size limit read as a stream, a redirect limit, no
scheme other than http/https and no redirect that changes the scheme (an https feed never lands on http)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

SCHEMES = ("http", "https")


class FetchError(Exception):
    """A request that gave no usable answer; the message is the reason, as recorded on the feed. transient: the
    same request may well work later (a timeout, a connection error, 5xx, 429), unlike a 404 or a page too large."""

    def __init__(self, reason: str, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


@dataclass(frozen=True)
class FetchLimits:
    """What one request may cost. timeout: seconds for the whole request, redirects and body included."""

    timeout: float = 20.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    user_agent: str = "newsqa"


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 for a conditional request answered "not modified"
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def check_url(url: str) -> str:
    """url itself when it is an absolute http(s) URL; FetchError otherwise."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[" and the like
        host = None
    if not host or parts.scheme.lower() not in SCHEMES:
        raise FetchError(f"only absolute http and https URLs are fetched, not {url[:200]!r}")
    return url


def client(limits: FetchLimits) -> Any:
    """An httpx client for fetch(): redirects are followed by fetch() itself, hop by hop, to check each one."""
    import httpx

    return httpx.Client(follow_redirects=False, timeout=httpx.Timeout(limits.timeout),
                        headers={"User-Agent": limits.user_agent})


def fetch(http: Any, url: str, limits: FetchLimits, headers: dict[str, str] | None = None) -> Fetched:
    """GET url (conditional when headers carry If-None-Match / If-Modified-Since); FetchError on any failure:
    timeout, connection error, status >= 400, too many redirects or a loop, a redirect to another scheme,
    a body over limits.max_bytes."""
    import httpx

    deadline = time.monotonic() + limits.timeout
    visited = {check_url(url)}
    scheme = urlsplit(url).scheme.lower()
    for _ in range(limits.max_redirects + 1):
        if time.monotonic() > deadline:
            raise FetchError(f"timed out after {limits.timeout:g} s", transient=True)
        try:
            with http.stream("GET", url, headers=headers or {}) as response:
                if response.status_code == 304:
                    return Fetched(url, 304, {k.lower(): v for k, v in response.headers.items()})
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    target = urljoin(url, location)
                    if urlsplit(target).scheme.lower() != scheme:
                        raise FetchError(f"redirect from {scheme} to another scheme refused ({target[:200]})")
                    if target in visited:
                        raise FetchError(f"redirect loop at {target[:200]}")
                    visited.add(target)
                    url = target
                    continue
                if response.status_code >= 400:
                    raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                                     transient=response.status_code >= 500 or response.status_code == 429)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limits.max_bytes:
                    raise FetchError(f"{int(declared):,} bytes, over the limit of {limits.max_bytes:,}")
                body = bytearray()
                for part in response.iter_bytes():
                    body += part
                    if len(body) > limits.max_bytes:
                        raise FetchError(f"more than {limits.max_bytes:,} bytes, over the limit")
                    if time.monotonic() > deadline:  # a server dripping bytes slowly never trips the read timeout
                        raise FetchError(f"timed out after {limits.timeout:g} s", transient=True)
                return Fetched(url, response.status_code, {k.lower(): v for k, v in response.headers.items()},
                               bytes(body))
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {limits.timeout:g} s", transient=True) from None
        except httpx.HTTPError as exc:  # connection refused or reset, DNS, protocol errors
            raise FetchError(f"{type(exc).__name__}: {exc}"[:300], transient=True) from None
    raise FetchError(f"more than {limits.max_redirects} redirects")
