"""The editor's forms, built from the block declarations and nothing else.

Each field of a `block.yaml` becomes a plain description the page turns into inputs:
its name, a label, the widget for its type, whether it is required, its default and its
help text. A list holds rows of one item type or of declared sub-fields; an image or a
link holds the parts `composer.compose.blocks` validates (`ImageValue`, `LinkValue`), read
from those models so the form and the validation cannot drift apart. A new block folder
therefore gets its form with no Python and no JavaScript.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from composer.authoring.catalogue import load_all, one_line
from composer.compose.blocks import BlockSpec, FieldSpec, ImageValue, LinkValue

# The input each field type is edited with (the page knows each widget by this name).
WIDGETS = {
    "string": "text",
    "markdown": "markdown",
    "url": "url",
    "email": "email",
    "date": "date",
    "datetime": "datetime",
    "boolean": "checkbox",
    "integer": "number",
    "image": "image",
    "link": "link",
    "list": "list",
}

# The parts of an image or a link: the widget of each, for the fields of the models that
# validate them (`_object_parts` checks every model field has one).
OBJECT_PARTS: dict[str, tuple[type[BaseModel], dict[str, str]]] = {
    "image": (
        ImageValue,
        {"src": "asset", "alt": "text", "width": "number", "height": "number", "href": "url", "decorative": "checkbox"},
    ),
    "link": (LinkValue, {"text": "text", "url": "url"}),
}

# Help for the parts whose model gives none.
PART_HELP = {
    ("image", "src"): "A picture from the bulletin's picture folder (PNG, JPEG or GIF), or an https:// address.",
    ("image", "alt"): "What the picture shows, for readers who cannot see it. Required unless decorative.",
    ("image", "width"): "The width shown, in pixels (at most 552, the email's column). Leave empty for full width.",
    ("image", "href"): "An optional address the picture links to.",
    ("image", "decorative"): "Tick only for pure decoration, with empty alt text.",
    ("link", "text"): "The words of the link: say where it goes, not 'here' or 'read more'.",
    ("link", "url"): "The address, starting https:// (or mailto:).",
}


# Words for the parts of an image or link that read better than their names.
PART_LABELS = {"src": "Picture", "alt": "Alt text", "href": "Links to", "url": "Web address", "text": "Words of the link"}


def label(name: str) -> str:
    """`attribution_name` → `Attribution name`."""
    return name.replace("_", " ").capitalize()


def _object_parts(kind: str) -> list[dict[str, Any]]:
    model, widgets = OBJECT_PARTS[kind]
    missing = sorted(set(model.model_fields) - set(widgets))
    if missing:
        raise RuntimeError(f"the editor has no widget for {kind} field(s) {', '.join(missing)}")
    parts = []
    for name, info in model.model_fields.items():
        parts.append(
            {
                "name": name,
                "label": PART_LABELS.get(name) or label(name),
                "widget": widgets[name],
                "required": info.is_required(),
                "default": None,
                "help": PART_HELP.get((kind, name)) or info.description or "",
            }
        )
    return parts


def item_schema(items: str | list[FieldSpec]) -> dict[str, Any]:
    """What one row of a list holds: a single value of a type, or a group of fields."""
    if isinstance(items, str):
        row: dict[str, Any] = {"type": items, "widget": WIDGETS[items]}
        if items in OBJECT_PARTS:
            row["parts"] = _object_parts(items)
        return row
    return {"type": "group", "widget": "group", "fields": [field_schema(f) for f in items]}


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """One field as the page builds its input."""
    out: dict[str, Any] = {
        "name": spec.name,
        "label": label(spec.name),
        "type": spec.type,
        "widget": WIDGETS[spec.type],
        "required": spec.required,
        "default": spec.default,
        "help": " ".join(spec.help.split()),
    }
    if spec.type in OBJECT_PARTS:
        out["parts"] = _object_parts(spec.type)
    if spec.type == "list" and spec.items is not None:
        out["items"] = item_schema(spec.items)
    return out


def block_schema(spec: BlockSpec) -> dict[str, Any]:
    """A block for the catalogue and its form."""
    declaration = spec.declaration
    return {
        "name": spec.name,
        "label": label(spec.name),
        "summary": one_line(spec),
        "description": " ".join(declaration.description.split()),
        "title_field": declaration.title_field,
        "standing": declaration.standing,
        "example": declaration.example or {},
        "fields": [field_schema(f) for f in spec.fields],
    }


def catalogue(sections_dir: Path) -> list[dict[str, Any]]:
    """Every block of the workspace, in name order."""
    return [block_schema(spec) for spec in load_all(sections_dir)]
