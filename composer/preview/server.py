"""The preview's web app (Starlette) and its runner (uvicorn on loopback).

The page is static (`static/`); it reads `/api/state`, listens on `/events` for a new
version and loads each segment's email from `/email/<segment>/html` into a sandboxed
iframe. The email is served with a CSP that allows no script, no font, no connection
and only https and data: images, so an email can never run code in the preview.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from composer.compose.checks import GMAIL_CLIP_BYTES, HTML_WARN_BYTES
from composer.compose.model import Composition, Finding
from composer.errors import BulletinError
from composer.preview.samples import SAMPLES, find_sample, personalise, preview_unsubscribe_url
from composer.preview.state import PreviewState, Snapshot
from composer.timestamps import iso

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025

# The gauge uses the same limits as the checks: Gmail clips an HTML part over about
# 102 KB as encoded in the message, and the checks warn from 90 KB.
CLIP_BYTES = GMAIL_CLIP_BYTES
WARN_BYTES = HTML_WARN_BYTES

# The email: no script, no font, no fetch, no frame; inline styles and https/data images.
EMAIL_CSP = "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
# The page itself: only its own files.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
NO_STORE = {"Cache-Control": "no-store"}

_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def frame_html(html: str) -> str:
    """The email as the iframe shows it: links open in a new tab, not inside the frame."""
    base = '<base target="_blank">'
    match = _HEAD.search(html)
    if match is None:
        return base + html
    return html[: match.end()] + base + html[match.end() :]


def _finding(finding: Finding, composition: Composition) -> dict[str, Any]:
    """A finding for the page, with the anchor of its section when compose knew it."""
    data: dict[str, Any] = {
        "severity": finding.severity,
        "code": finding.code,
        "message": finding.message,
        "segment": finding.segment,
        "section": finding.section,
        "block": finding.block,
        "anchor": finding.anchor,
        "line": finding.line,  # in the bulletin source, when the finding is about one value
    }
    if finding.anchor is None and finding.section is not None:
        segments = [finding.segment] if finding.segment else list(composition.renders)
        for name in segments:
            render = composition.renders.get(name or "")
            match = next((s for s in render.sections if s.index == finding.section), None) if render else None
            if match is not None:
                data["anchor"] = match.anchor
                data["title"] = match.title
                break
    elif finding.section is not None:
        for render in composition.renders.values():
            match = next((s for s in render.sections if s.index == finding.section), None)
            if match is not None:
                data["title"] = match.title
                break
    return data


def state_payload(snapshot: Snapshot, label: str, instance: str = "") -> dict[str, Any]:
    """Everything the page needs but the email bodies, as JSON."""
    comp = snapshot.composition
    payload: dict[str, Any] = {
        "version": snapshot.version,
        "instance": instance,
        "status": "error" if snapshot.error else ("ok" if comp else "empty"),
        "bulletin": label,
        "error": snapshot.error.as_dict() if snapshot.error else None,
        "composed_at": iso(snapshot.composed_at, timespec="seconds"),
        "attempted_at": iso(snapshot.attempted_at, timespec="seconds"),
        "duration_ms": round(snapshot.duration_ms, 1) if snapshot.duration_ms is not None else None,
        "limits": {"clip_bytes": CLIP_BYTES, "warn_bytes": WARN_BYTES},
        "samples": [s.as_dict() for s in SAMPLES],
        "key": None,
        "subject": None,
        "preheader": None,
        "segments": [],
        "findings": [],
        "counts": {"errors": 0, "warnings": 0},
    }
    if comp is None:
        return payload
    first = next(iter(comp.renders.values()), None)
    payload.update(
        key=comp.key,
        subject=first.envelope.subject if first else None,
        preheader=first.preheader if first else None,
        segments=[
            {
                "name": name,
                # A combination is the copy for someone in each of its segments.
                "audience": list(render.segments),
                "combination": len(render.segments) > 1,
                "subject": render.envelope.subject,
                "preheader": render.preheader,
                "html_bytes": comp.report.sizes.get(name),
                "sections": [
                    {"index": s.index, "block": s.block, "title": s.title, "anchor": s.anchor}
                    for s in render.sections
                ],
            }
            for name, render in comp.renders.items()
        ],
        findings=[_finding(f, comp) for f in (*comp.report.errors, *comp.report.warnings)],
        counts={"errors": len(comp.report.errors), "warnings": len(comp.report.warnings)},
    )
    return payload


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(header: str) -> str:
    """The name in a Host header, without the port: `[::1]:8025` → `::1`."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def create_app(state: PreviewState, *, allowed_hosts: frozenset[str] | None = None) -> Starlette:
    """The preview app over `state`; it never composes, it only shows snapshots.

    With `allowed_hosts`, a request whose Host header names anything else is refused: a
    web page elsewhere cannot re-point its own name at 127.0.0.1 (DNS rebinding) and
    read an unpublished bulletin through the visitor's browser.
    """

    def render_for(request: Request) -> tuple[Any, Any] | Response:
        comp = state.snapshot().composition
        if comp is None:
            return PlainTextResponse(
                "Nothing composed yet: fix the error shown on the preview page.",
                status_code=503,
                headers=NO_STORE,
            )
        segment = request.path_params["segment"]
        render = comp.renders.get(segment)
        if render is None:
            known = ", ".join(comp.renders) or "none"
            return PlainTextResponse(
                f"No segment '{segment}' in this bulletin (it has: {known}).",
                status_code=404,
                headers=NO_STORE,
            )
        sample = find_sample(request.query_params.get("r"))
        if sample is None:
            keys = ", ".join(s.key for s in SAMPLES)
            return PlainTextResponse(
                f"No sample recipient '{request.query_params.get('r')}' (try: {keys}).",
                status_code=400,
                headers=NO_STORE,
            )
        return render, sample

    async def page(request: Request) -> Response:
        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP, **NO_STORE})

    async def api_state(request: Request) -> Response:
        payload = state_payload(state.snapshot(), state.source.label, state.instance)
        return JSONResponse(payload, headers=NO_STORE)

    async def api_version(request: Request) -> Response:
        return JSONResponse({"version": state.version, "instance": state.instance}, headers=NO_STORE)

    async def email_html(request: Request) -> Response:
        found = render_for(request)
        if isinstance(found, Response):
            return found
        render, sample = found
        unsubscribe = preview_unsubscribe_url(state.source.base_url)
        # Pictures are not published yet: show the files in the bulletin's folder.
        html = render.html.replace(f"{state.source.base_url.rstrip('/')}/assets/", "/assets/")
        body = frame_html(personalise(html, sample, unsubscribe))
        return HTMLResponse(
            body,
            headers={
                "Content-Security-Policy": EMAIL_CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                **NO_STORE,
            },
        )

    async def picture(request: Request) -> Response:
        comp = state.snapshot().composition
        name = request.path_params["name"]
        found = [a for a in (comp.assets.values() if comp else ()) if a.public_name == name]
        if not found:
            return PlainTextResponse("No such picture in this bulletin.", status_code=404, headers=NO_STORE)
        return FileResponse(found[0].path, media_type=found[0].content_type, headers=NO_STORE)

    async def email_text(request: Request) -> Response:
        found = render_for(request)
        if isinstance(found, Response):
            return found
        render, sample = found
        unsubscribe = preview_unsubscribe_url(state.source.base_url)
        return PlainTextResponse(
            personalise(render.text, sample, unsubscribe),
            headers={"X-Content-Type-Options": "nosniff", **NO_STORE},
        )

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            # Reconnect quickly after a restart of `bulletin preview`.
            yield "retry: 1000\n\n"
            last = -1
            quiet = 0.0
            while True:
                version = state.version
                if version != last:
                    last = version
                    quiet = 0.0
                    data = json.dumps({"version": version, "instance": state.instance})
                    yield f"event: version\ndata: {data}\n\n"
                if state.closing.is_set():
                    return
                if quiet >= 15:
                    quiet = 0.0
                    yield ": still here\n\n"  # keeps proxies and idle timers from closing it
                await asyncio.sleep(0.1)
                quiet += 0.1

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={**NO_STORE, "X-Accel-Buffering": "no"},
        )

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/state", api_state),
            Route("/api/version", api_version),
            Route("/email/{segment}/html", email_html),
            Route("/email/{segment}/text", email_text),
            Route("/events", events),
            Route("/assets/{name}", picture),
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        middleware=[Middleware(KnownHostsOnly, allowed=allowed_hosts)] if allowed_hosts else [],
    )


