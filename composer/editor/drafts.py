"""Unsaved drafts: composed for the panes, and checked field by field as staff type.

Both go through the pipeline the CLI uses (`load_bulletin`, `compose_bulletin`), handed
the draft as text, so a field shows exactly the message `bulletin compose` would give
for it, and the panes show exactly the email it would write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from composer.compose import markdown
from composer.compose.model import Composition
from composer.compose.pipeline import compose_bulletin
from composer.compose.source import load_bulletin
from composer.editor.document import draft_text, without_origins
from composer.errors import InputError, display_path
from composer.workspace import Workspace

_TOKEN = re.compile(r"%%BT\.([a-z_]+)\.h%%")
_FIELD_PART = re.compile(r"^([a-z][a-z0-9_]*)")


@dataclass(frozen=True)
class Problem:
    """One validation message, placed on the form: a section's field, or the metadata."""

    message: str  # as the CLI prints it, location first
    reason: str  # the message alone, shown on the field
    section: int | None  # 1-based, as in the CLI's message
    field: str | None  # as the CLI names it: `headline`, `timeline[2].at`, `subject.lmc`

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def problems(exc: InputError, root: Path, section: int | None = None) -> list[Problem]:
    """Every error an InputError carries (one, or all of them when validation collects
    them). The line is left out: it is the draft's, not yet the file's. With `section`,
    the draft held only that section, checked as section 1."""
    found = [e for e in getattr(exc, "errors", None) or [exc] if isinstance(e, InputError)] or [exc]
    out = []
    for error in found:
        where = error.location
        number = section if section is not None and where.section == 1 else where.section
        file = display_path(where.file, root) if where.file is not None else None
        described = replace(where, file=file, line=None, column=None, section=number).describe()
        message = f"{described}: {error.reason}" if described else error.reason
        out.append(Problem(message=message, reason=error.reason, section=number, field=where.field))
    return out


def compose_draft(workspace: Workspace, path: Path, document: dict[str, Any], shown: list[str]) -> Composition:
    """The draft composed as the file would be: the single segments, plus any combination
    the page is showing (every combination is what a save composes)."""
    variants = [name.split("+") for name in shown if "+" in name]
    return compose_bulletin(workspace, path, variants=variants, text=draft_text(document))


def check_section(
    workspace: Workspace, path: Path, document: dict[str, Any], index: int
) -> list[Problem]:
    """The messages for section `index` (1-based) of the draft, and for the metadata.

    The section is checked on its own, under the draft's metadata, so a mistake in
    another section does not hide this one's."""
    plain = without_origins(document)
    sections = plain.get("sections") or []
    if not 1 <= index <= len(sections):
        return []
    alone = {**plain, "sections": [sections[index - 1]]}
    try:
        load_bulletin(workspace, path, draft_text(alone))
    except InputError as exc:
        return problems(exc, Path(workspace.root), section=index)
    return []


def markdown_previews(section: dict[str, Any], markdown_fields: list[str]) -> dict[str, str]:
    """Each Markdown field of a section as the email's HTML, merge fields shown ‹so›."""
    out: dict[str, str] = {}
    for name in markdown_fields:
        head = _FIELD_PART.match(name)
        value = _lookup(section, name) if head else None
        if isinstance(value, str) and value.strip():
            out[name] = _TOKEN.sub(lambda m: f"‹{m.group(1)}›", markdown.to_html(value))
    return out


def _lookup(data: Any, path: str) -> Any:
    """`demands[2]` or `timeline[1].note` (1-based, as the CLI names fields) in `data`."""
    for part in re.findall(r"[a-z][a-z0-9_]*|\[\d+\]", path):
        if part.startswith("["):
            position = int(part[1:-1]) - 1
            data = data[position] if isinstance(data, list) and 0 <= position < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
    return data
