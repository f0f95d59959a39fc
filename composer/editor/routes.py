"""The editor's HTTP routes, mounted beside the preview's when it listens on loopback.

Every POST passes the `Guard` (session token, own Origin) and is read with a size cap
before anything is parsed; composing and writing run in a worker thread, so the event
streams keep flowing meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from composer.compose.assets import CONTENT_TYPES, MAX_BYTES
from composer.compose.limits import SOURCE_FILE_MAX_BYTES
from composer.editor import uploads
from composer.editor.session import EditorSession, SaveRefused
from composer.errors import InputError
from composer.preview.payload import NO_STORE

JSON_MAX_BYTES = 4 * SOURCE_FILE_MAX_BYTES  # a whole bulletin as JSON, with room to spare

Handler = Callable[[Request], Awaitable[Response]]


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status, headers=NO_STORE)


def _refused(message: str, status: int, **more: Any) -> Response:
    return _json({"ok": False, "message": message, **more}, status)


class TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (TooLarge) as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class EditorRoutes:
    """`/api/edit/*` over one `EditorSession`."""

    def __init__(self, session: EditorSession) -> None:
        self.session = session

    def routes(self) -> list[Route]:
        return [
            Route("/api/edit/session", self.opened),
            Route("/api/edit/draft", self._write(self.draft), methods=["POST"]),
            Route("/api/edit/check", self._write(self.check), methods=["POST"]),
            Route("/api/edit/save", self._write(self.save), methods=["POST"]),
            Route("/api/edit/upload", self._write(self.upload), methods=["POST"]),
            Route("/api/edit/pictures/{name}", self.picture),
        ]

    def _write(self, handler: Handler) -> Handler:
        """`handler` behind the guard, with bad input answered as a message."""

        async def guarded(request: Request) -> Response:
            refusal = self.session.guard.refusal(request)
            if refusal is not None:
                return _refused(refusal, 403)
            try:
                return await handler(request)
            except TooLarge:
                return _refused("refused: the request is larger than any bulletin or picture needs", 413)
            except (ValueError, KeyError, TypeError) as exc:
                return _refused(f"refused: the request could not be read ({type(exc).__name__})", 400)
            except InputError as exc:
                return _refused(exc.reason, 422)

        return guarded

    async def _document(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise ValueError("not JSON")
        data = json.loads(await _body(request, JSON_MAX_BYTES))
        if not isinstance(data, dict) or not isinstance(data.get("document"), dict):
            raise ValueError("no document")
        return data

    async def opened(self, request: Request) -> Response:
        data = await run_in_threadpool(self.session.opened)
        return _json({"token": self.session.guard.issue(), **data})

    async def draft(self, request: Request) -> Response:
        data = await self._document(request)
        shown = [str(s) for s in data.get("shown") or []]
        payload = await run_in_threadpool(self.session.draft, int(data["number"]), data["document"], shown)
        check = data.get("check")
        if isinstance(check, dict):
            fields = [str(f) for f in check.get("markdown") or []]
            payload["check"] = await run_in_threadpool(self.session.check, data["document"], int(check["index"]), fields)
        return _json(payload)

    async def check(self, request: Request) -> Response:
        data = await self._document(request)
        fields = [str(f) for f in data.get("markdown") or []]
        result = await run_in_threadpool(self.session.check, data["document"], int(data["index"]), fields)
        return _json(result)

    async def save(self, request: Request) -> Response:
        data = await self._document(request)
        try:
            result = await run_in_threadpool(self.session.save, str(data["base"]), data["document"])
        except SaveRefused as refused:
            status = 409 if refused.stale else 422
            problems = [p.as_dict() for p in refused.problems]
            return _refused(refused.message, status, stale=refused.stale, problems=problems)
        return _json({"ok": True, **result})

    async def upload(self, request: Request) -> Response:
        try:
            data = await _body(request, MAX_BYTES)
        except TooLarge:
            return _refused(f"this picture is larger than {MAX_BYTES:,} bytes; make it smaller (600 pixels wide is enough)", 413)
        wanted = request.query_params.get("name", "picture")
        result = await run_in_threadpool(self.session.upload, wanted, data)
        return _json({"ok": True, **result})

    async def picture(self, request: Request) -> Response:
        try:
            folder = uploads.picture_folder(self.session.path, self.session.source.root)
            path = uploads.inside(folder, request.path_params["name"])
        except InputError as exc:
            return _refused(exc.reason, 404)
        kind = CONTENT_TYPES.get(".jpg" if path.suffix.lower() == ".jpeg" else path.suffix.lower())
        if kind is None or not path.is_file():
            return _refused("no such picture in the bulletin's folder", 404)
        return FileResponse(path, media_type=kind, headers={"X-Content-Type-Options": "nosniff", **NO_STORE})
