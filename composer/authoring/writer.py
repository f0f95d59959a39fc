"""Write a bulletin source and its pictures: all or nothing, never over an existing file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from composer.errors import InputError, Location


class _Dumper(yaml.SafeDumper):
    """Block style for paragraphs, so staff read and edit Markdown as it will show."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump_yaml(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)


def to_yaml(data: dict[str, Any], header: str = "") -> str:
    body = dump_yaml(data)
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    return ("\n".join(lines) + "\n\n" if lines else "") + body.replace("\n- block:", "\n\n- block:")


def refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise InputError("already exists; choose another name or add --force to replace it", Location(file=path))


def write_atomic(path: Path, content: bytes, force: bool = False) -> None:
    """Write through a temporary file in the same folder, then rename it into place."""
    refuse_existing(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
