"""Request body caps: Content-Length checked up front, and bytes counted while reading.

A client can lie about Content-Length or send chunked bodies without one, so the count
while reading is the real limit; the header check only saves reading a body we would
refuse anyway.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The request body is over the cap."""


def declared_length(headers: Mapping[str, str]) -> int | None:
    """The Content-Length header as a number, or None when absent or not a number."""
    value = headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, or BodyTooLarge once more than `max_bytes` have arrived."""
    length = declared_length(request.headers)
    if length is not None and length > max_bytes:
        raise BodyTooLarge
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class BodyLimitMiddleware:
    """ASGI middleware: 413 for bodies over the cap for their path (longest prefix wins)."""

    def __init__(self, app: ASGIApp, default: int, by_prefix: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.by_prefix = sorted((by_prefix or {}).items(), key=lambda kv: -len(kv[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.by_prefix:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = declared_length(headers)
        if length is not None and length > limit:
            await _too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(scope, receive, send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse("request body too large\n", status_code=413)
    await response(scope, receive, send)
