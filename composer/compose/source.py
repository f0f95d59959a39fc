"""Phase one of compose: load and validate a bulletin source and every block it uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from composer.compose.blocks import BlockSpec, OneLine, load_block, refuse_control_characters
from composer.compose.merge import WRITER_FIELD
from composer.compose.variants import Audience, meets, pick_text, split_name, variant_name
from composer.compose.yamlsource import YamlDocument, load_yaml
from composer.errors import InputError, Location
from composer.segments import Segment, load_segments
from composer.workspace import Workspace

RESERVED_SECTION_KEYS = ("block", "audiences")


class BulletinMeta(BaseModel):
    """The metadata at the top of a bulletin source."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # A plain text for everyone, or a mapping segment (or combination) → text.
    subject: OneLine | dict[str, OneLine]
    preheader: OneLine | dict[str, OneLine] = ""
    issue_date: date
    from_: str | None = Field(default=None, alias="from")
    reply_to: str | None = None
    segments: list[str] = Field(min_length=1)
    layout: str = Field(default="default", pattern=r"^[a-z][a-z0-9_-]*$")
    sections: list[Any] = Field(min_length=1)

    @field_validator("from_", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        refuse_control_characters(value)
        _, addr = parseaddr(value)
        if "@" not in addr:
            raise ValueError(f"'{value}' is not an address like 'Name <someone@example.org>'")
        return value


@dataclass(frozen=True)
class LoadedSection:
    index: int  # 1-based
    block: BlockSpec
    values: BaseModel
    audiences: tuple[str, ...]
    line: int | None

    @property
    def anchor(self) -> str:
        return f"section-{self.index}-{self.block.name.replace('_', '-')}"

    @property
    def title(self) -> str:
        field = self.block.declaration.title_field
        value = getattr(self.values, field, None) if field else None
        if not value:
            return self.block.name.replace("_", " ").capitalize()
        # "Dear {{ first_name }}" reads as "Dear ‹first_name›" in reports and the preview.
        return WRITER_FIELD.sub(lambda m: f"‹{m.group(1)}›", str(value))


@dataclass(frozen=True)
class LoadedBulletin:
    path: Path
    meta: BulletinMeta
    sections: tuple[LoadedSection, ...]
    segments: dict[str, Segment]
    document: YamlDocument

    @property
    def key(self) -> str:
        return self.path.stem

    def sections_for(self, segment: str) -> list[LoadedSection]:
        return [s for s in self.sections if segment in s.audiences]

    def sections_for_audience(self, audience: Audience) -> list[LoadedSection]:
        """The sections a reader in every segment of `audience` gets: each once, in order."""
        return [s for s in self.sections if meets(s.audiences, audience)]

    def subject_for(self, audience: Audience) -> str:
        return pick_text(self.meta.subject, audience)

    def preheader_for(self, audience: Audience) -> str:
        return pick_text(self.meta.preheader, audience)


def _field_label(loc: tuple[Any, ...]) -> str:
    label = ""
    for part in loc:
        if isinstance(part, int):
            label += f"[{part + 1}]"
        else:
            label += f".{part}" if label else str(part)
    return label


PER_SEGMENT_TEXTS = ("subject", "preheader")


def _first_error(exc: ValidationError) -> tuple[tuple[Any, ...], str]:
    error = exc.errors()[0]
    if error["loc"][0] in PER_SEGMENT_TEXTS and error["type"] != "missing":
        return _text_error(exc, str(error["loc"][0]))
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "this required field is missing"
    elif error["type"] == "extra_forbidden":
        message = "this field is not known here"
    return loc, message


def _text_error(exc: ValidationError, name: str) -> tuple[tuple[Any, ...], str]:
    """A subject or preheader is a text or a mapping of texts (two pydantic branches):
    name the mapping's entry at fault when it is a mapping, else say what is wanted."""
    for error in exc.errors():
        loc = error["loc"]
        if loc[0] == name and len(loc) == 3:  # (name, the mapping branch, key)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "string_type":
                message = "must be one line of text"
            return (name, loc[2]), message
        if loc[0] == name and len(loc) == 2 and "str" in str(loc[1]) and error["type"] == "value_error":
            return (name,), error["msg"].removeprefix("Value error, ")
    return (name,), f"the {name} must be one line of text, or a mapping of segment to text (lmc: ...)"


def load_bulletin(workspace: Workspace, path: Path, text: str | None = None) -> LoadedBulletin:
    """Read a bulletin, its segments and every block it uses; raise on the first mistake.

    `text` stands in for the file's contents (the preview's editor composes a draft
    before it is saved); pictures and messages still refer to `path`."""
    doc = load_yaml(path, text)
    if not isinstance(doc.data, dict):
        raise InputError("a bulletin must be a YAML mapping (subject:, sections:, ...)", Location(file=path))
    try:
        meta = BulletinMeta.model_validate(doc.data)
    except ValidationError as exc:
        loc, message = _first_error(exc)
        if loc and loc[0] == "from_":
            loc = ("from", *loc[1:])
        if loc and loc[0] == "sections" and len(loc) == 1:
            message = "a bulletin needs a list of sections"
        raise InputError(
            message, Location(file=path, line=doc.line_of(*loc), field=_field_label(loc))
        ) from None

    segments = load_segments(workspace.segments_file)
    for i, name in enumerate(meta.segments):
        if name not in segments:
            raise InputError(
                f"unknown segment '{name}' (known: {', '.join(segments)})",
                Location(file=path, line=doc.line_of("segments", i), field="segments"),
            )
    meta = meta.model_copy(
        update={name: _per_segment_text(doc, meta, name) for name in ("subject", "preheader")}
    )
    tz = workspace.sender.timezone
    sections = tuple(
        _load_section(workspace, doc, index, raw, meta, tz)
        for index, raw in enumerate(meta.sections, start=1)
    )
    return LoadedBulletin(path=path, meta=meta, sections=sections, segments=segments, document=doc)


def _per_segment_text(doc: YamlDocument, meta: BulletinMeta, name: str) -> str | dict[str, str]:
    """A `subject:` or `preheader:` mapping with its keys checked and written as variant
    names (`practice+lmc` → `lmc+practice`). A subject mapping must give every segment one."""
    value = getattr(meta, name)
    if isinstance(value, str):
        return value
    order = list(meta.segments)
    resolved: dict[str, str] = {}
    for key, text in value.items():
        where = Location(file=doc.path, line=doc.line_of(name, key), field=f"{name}.{key}")
        parts = split_name(str(key))
        unknown = [p for p in parts if p not in order]
        if unknown or len(set(parts)) != len(parts):
            raise InputError(
                f"'{key}' is not a segment of this bulletin nor segments joined with '+' "
                f"(this bulletin goes to: {', '.join(order)})",
                where,
            )
        canonical = variant_name(parts, order)
        if canonical in resolved:
            raise InputError(f"'{key}' is given twice (as '{canonical}')", where)
        resolved[canonical] = text
    if name == "subject":
        missing = [s for s in order if s not in resolved]
        if missing:
            raise InputError(
                f"the subject has no entry for segment '{missing[0]}'; give every segment a "
                "subject, or one plain subject for all",
                Location(file=doc.path, line=doc.line_of(name), field=name),
            )
    return resolved


def _load_section(
    workspace: Workspace, doc: YamlDocument, index: int, raw: Any, meta: BulletinMeta, tz: str
) -> LoadedSection:
    pos = index - 1
    line = doc.line_of("sections", pos)
    where = Location(file=doc.path, line=line, section=index)
    if not isinstance(raw, dict):
        raise InputError("a section must be a mapping that starts with 'block:'", where)
    block_name = raw.get("block")
    if not isinstance(block_name, str) or not block_name:
        raise InputError("this section has no 'block:'", Location(file=doc.path, line=line, section=index, field="block"))
    try:
        block = load_block(workspace.sections_dir, block_name, tz)
    except InputError as exc:
        if exc.location.file is not None:
            raise
        raise InputError(
            exc.reason,
            Location(file=doc.path, line=doc.line_of("sections", pos, "block"), section=index, block=block_name, field="block"),
        ) from None

    audiences = raw.get("audiences", list(meta.segments))
    if isinstance(audiences, str):
        audiences = [audiences]
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise InputError(
            "audiences must be a list of segment names",
            Location(file=doc.path, line=doc.line_of("sections", pos, "audiences"), section=index, block=block_name, field="audiences"),
        )
    for a_index, audience in enumerate(audiences):
        if audience not in meta.segments:
            raise InputError(
                f"unknown segment '{audience}' (this bulletin goes to: {', '.join(meta.segments)})",
                Location(
                    file=doc.path,
                    line=doc.line_of("sections", pos, "audiences", a_index),
                    section=index,
                    block=block_name,
                    field="audiences",
                ),
            )

    values = {k: v for k, v in raw.items() if k not in RESERVED_SECTION_KEYS}
    try:
        model = block.model.model_validate(values)
    except ValidationError as exc:
        loc, message = _first_error(exc)
        known = ", ".join(f.name for f in block.fields)
        if message == "this field is not known here":
            message = f"block '{block_name}' has no field like this (its fields: {known})"
        raise InputError(
            message,
            Location(
                file=doc.path,
                line=doc.line_of("sections", pos, *loc) if loc else line,
                section=index,
                block=block_name,
                field=_field_label(loc) or None,
            ),
        ) from None
    return LoadedSection(index=index, block=block, values=model, audiences=tuple(audiences), line=line)
