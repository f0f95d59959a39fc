"""The segments (audiences) declared in `lists/segments.yaml`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from composer.errors import InputError, Location

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Segment:
    name: str
    description: str


def load_segments(path: Path) -> dict[str, Segment]:
    """Read the segment declarations, in file order, keyed by name."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("the segments file is missing", Location(file=path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"not valid YAML: {exc}", Location(file=path, line=line)) from None
    items = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError("expected a non-empty list under 'segments:'", Location(file=path))
    segments: dict[str, Segment] = {}
    for index, item in enumerate(items, start=1):
        where = Location(file=path, field=f"segments[{index}]")
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InputError("each segment needs a 'name'", where)
        name = item["name"]
        if not _NAME.match(name):
            raise InputError(f"segment name '{name}' must be lower-case letters, digits, - or _", where)
        if name in segments:
            raise InputError(f"segment '{name}' is declared twice", where)
        segments[name] = Segment(name=name, description=str(item.get("description", "")))
    return segments


def require_segment(segments: dict[str, Segment], name: str, where: Location | None = None) -> Segment:
    """The named segment, or an InputError that lists the known ones."""
    try:
        return segments[name]
    except KeyError:
        known = ", ".join(segments)
        raise InputError(f"unknown segment '{name}' (known: {known})", where) from None
