"""The bulletin's picture folder from the editor: what is in it, and new pictures for it.

An upload is checked by its content, not its name: Pillow must read it as a PNG, JPEG or
GIF, and it may be at most `assets.MAX_BYTES` (what compose accepts). Its name is
reduced to letters, digits, `-` and `_` with the extension of what it really is, and it
is written only into the folder, through a temporary file renamed into place; a name
already taken by a different picture gets a number instead of replacing it.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from composer.authoring.writer import write_atomic
from composer.compose.assets import FORMATS, MAX_BYTES, asset_dir
from composer.errors import InputError

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
_UNSAFE = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class Picture:
    name: str
    size: int
    width: int
    height: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def inside(folder: Path, name: str) -> Path:
    """`folder/name`, refused unless it stays inside `folder` (no `..`, no link out)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise InputError(f"'{name}' is not a plain file name")
    root = folder.resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise InputError(f"'{name}' is not inside {folder.name}/")
    return path


def picture_folder(bulletin: Path, root: Path) -> Path:
    """The bulletin's picture folder, refused if it (or a link in its place) leads out
    of the workspace: uploads must land where compose and the workspace's owner look."""
    folder = asset_dir(bulletin)
    if not folder.resolve().is_relative_to(root.resolve()):
        raise InputError(f"{folder.name}/ leads outside the workspace; uploads go only into the workspace")
    return folder


def _measure(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) when `data` is a whole PNG, JPEG or GIF; else InputError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            fmt, (width, height) = image.format or "", image.size
    except Image.DecompressionBombError:
        raise InputError("this picture claims to be hundreds of megapixels; save it at email size (600 pixels wide)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InputError("this file is not a picture Pillow can read; save it as PNG, JPEG or GIF") from None
    if fmt not in FORMATS:
        raise InputError(f"this is a {fmt} picture; email clients need PNG, JPEG or GIF")
    return fmt, width, height


def pictures(bulletin: Path) -> list[Picture]:
    """The pictures in the bulletin's folder, by name (what an image field may name)."""
    folder = asset_dir(bulletin)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in PICTURE_SUFFIXES or not path.is_file() or path.is_symlink():
            continue
        try:
            _, width, height = _measure(path.read_bytes())
        except InputError:
            continue
        found.append(Picture(path.name, path.stat().st_size, width, height))
    return found


def safe_name(wanted: str, fmt: str) -> str:
    """`Campaign Banner (final).PNG` → `campaign-banner-final.png`, by what it really is."""
    stem = _UNSAFE.sub("-", Path(wanted).stem.lower()).strip("-_")[:60] or "picture"
    return stem + FORMATS[fmt][0]


def save_upload(bulletin: Path, root: Path, wanted: str, data: bytes) -> Picture:
    """Check `data` and put it in the picture folder; the name it was saved under."""
    if len(data) > MAX_BYTES:
        raise InputError(
            f"this picture is {len(data):,} bytes; at most {MAX_BYTES:,} (make it smaller: "
            "600 pixels wide is enough for an email)"
        )
    if not data:
        raise InputError("the file is empty")
    fmt, width, height = _measure(data)
    folder = picture_folder(bulletin, root)
    folder.mkdir(parents=True, exist_ok=True)
    name = safe_name(wanted, fmt)
    stem, ext = name.rsplit(".", 1)
    number = 1
    path = inside(folder, name)
    while path.exists():
        if path.is_file() and hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest():
            break  # the same picture again: nothing to write
        number += 1
        name = f"{stem}-{number}.{ext}"
        path = inside(folder, name)
    else:
        write_atomic(path, data)
    return Picture(name, len(data), width, height)
