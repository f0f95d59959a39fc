"""`GET /assets/<sha256 prefix>.<ext>`: the pictures compose published, and nothing else.

Compose copies each picture to `out/<bulletin>/assets/<name>`, named by its content, so
an address never changes what it shows and may be cached for a year. Only names of that
exact form are looked up, and only in those folders: no other file on the disk is reachable.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from composer.compose.assets import CONTENT_TYPES, PUBLIC_NAME

CACHE_FOREVER = "public, max-age=31536000, immutable"


class AssetRoutes:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def find(self, name: str) -> Path | None:
        if not PUBLIC_NAME.fullmatch(name):
            return None
        for path in sorted(self.out_dir.glob(f"*/assets/{name}")):
            if path.is_file():
                return path
        return None

    async def get(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        path = self.find(name)
        if path is None:
            return PlainTextResponse("not found\n", status_code=404)
        return FileResponse(
            path,
            media_type=CONTENT_TYPES[Path(name).suffix],
            headers={"cache-control": CACHE_FOREVER, "cross-origin-resource-policy": "cross-origin"},
        )
