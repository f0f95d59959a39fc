"""Request body caps: Content-Length checked up front, bytes counted and time limited while
reading.

A client can lie about Content-Length or send chunked bodies without one, so the count
while reading is the real limit; the header check only saves reading a body we would
refuse anyway. A body that trickles in gets 408 at the deadline, and a client that
leaves mid-body is let go quietly: there is nobody left to answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("bulletin.web")


class BodyTooLarge(Exception):
    """The request body is over the cap."""


class BodyTooSlow(Exception):
    """The request body did not arrive before the deadline."""


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
    """ASGI middleware: 413 for bodies over the cap for their path (longest prefix wins),
    408 for a body still arriving `deadline` seconds after the headers."""

    def __init__(
        self, app: ASGIApp, default: int, by_prefix: Mapping[str, int] | None = None, deadline: float | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.by_prefix = sorted((by_prefix or {}).items(), key=lambda kv: -len(kv[0]))
        self.deadline = deadline

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
            await _refuse(scope, receive, send, 413, "request body too large\n")
            return
        received = 0
        started = False
        ends = None if self.deadline is None else time.monotonic() + self.deadline

        async def guarded_receive() -> Message:
            nonlocal received
            if ends is None:
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), max(ends - time.monotonic(), 0.001))
                except TimeoutError:
                    raise BodyTooSlow from None
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
            await self.app(scope, guarded_receive, tracking_send)
        except ClientDisconnect:
            log.info("a client left before sending the whole request body")
        except (BodyTooLarge, BodyTooSlow) as exc:
            if started:
                raise
            if isinstance(exc, BodyTooLarge):
                await _refuse(scope, receive, send, 413, "request body too large\n")
            else:
                log.info("a request body took over %.0f s; answered 408", self.deadline)
                await _refuse(scope, receive, send, 408, "request body too slow\n")


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    # Connection: close, since the rest of the body may still be on its way.
    response = PlainTextResponse(text, status_code=status, headers={"connection": "close"})
    await response(scope, receive, send)
