"""GET /review/{token} and its two forms: a bulletin for people without the tool.

The page shows every copy of the bulletin side by side, at desktop and mobile widths, and
its plain text, filled with the public archive's generic values (no person's data). The
token (composer.tokens.ReviewSigner) names the bulletin and its content hash and expires;
when the bulletin has changed since the link was made, the page says the link is for an
earlier version and offers nothing to approve.

GET never changes anything. POST /review/{token}/approve and /comment take a name (and the
comment), a CSRF token made for this link's page, and record through
composer.signoff.approvals (source "review link"): only the token's own content hash can
be approved, and only while it is the current content. Each link may post at most
`POST_LIMIT` times in `POST_WINDOW` seconds per worker process.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from composer.compose.merge import fill
from composer.compose.model import Composition
from composer.errors import BulletinError, StoreError
from composer.signoff import approvals
from composer.store.db import Store
from composer.tokens import ExpiredToken, InvalidToken, ReviewClaim, ReviewSigner
from composer.web.pages import Pages
from composer.workspace import Workspace

ACTOR = "web"
POST_LIMIT = 10
POST_WINDOW = 600.0
COMPOSE_TTL = 10.0  # seconds a composed bulletin is reused between requests
# The page frames each copy with srcdoc in a sandbox (no scripts, no forms); the copies'
# pictures are on https. Everything else stays as strict as the other pages.
REVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class RateLimit:
    """At most `limit` events per key in a sliding `window` of seconds (this process)."""

    def __init__(self, limit: int = POST_LIMIT, window: float = POST_WINDOW) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            if len(self._seen) > 10_000:  # forget idle links rather than grow without end
                for stale in [k for k, v in self._seen.items() if not v]:
                    del self._seen[stale]
            return True


@dataclass(frozen=True)
class Copy:
    name: str
    subject: str
    preheader: str
    html: str
    text: str


class ReviewRoutes:
    def __init__(self, workspace: Workspace, store: Store, pages: Pages) -> None:
        self.workspace, self.store, self.pages = workspace, store, pages
        self.signer = ReviewSigner(workspace.secret_keys())
        self.limit = RateLimit()
        self._cache: dict[str, tuple[float, Composition]] = {}
        self._lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------

    def _page(self, name: str, status: int = 200, **context: Any) -> Response:
        response = HTMLResponse(self.pages.render(name, **context), status_code=status)
        response.headers["content-security-policy"] = REVIEW_CSP
        return response

    def _claim(self, request: Request) -> ReviewClaim | Response:
        token = str(request.path_params.get("token", ""))
        try:
            return self.signer.read(token, time.time())
        except ExpiredToken:
            return self._page("review_gone.html", 410, reason="expired")
        except InvalidToken:
            return self._page("review_gone.html", 404, reason="invalid")

    def _source(self, key: str) -> Path | None:
        folder = self.workspace.bulletins_dir
        for suffix in (".yaml", ".yml"):
            path = folder / f"{key}{suffix}"
            if "/" not in key and "\\" not in key and path.is_file():
                return path
        return None

    def _compose(self, key: str) -> Composition | None:
        from composer.compose.pipeline import compose_bulletin

        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and time.monotonic() - cached[0] < COMPOSE_TTL:
                return cached[1]
        path = self._source(key)
        if path is None:
            return None
        composition = compose_bulletin(self.workspace, path)  # every copy, with the checks
        with self._lock:
            self._cache[key] = (time.monotonic(), composition)
        return composition

    async def _current(self, claim: ReviewClaim) -> Composition | Response:
        try:
            composition = await run_in_threadpool(self._compose, claim.key)
        except BulletinError:
            return self._page("review_gone.html", 503, reason="broken")
        if composition is None:
            return self._page("review_gone.html", 404, reason="missing")
        if composition.content_hash != claim.content_hash:
            return self._page("review_gone.html", 409, reason="changed")
        return composition

    def _copies(self, composition: Composition) -> list[Copy]:
        from composer.compose.pipeline import archive_values

        values = archive_values(self.workspace)
        return [
            Copy(name, r.envelope.subject, r.preheader, fill(r.html, values), fill(r.text, values))
            for name, r in composition.renders.items()
        ]

    # -- routes ----------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """GET the page; POST its two forms (never GET)."""
        return [
            Route("/review/{token}", self.show, methods=["GET"]),
            Route("/review/{token}/approve", self.approve, methods=["POST"]),
            Route("/review/{token}/comment", self.comment, methods=["POST"]),
        ]

    async def show(self, request: Request) -> Response:
        """GET: the copies, who has approved or commented, and the two forms. Changes nothing."""
        claim = self._claim(request)
        if isinstance(claim, Response):
            return claim
        current = await self._current(claim)
        if isinstance(current, Response):
            return current
        try:
            views = await run_in_threadpool(approvals.listing, self.store, current)
        except StoreError:
            return self._page("unavailable.html", 503)
        token = str(request.path_params["token"])
        return self._page(
            "review.html", key=claim.key, content_hash=claim.content_hash, copies=self._copies(current),
            views=[v for v in views if v.matches], expires=time.strftime("%d %B %Y %H:%M UTC", time.gmtime(claim.expires)),
            csrf=self.signer.form_token(token), done=None, request_token=f"{token}/",
        )  # fmt: skip

    async def approve(self, request: Request) -> Response:
        return await self._post(request, approvals.APPROVAL)

    async def comment(self, request: Request) -> Response:
        return await self._post(request, approvals.COMMENT)

    async def _post(self, request: Request, kind: str) -> Response:
        claim = self._claim(request)
        if isinstance(claim, Response):
            return claim
        token = str(request.path_params["token"])
        if not self.limit.allow(hashlib.sha256(token.encode()).hexdigest()):
            response = self._page("review_gone.html", 429, reason="busy")
            response.headers["retry-after"] = str(int(POST_WINDOW))
            return response
        try:
            form = await request.form(max_files=0, max_fields=10)
        except HTTPException:
            return self._page("bad_request.html", 400)
        try:
            name, note = str(form.get("name") or ""), str(form.get("note") or "") or None
            csrf, claimed_hash = str(form.get("csrf") or ""), str(form.get("content_hash") or "")
        finally:
            await form.close()
        if not self.signer.check_form(token, csrf) or claimed_hash != claim.content_hash:
            return self._page("bad_request.html", 400)
        current = await self._current(claim)
        if isinstance(current, Response):
            return current
        try:
            view = await run_in_threadpool(
                lambda: approvals.record(self.store, current, name, kind=kind, note=note, source=approvals.SOURCE_REVIEW, os_user=ACTOR)
            )
        except StoreError:
            return self._page("unavailable.html", 503)
        except BulletinError as exc:
            return self._page("review_gone.html", 400, reason="refused", message=str(exc))
        return self._page("review_done.html", kind=kind, approver=view.approver, key=claim.key, token=token)
