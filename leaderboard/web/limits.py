"""Request limits: body size (an ASGI middleware, so an oversized upload is
refused before it is parsed or written anywhere) and POSTs per client address."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413.

    Content-Length is checked first (nothing is read); a body without one
    (chunked) is counted as it arrives and cut off at the limit."""

    def __init__(self, app, max_bytes: int):  # noqa: ANN001
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(scope, send, int(declared))
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send, seen)

    async def _refuse(self, scope, send, size: int) -> None:  # noqa: ANN001
        message = (f"upload too large: {size} bytes or more, the limit is {self.max_bytes} bytes "
                   f"({self.max_bytes / 1e6:.0f} MB); send a .zip of the PNG masks or an RLE .json")
        if scope["path"].startswith("/api/"):
            body = json.dumps({"error": message, "problems": []}).encode()
            ctype = b"application/json"
        else:
            body = (f"<!doctype html><title>413 upload too large</title><h2>413 upload too large</h2>"
                    f"<p id='errors'>{message}</p><p><a href='/submit'>Back</a></p>").encode()
            ctype = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", ctype), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """At most `limit` events per `window_s` per key (sliding window, in memory:
    it bounds bursts such as token guessing; the per-submitter hourly quota is
    counted in the database and survives restarts)."""

    def __init__(self, limit: int, window_s: float = 60.0):
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> float | None:
        """None if allowed (and counted); else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return events[0] + self.window_s - now
            events.append(now)
            return None


#: What a page may load: only this server's images and forms, no script at all
#: (the pages have none), inline styles (the one <style> block), never framed.
CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
# the API explorer (/api/docs) runs FastAPI's Swagger UI script from a CDN
CSP_DOCS = ("default-src 'none'; img-src 'self' data: https://fastapi.tiangolo.com; "
            "style-src 'self' https://cdn.jsdelivr.net; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")


class SecurityHeaders:
    """Content-Security-Policy, X-Frame-Options and friends on every response."""

    def __init__(self, app):  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = (CSP_DOCS if scope["path"] in ("/api/docs", "/api/docs/oauth2-redirect") else CSP).encode()

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _SECURITY_NAMES]
                message = {**message, "headers": headers + [
                    (b"content-security-policy", csp), (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]}
            await send(message)

        await self.app(scope, receive, with_headers)


_SECURITY_NAMES = {b"content-security-policy", b"x-frame-options", b"x-content-type-options", b"referrer-policy"}
