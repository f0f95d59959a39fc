"""An import string for uvicorn (`--workers N` needs one): the app for $BULLETIN_WORKSPACE.

    uvicorn --factory composer.web.asgi:create_from_env --workers 4
"""

from __future__ import annotations

from starlette.applications import Starlette

from composer.web.app import create_app
from composer.workspace import load_workspace


def create_from_env() -> Starlette:
    """Build the app for the workspace named by BULLETIN_WORKSPACE (or found from the cwd)."""
    return create_app(load_workspace())
