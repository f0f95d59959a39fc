"""The `bulletin serve` ASGI app: unsubscribe pages, the SendGrid webhook, published
pictures, a health check.

The app holds no state of its own apart from the store, so any number of uvicorn workers
or hosts can serve it from one PostgreSQL database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from composer.errors import ConfigError
from composer.identity import AddressHasher
from composer.store.db import Store
from composer.tokens import TokenSigner
from composer.web.assets import AssetRoutes
from composer.web.limits import BodyLimitMiddleware
from composer.web.pages import Pages, load_branding
from composer.web.review import ReviewRoutes
from composer.web.server import BODY_TIMEOUT
from composer.web.unsubscribe import Unsubscriber, UnsubscribeRoutes
from composer.web.webhook import (
    ENV_PUBLIC_KEY,
    MAX_WEBHOOK_BYTES,
    PublicKeyError,
    SendGridWebhook,
    SignatureVerifier,
    load_public_key,
)
from composer.workspace import Workspace

log = logging.getLogger("bulletin.web")

MAX_FORM_BYTES = 64 * 1024  # a one-click body is 26 bytes; the page's form is smaller still

# Sent with every response. The token is in the URL, so no referrer may carry it away.
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "x-robots-tag": "noindex, nofollow",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class SecurityHeadersMiddleware:
    """Add SECURITY_HEADERS to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.extra if k not in names
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def check_startup(workspace: Workspace) -> bool:
    """What `bulletin serve` checks before it listens; True when the webhook key is set.

    A key that is set but unusable is a ConfigError (exit 2): SendGrid would get a 403 for
    every batch, and its events, unsubscribes included, would be lost after its retries.
    A theme.yaml that is not a mapping is an InputError naming the file and line.
    """
    try:
        key = load_public_key(workspace.env.get(ENV_PUBLIC_KEY))
    except PublicKeyError as exc:
        raise ConfigError(
            f"{exc}. Paste the Verification Key from SendGrid (Mail Settings → Event Webhook) "
            f"as one base64 line without the BEGIN/END lines, or unset {ENV_PUBLIC_KEY}"
        ) from None
    load_branding(workspace.layouts_dir, list_name="", organisation="", language="")
    return key is not None


def webhook_verifier(workspace: Workspace) -> SignatureVerifier:
    """The verifier for SENDGRID_WEBHOOK_PUBLIC_KEY; without a usable key it refuses all."""
    try:
        key = load_public_key(workspace.env.get(ENV_PUBLIC_KEY))
    except PublicKeyError as exc:
        log.error("%s; the SendGrid webhook will refuse every request (403)", exc)
        return SignatureVerifier(None)
    if key is None:
        log.warning(
            "%s is not set; the SendGrid webhook will refuse every request (403)", ENV_PUBLIC_KEY
        )
    return SignatureVerifier(key)


@contextmanager
def _schedule_runner(workspace: Workspace, store: Store, run: bool) -> Iterator[None]:
    """While the app runs, a thread that sends due scheduled sends (when `run`)."""
    if not run:
        yield
        return
    from composer.signoff.running import POLL_SECONDS, run_due
    from composer.web.jobs import Every

    runner = Every("schedules", POLL_SECONDS, partial(run_due, workspace, store)).start()
    try:
        yield
    finally:
        runner.stop()


def create_app(workspace: Workspace, store: Store | None = None, *, run_schedules: bool = False) -> Starlette:
    """The app for `workspace`; opens (and migrates) the store unless one is given; with
    `run_schedules`, sends due scheduled sends in a thread (composer.signoff.schedules)."""
    own_store = store is None
    the_store = store if store is not None else Store(workspace.database_url())
    keys = workspace.secret_keys()
    hasher = AddressHasher(keys)
    pages = _pages(workspace)
    unsubscribe = UnsubscribeRoutes(TokenSigner(keys), Unsubscriber(the_store, hasher), pages)
    webhook = SendGridWebhook(
        the_store, hasher, webhook_verifier(workspace), per_person=workspace.config.tracking.per_person
    )

    async def how_to_unsubscribe(request: Request) -> Response:
        return HTMLResponse(pages.render("info.html"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            with _schedule_runner(workspace, the_store, run_schedules):
                yield
        finally:
            if own_store:
                the_store.close()

    routes = [
        Route("/u/{token}", unsubscribe.show, methods=["GET"]),
        Route("/u/{token}", unsubscribe.submit, methods=["POST"]),
        Route("/unsubscribe", how_to_unsubscribe, methods=["GET"]),
        Route("/webhooks/sendgrid", webhook.handle, methods=["POST"]),
        Route("/healthz", _healthz(the_store), methods=["GET"]),
        Route("/assets/{name}", AssetRoutes(workspace.out_dir).get, methods=["GET", "HEAD"]),
        *ReviewRoutes(workspace, the_store, pages).routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                BodyLimitMiddleware,
                default=MAX_FORM_BYTES,
                by_prefix={"/webhooks/": MAX_WEBHOOK_BYTES},
                deadline=BODY_TIMEOUT,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.store = the_store
    return app


def _pages(workspace: Workspace) -> Pages:
    """The service's pages, in the workspace's branding."""
    sender = workspace.sender
    return Pages(
        load_branding(
            workspace.layouts_dir,
            list_name=sender.name,
            organisation=sender.postal_address,
            language=sender.language,
        )
    )


def _healthz(store: Store) -> Callable[[Request], Awaitable[Response]]:
    """GET /healthz: 200 when the store answers, 503 when it does not."""

    async def healthz(request: Request) -> Response:
        def ping() -> None:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception as exc:
            log.error("healthz: store unavailable: %s", exc.__class__.__name__)
            return PlainTextResponse("store unavailable\n", status_code=503)
        return PlainTextResponse("ok\n")

    return healthz
