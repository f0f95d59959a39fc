"""The one reader of a layout's `theme.yaml`: colours and fonts for templates and pages.

Compose passes the mapping to templates as `theme`; `bulletin serve` takes its page
colours from it. A missing file is an empty theme; a file that is there but not a YAML
mapping is an InputError naming the file and line, for both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer.compose.yamlsource import load_yaml
from composer.errors import InputError, Location

THEME = "theme.yaml"


def load_theme(path: Path) -> dict[str, Any]:
    """The mapping in `path`, {} when there is no such file."""
    if not path.is_file():
        return {}
    document = load_yaml(path)
    if document.data is None:
        return {}
    if not isinstance(document.data, dict):
        raise InputError(
            "a theme is a mapping of names to values (brand: \"#1b2a4a\"), not a list or text",
            Location(file=path, line=1),
        )
    return {str(k): v for k, v in document.data.items()}