class KnownHostsOnly:
    """Refuse a request whose Host header is not one of `allowed` (names, no ports)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if host_name(host).lower() not in self.allowed:
                response = PlainTextResponse("Unknown Host header.", status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket, or one clear error that says what to do about it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BulletinError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = " Is another preview running? Try --port with another number." if exc.errno == errno.EADDRINUSE else ""
        raise BulletinError(f"cannot listen on {host}:{port}: {exc.strerror}.{hint}") from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn that ends the page's event streams first, so a stop is never held up."""

    def __init__(self, config: uvicorn.Config, state: PreviewState) -> None:
        super().__init__(config)
        self._state = state

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._state.close()
        await super().shutdown(sockets)


class PreviewServer:
    """The app, its compose watcher and uvicorn, on one listening socket."""

    def __init__(
        self,
        state: PreviewState,
        sock: socket.socket,
        *,
        watcher: Any | None = None,
        app: ASGIApp | None = None,
    ) -> None:
        bound = str(sock.getsockname()[0])
        allowed = LOOPBACK_NAMES | {bound} if is_loopback(bound) else None
        self.state = state
        self.sock = sock
        self.watcher = watcher
        config = uvicorn.Config(
            app or create_app(state, allowed_hosts=allowed),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config, state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        """Run until Ctrl+C (uvicorn handles the signal in the main thread)."""
        if self.watcher is not None:
            self.watcher.start()
        try:
            self._server.run(sockets=[self.sock])
        except KeyboardInterrupt:
            # uvicorn re-raises the Ctrl+C it handled once it has shut down; stopping
            # is what the person asked for, so it is not an error.
            pass
        finally:
            self.state.close()
            if self.watcher is not None:
                self.watcher.stop()
            self.sock.close()

    def start(self, timeout: float = 10) -> str:
        """Serve in a background thread (tests); returns the URL once it answers."""
        if self.watcher is not None:
            self.watcher.start()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.sock]}, name="preview-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the preview server did not start")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        self.state.close()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.watcher is not None:
            self.watcher.stop()
        self.sock.close()


def build_preview(workspace: Any, bulletin: Path, *, host: str, port: int) -> PreviewServer:
    """Bind, compose once, and set up the watcher: what `bulletin preview` runs.

    A compose error here does not stop the preview; the page shows it as a banner, and
    saving the fix recomposes.
    """
    from composer.preview.state import BulletinSource
    from composer.preview.watch import Watcher
    from composer.workspace import CONFIG_NAME

    sock = bind_socket(host, port)
    source = BulletinSource(workspace, bulletin)
    state = PreviewState(source)
    state.refresh()
    watcher = Watcher(
        state,
        files=[source.bulletin, source.root / CONFIG_NAME, workspace.segments_file],
        folders=[workspace.sections_dir, workspace.layouts_dir],
    )
    return PreviewServer(state, sock, watcher=watcher)
