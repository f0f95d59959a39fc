"""`bulletin new`: the next issue, with the last one's structure.

Standing sections (`standing: true` in block.yaml: the sign-off, the useful links) are
kept as they were; every other section keeps its block and audiences, and its fields get
placeholders that `bulletin check` reports as errors until staff fill them in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer.authoring.writer import refuse_existing, to_yaml, write_atomic
from composer.compose.blocks import FieldSpec, load_block
from composer.compose.checks import FILL_IN, PLACEHOLDER_DATE, PLACEHOLDER_URL
from composer.compose.yamlsource import load_yaml
from composer.errors import InputError, Location
from composer.workspace import Workspace

KEPT_META = ("from", "reply_to", "segments", "layout")


def placeholder(field: FieldSpec, previous: Any) -> Any:
    """What staff must replace, shaped so the bulletin still loads."""
    if field.type in ("string", "markdown"):
        text = f"{FILL_IN}: {field.name.replace('_', ' ')}"
        return text + "\n" if field.type == "markdown" else text
    if field.type == "url":
        return PLACEHOLDER_URL
    if field.type == "date":
        return PLACEHOLDER_DATE
    if field.type == "datetime":
        return f"{PLACEHOLDER_DATE.isoformat()} 00:00"
    if field.type == "link":
        return {"text": f"{FILL_IN}: link text", "url": PLACEHOLDER_URL}
    if field.type == "image":
        return {"src": PLACEHOLDER_URL + "picture.png", "alt": f"{FILL_IN}: what the picture shows"}
    if field.type == "list":
        if isinstance(field.items, list):
            return [{f.name: placeholder(f, None) for f in field.items if f.required}]
        return [placeholder(FieldSpec.model_validate({"name": "item", "type": field.items or "string"}), None)]
    return previous  # email, boolean, integer: the last issue's value is the likely one


def _section(workspace: Workspace, raw: dict[str, Any]) -> dict[str, Any]:
    block = load_block(workspace.sections_dir, str(raw.get("block")), workspace.sender.timezone)
    if block.declaration.standing:
        return dict(raw)
    out: dict[str, Any] = {"block": block.name}
    if "audiences" in raw:
        out["audiences"] = raw["audiences"]
    for field in block.fields:
        if field.required or (field.name in raw and field.type in ("markdown", "string", "list")):
            value = placeholder(field, raw.get(field.name))
            if value is not None:
                out[field.name] = value
    return out


def new_issue(workspace: Workspace, target: Path, source: Path, force: bool = False) -> Path:
    """Write `target` from `source`'s structure; refuse to overwrite unless `force`."""
    refuse_existing(target, force)
    doc = load_yaml(source)
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("sections"), list):
        raise InputError("a bulletin with a list of sections is needed to start from", Location(file=source))
    data: dict[str, Any] = {
        "subject": f"{FILL_IN}: subject",
        "preheader": f"{FILL_IN}: preheader",
        "issue_date": PLACEHOLDER_DATE,
    }
    data.update({k: doc.data[k] for k in KEPT_META if k in doc.data})
    data["sections"] = [_section(workspace, raw) for raw in doc.data["sections"] if isinstance(raw, dict)]
    header = (
        f"Started from {source.name} by `bulletin new`. Replace every FILL IN, the date 1900-01-01\n"
        f"and {PLACEHOLDER_URL}: `bulletin check` lists each one until it is done."
    )
    write_atomic(target, to_yaml(data, header).encode("utf-8"), force)
    return target
