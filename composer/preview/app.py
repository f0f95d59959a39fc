"""The preview's Starlette app: the preview's routes, the editor's when it may edit.

The editor is mounted only when the app is told which Host names to accept (the server
does that when it listens on loopback) and the source is a real bulletin file.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from composer.preview.hosts import KnownHostsOnly
from composer.preview.routes import STATIC_DIR, PreviewRoutes
from composer.preview.state import BulletinSource, PreviewState


def create_app(
    state: PreviewState, *, allowed_hosts: frozenset[str] | None = None, editable: bool | None = None
) -> Starlette:
    """The preview app over `state`; it never composes for the preview, only shows.

    With `allowed_hosts`, a request whose Host header names anything else is refused, and
    the editor is on (unless `editable` is False) for a bulletin file. Without, the page
    is read-only: anyone who can reach a non-loopback address must not write files.
    """
    routes: list[BaseRoute] = []
    session = None
    can_edit = allowed_hosts is not None and editable is not False and isinstance(state.source, BulletinSource)
    if can_edit:
        from composer.editor.routes import EditorRoutes
        from composer.editor.session import EditorSession

        assert isinstance(state.source, BulletinSource)
        session = EditorSession(state, state.source)
        routes += EditorRoutes(session).routes()
    preview = PreviewRoutes(state, drafts=session.draft_composition if session else None, editable=can_edit)
    routes += preview.routes()
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"))
    middleware = [Middleware(KnownHostsOnly, allowed=allowed_hosts)] if allowed_hosts else []
    return Starlette(routes=routes, middleware=middleware)
