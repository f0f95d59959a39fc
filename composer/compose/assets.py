"""Images that staff keep next to the bulletin: found, checked, and published by content.

A bulletin `bulletins/2026-06-gpce.yaml` keeps its pictures in `bulletins/2026-06-gpce/`;
an image field's `src` names a file there (`src: collective-action.png`). Compose gives
each file a public address under `base_url` named by its content
(`/assets/<sha256 prefix>.<ext>`), so a changed picture gets a new address and an old
email keeps the picture it was sent with; `bulletin serve` answers those addresses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from composer.compose.source import LoadedBulletin, LoadedSection
from composer.errors import InputError, InputErrors, Location

# Pillow's format name → the extension and Content-Type we publish it under.
FORMATS = {"PNG": (".png", "image/png"), "JPEG": (".jpg", "image/jpeg"), "GIF": (".gif", "image/gif")}
CONTENT_TYPES = dict(FORMATS.values())
PUBLIC_NAME = re.compile(r"^[0-9a-f]{16}\.(?:png|jpg|gif)$")  # all `bulletin serve` will answer
DIGEST_CHARS = 16
WARN_BYTES = 200_000  # a picture this heavy slows the open on a phone connection
MAX_BYTES = 1_000_000
MAX_DISPLAY_WIDTH = 552  # the 600 px column less 24 px padding each side


@dataclass(frozen=True)
class Asset:
    path: Path
    digest: str  # sha256 of the bytes
    ext: str
    content_type: str
    width: int
    height: int
    size: int

    @property
    def public_name(self) -> str:
        return f"{self.digest[:DIGEST_CHARS]}{self.ext}"


def asset_dir(bulletin_path: Path) -> Path:
    """The folder of a bulletin's pictures: its file name without `.yaml`, beside it."""
    return bulletin_path.with_suffix("")


def is_local(src: str) -> bool:
    return not urlsplit(src).scheme


def public_url(base_url: str, asset: Asset) -> str:
    return f"{base_url.rstrip('/')}/assets/{asset.public_name}"


def load_asset(bulletin_path: Path, src: str, where: Location) -> Asset:
    """Read one picture named in the bulletin; InputError if it is missing or not an image."""
    from PIL import Image, UnidentifiedImageError

    folder = asset_dir(bulletin_path)
    rel = PurePosixPath(src)
    if rel.is_absolute() or ".." in rel.parts or "\\" in src:
        raise InputError(f"'{src}' must name a file inside {folder.name}/ (no '..', no absolute path)", where)
    path = folder / rel
    if not path.is_file():
        raise InputError(f"no picture '{src}': put the file in {folder.parent.name}/{folder.name}/ (PNG, JPEG or GIF)", where)
    data = path.read_bytes()
    try:
        with Image.open(path) as image:
            image.verify()
            fmt, (width, height) = image.format or "", image.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"'{src}' is not a readable picture ({exc}); save it as PNG, JPEG or GIF", where) from None
    if fmt not in FORMATS:
        raise InputError(f"'{src}' is a {fmt} file; email clients need PNG, JPEG or GIF", where)
    ext, content_type = FORMATS[fmt]
    return Asset(path, hashlib.sha256(data).hexdigest(), ext, content_type, width, height, len(data))


def image_fields(section: LoadedSection) -> list[str]:
    return [spec.name for spec in section.block.fields if spec.type == "image" and getattr(section.values, spec.name, None)]


def collect_assets(bulletin: LoadedBulletin) -> dict[str, Asset]:
    """Every local picture the bulletin names, by its `src`; every one that cannot be
    used is reported at once."""
    found: dict[str, Asset] = {}
    problems: list[InputError] = []
    for pos, section in enumerate(bulletin.sections):
        for name in image_fields(section):
            src = getattr(section.values, name).src
            if not is_local(src) or src in found:
                continue
            where = Location(
                file=bulletin.path, line=bulletin.document.line_of("sections", pos, name, "src") or section.line,
                section=section.index, block=section.block.name, field=f"{name}.src",
            )  # fmt: skip
            try:
                found[src] = load_asset(bulletin.path, src, where)
            except InputError as exc:
                problems.append(exc)
    if problems:
        raise InputErrors(problems)
    return found


def displayed_width(width: int | None) -> int:
    return min(width or MAX_DISPLAY_WIDTH, MAX_DISPLAY_WIDTH)


def displayed_height(asset: Asset, width: int | None) -> int:
    return round(asset.height * displayed_width(width) / asset.width)


def write_assets(assets: dict[str, Asset], out_dir: Path) -> list[Path]:
    """Copy each picture to `out_dir/assets/<public name>`, ready to publish."""
    if not assets:
        return []
    folder = out_dir / "assets"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for asset in assets.values():
        target = folder / asset.public_name
        target.write_bytes(asset.path.read_bytes())
        written.append(target)
    return written
