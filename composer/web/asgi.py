"""An import string for uvicorn (`--workers N` needs one): the app for $BULLETIN_WORKSPACE.

    uvicorn --factory composer.web.asgi:create_from_env --workers 4
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from composer.web.app import create_app
from composer.workspace import load_workspace


def create_from_env() -> Starlette:
    """Build the app for the workspace named by BULLETIN_WORKSPACE (or found from the cwd);
    it runs due scheduled sends unless BULLETIN_SERVE_SCHEDULES is "0" (`serve --no-schedules`)."""
    return create_app(load_workspace(), run_schedules=os.environ.get(ENV_SCHEDULES, "1") != "0")


ENV_SCHEDULES = "BULLETIN_SERVE_SCHEDULES"
