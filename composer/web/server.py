"""How `bulletin serve` treats connections: timeouts and size limits for uvicorn.

uvicorn has a keep-alive timeout but no deadline for a request's headers, so a client
that sends half a request line holds a connection (and a file descriptor) for as long
as it likes. `GuardedH11Protocol` closes such a connection after HEADER_TIMEOUT; the
app itself answers 408 to a body that takes longer than BODY_TIMEOUT (limits.py). The
proxy in front has its own, matching settings (docs/DEPLOY.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0  # seconds from connection (or the previous response) to complete headers
BODY_TIMEOUT = 10.0  # seconds from complete headers to complete body; SendGrid's ~768 KB takes < 1 s
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle keep-alive connection stays open (uvicorn's default)
MAX_HEADER_BYTES = 16 * 1024  # request line and headers together (h11's incomplete-event limit)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    header_timeout = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._armed_for: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self._header_deadline is not None and self.cycle is not self._armed_for:
            self._disarm()  # a new request's headers are complete

    def on_response_complete(self) -> None:
        # Armed before uvicorn looks for a pipelined request, which disarms it again.
        self._arm()
        super().on_response_complete()

    def _arm(self) -> None:
        self._disarm()
        self._armed_for = self.cycle
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        busy = self.cycle is not None and not self.cycle.response_complete
        if not busy and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """The connection settings passed to uvicorn.run by `bulletin serve`."""
    return {
        "http": "composer.web.server:GuardedH11Protocol",
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
