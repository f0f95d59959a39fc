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
from composer.web.limits import BodyTooLarge, read_body

JSON_MAX_BYTES = 4 * SOURCE_FILE_MAX_BYTES  # a whole bulletin as JSON, with room to spare

Handler = Callable[[Request], Awaitable[Response]]


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status, headers=NO_STORE)


def _refused(message: str, status: int, **more: Any) -> Response:
    return _json({"ok": False, "message": message, **more}, status)


class BadRequest(Exception):
    """A write whose body is not what the editor's page sends."""


def _whole(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{key}' must be a whole number")
    return value


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


class EditorRoutes:
    """`/api/edit/*` over one `EditorSession`."""

    def __init__(self, session: EditorSession) -> None:
        self.session = session

    def routes(self) -> list[Route]:
        return [
            Route("/api/edit/session", self.opened),
            Route("/api/edit/base", self.base),
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
            except BodyTooLarge:
                return _refused("refused: the request is larger than any bulletin or picture needs", 413)
            except BadRequest as exc:
                return _refused(f"refused: the request could not be read ({exc})", 400)
            except InputError as exc:
                return _refused(exc.reason, 422)

        return guarded

    async def _document(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise BadRequest("not JSON")
        try:
            data = json.loads(await read_body(request, JSON_MAX_BYTES))
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("document"), dict):
            raise BadRequest("no document")
        return data

    async def opened(self, request: Request) -> Response:
        try:
            data = await run_in_threadpool(self.session.opened)
        except InputError as exc:
            return _refused(exc.reason, 422)
        return _json({"token": self.session.guard.issue(), **data})

    async def base(self, request: Request) -> Response:
        """The digest of the file on disk now: has it changed since the page loaded it?"""
        return _json({"base": await run_in_threadpool(self.session.current_base)})

    async def draft(self, request: Request) -> Response:
        data = await self._document(request)
        number, shown = _whole(data, "number"), _strings(data.get("shown"))
        check = data.get("check")
        index = _whole(check, "index") if isinstance(check, dict) else None
        payload = await run_in_threadpool(self.session.draft, number, data["document"], shown)
        if isinstance(check, dict) and index is not None:
            fields = _strings(check.get("markdown"))
            payload["check"] = await run_in_threadpool(self.session.check, data["document"], index, fields)
        return _json(payload)

    async def check(self, request: Request) -> Response:
        data = await self._document(request)
        index, fields = _whole(data, "index"), _strings(data.get("markdown"))
        result = await run_in_threadpool(self.session.check, data["document"], index, fields)
        return _json(result)

    async def save(self, request: Request) -> Response:
        data = await self._document(request)
        if not isinstance(data.get("base"), str):
            raise BadRequest("no base")
        try:
            result = await run_in_threadpool(self.session.save, data["base"], data["document"])
        except SaveRefused as refused:
            status = 409 if refused.stale else 422
            problems = [p.as_dict() for p in refused.problems]
            return _refused(refused.message, status, stale=refused.stale, problems=problems)
        return _json({"ok": True, **result})

    async def upload(self, request: Request) -> Response:
        try:
            data = await read_body(request, MAX_BYTES)
        except BodyTooLarge:
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
