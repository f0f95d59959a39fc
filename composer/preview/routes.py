"""The preview's own routes: the page, its state, each copy of the email, pictures, events.

They only read snapshots; composing happens elsewhere (the watcher, or the editor's
draft and save). An email URL with `?draft=N` is served from the editor's unsaved draft
when there is one, so the panes follow the form as staff type.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from composer.compose.model import Composition
from composer.preview.payload import EMAIL_CSP, NO_STORE, PAGE_CSP, frame_html, state_payload
from composer.preview.samples import SAMPLES, find_sample, personalise, preview_unsubscribe_url
from composer.preview.state import PreviewState

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The composition of the editor's latest unsaved draft (None: there is none).
DraftLookup = Callable[[], Composition | None]


def _text(message: str, status: int) -> Response:
    return PlainTextResponse(message, status_code=status, headers=NO_STORE)


class PreviewRoutes:
    """The read-only routes over one `PreviewState`."""

    def __init__(self, state: PreviewState, *, drafts: DraftLookup | None = None, editable: bool = False) -> None:
        self.state = state
        self.drafts = drafts
        self.editable = editable

    def routes(self) -> list[Route]:
        return [
            Route("/", self.page),
            Route("/api/state", self.api_state),
            Route("/api/version", self.api_version),
            Route("/email/{segment}/html", self.email_html),
            Route("/email/{segment}/text", self.email_text),
            Route("/events", self.events),
            Route("/assets/{name}", self.picture),
        ]

    def composition(self, request: Request) -> Composition | None:
        if request.query_params.get("draft") and self.drafts is not None:
            found = self.drafts()
            if found is not None:
                return found
        return self.state.snapshot().composition

    def render_for(self, request: Request) -> tuple[Any, Any] | Response:
        comp = self.composition(request)
        if comp is None:
            return _text("Nothing composed yet: fix the error shown on the preview page.", 503)
        segment = request.path_params["segment"]
        render = comp.renders.get(segment)
        if render is None:
            known = ", ".join(comp.renders) or "none"
            return _text(f"No segment '{segment}' in this bulletin (it has: {known}).", 404)
        sample = find_sample(request.query_params.get("r"))
        if sample is None:
            keys = ", ".join(s.key for s in SAMPLES)
            return _text(f"No sample recipient '{request.query_params.get('r')}' (try: {keys}).", 400)
        return render, sample

    async def page(self, request: Request) -> Response:
        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP, **NO_STORE})

    async def api_state(self, request: Request) -> Response:
        payload = state_payload(self.state.snapshot(), self.state.source.label, self.state.instance)
        payload["editable"] = self.editable
        return JSONResponse(payload, headers=NO_STORE)

    async def api_version(self, request: Request) -> Response:
        return JSONResponse({"version": self.state.version, "instance": self.state.instance}, headers=NO_STORE)

    async def email_html(self, request: Request) -> Response:
        found = self.render_for(request)
        if isinstance(found, Response):
            return found
        render, sample = found
        base_url = self.state.source.base_url
        # Pictures are not published yet: show the files in the bulletin's folder.
        html = render.html.replace(f"{base_url.rstrip('/')}/assets/", "/assets/")
        body = frame_html(personalise(html, sample, preview_unsubscribe_url(base_url)))
        headers = {
            "Content-Security-Policy": EMAIL_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            **NO_STORE,
        }
        return HTMLResponse(body, headers=headers)

    async def email_text(self, request: Request) -> Response:
        found = self.render_for(request)
        if isinstance(found, Response):
            return found
        render, sample = found
        unsubscribe = preview_unsubscribe_url(self.state.source.base_url)
        return PlainTextResponse(
            personalise(render.text, sample, unsubscribe),
            headers={"X-Content-Type-Options": "nosniff", **NO_STORE},
        )

    async def picture(self, request: Request) -> Response:
        name = request.path_params["name"]
        compositions = [self.state.snapshot().composition]
        if self.drafts is not None:
            compositions.insert(0, self.drafts())
        for comp in compositions:
            found = [a for a in (comp.assets.values() if comp else ()) if a.public_name == name]
            if found:
                # Named by content: a changed picture gets a new name, so this may be kept.
                forever = {"Cache-Control": "public, max-age=31536000, immutable"}
                return FileResponse(found[0].path, media_type=found[0].content_type, headers=forever)
        return _text("No such picture in this bulletin.", 404)

    async def events(self, request: Request) -> Response:
        return StreamingResponse(
            self._stream(),
            media_type="text/event-stream",
            headers={**NO_STORE, "X-Accel-Buffering": "no"},
        )

    async def _stream(self) -> AsyncIterator[str]:
        state = self.state
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
