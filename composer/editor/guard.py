"""What every write to the editor must show: a token of this session and our own origin.

The preview listens on loopback, but any web page the person has open can still send
requests to 127.0.0.1. The Host check (`preview.hosts`) stops a page that re-points its
own name at us (DNS rebinding); this stops a foreign page posting blind: a write needs
the token that only our page can read (from `/api/edit/session`, same-origin JSON) in
`X-Bulletin-Token`, and an `Origin` (or, failing that, `Referer`) naming this very host.
"""

from __future__ import annotations

import secrets
import threading
from urllib.parse import urlsplit

from starlette.requests import Request

TOKEN_HEADER = "x-bulletin-token"  # noqa: S105 - a header name, not a secret
MAX_TOKENS = 64  # one per page opened; the oldest are forgotten first


class Guard:
    """The session tokens issued by this preview, and the checks on a write request."""

    def __init__(self) -> None:
        self._tokens: list[str] = []
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens.append(token)
            del self._tokens[:-MAX_TOKENS]
        return token

    def known(self, token: str) -> bool:
        with self._lock:
            return any(secrets.compare_digest(token, t) for t in self._tokens)

    def refusal(self, request: Request) -> str | None:
        """Why this write is refused, or None when it may go ahead."""
        host = request.headers.get("host", "")
        origin = request.headers.get("origin") or _origin_of(request.headers.get("referer", ""))
        if not origin:
            return "refused: the request does not say which page sent it (no Origin header)"
        parts = urlsplit(origin)
        if parts.scheme != "http" or parts.netloc.lower() != host.lower():
            return f"refused: a write from {origin} is not from this preview"
        token = request.headers.get(TOKEN_HEADER, "")
        if not token or not self.known(token):
            return "refused: this page's editing session is not known here; reload the page"
        return None


def _origin_of(referer: str) -> str:
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
