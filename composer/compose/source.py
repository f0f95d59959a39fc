"""Phase one of compose: load and validate a bulletin source and every block it uses."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from composer.compose.blocks import (
    BlockSpec,
    OneLine,
    UkDate,
    load_block,
    refuse_control_characters,
)
from composer.compose.merge import WRITER_FIELD
from composer.compose.problems import (
    COMMENTED,
    PER_SEGMENT_TEXTS,
    Problems,
    field_label,
    fields_at,
    messages,
)
from composer.compose.variants import Audience, meets, pick_text, split_name, variant_name
from composer.compose.yamlsource import YamlDocument, load_yaml
from composer.errors import InputError, Location, did_you_mean
from composer.segments import Segment, load_segments
from composer.workspace import Workspace

RESERVED_SECTION_KEYS = ("block", "audiences")


class BulletinMeta(BaseModel):
    """The metadata at the top of a bulletin source."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # A plain text for everyone, or a mapping segment (or combination) → text.
    subject: OneLine | dict[str, OneLine]
    preheader: OneLine | dict[str, OneLine] = ""
    issue_date: UkDate
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


def load_bulletin(workspace: Workspace, path: Path, text: str | None = None) -> LoadedBulletin:
    """Read a bulletin, its segments and every block it uses; report every mistake at once.

    `text` stands in for the file's contents (the preview's editor composes a draft
    before it is saved); pictures and messages still refer to `path`."""
    doc = load_yaml(path, text)
    if not isinstance(doc.data, dict):
        raise InputError("a bulletin must be a YAML mapping (subject:, sections:, ...)", Location(file=path))
    problems = Problems(path)
    meta = _load_meta(doc, problems)
    segments = load_segments(workspace.segments_file)
    declared = _declared_segments(doc, meta, segments, problems)
    if meta is not None:
        meta = meta.model_copy(
            update={name: _per_segment_text(doc, meta, name, problems) for name in PER_SEGMENT_TEXTS}
        )
    raw_sections = meta.sections if meta is not None else doc.data.get("sections")
    tz = workspace.sender.timezone
    loaded = [
        _load_section(workspace, doc, index, raw, declared, tz, problems)
        for index, raw in enumerate(raw_sections if isinstance(raw_sections, list) else [], start=1)
    ]
    problems.raise_any()
    assert meta is not None  # a meta that did not validate is a problem raised above
    sections = tuple(s for s in loaded if s is not None)
    return LoadedBulletin(path=path, meta=meta, sections=sections, segments=segments, document=doc)


def _load_meta(doc: YamlDocument, problems: Problems) -> BulletinMeta | None:
    try:
        return BulletinMeta.model_validate(doc.data)
    except ValidationError as exc:
        for loc, message in messages(exc, lambda at: fields_at(BulletinMeta, at), "a bulletin"):
            if loc and loc[0] == "from_":
                loc = ("from", *loc[1:])
            if loc and loc[0] == "sections" and len(loc) == 1:
                message = "a bulletin needs a list of sections"
            if loc in dict(doc.commented):
                message = COMMENTED
            problems.add(message, line=doc.line_of(*loc), field=field_label(loc))
        return None


def _declared_segments(
    doc: YamlDocument, meta: BulletinMeta | None, segments: dict[str, Segment], problems: Problems
) -> list[str]:
    """The bulletin's segments, each checked against lists/segments.yaml. A mistyped one
    is read as its closest match for the rest of the checks, so that one typo in
    `segments:` is one problem, not one more for every section that names the segment."""
    if meta is None:
        given = doc.data.get("segments")
        ok = isinstance(given, list) and all(isinstance(name, str) for name in given)
        return list(given) if ok else list(segments)
    declared = list(meta.segments)
    for i, name in enumerate(meta.segments):
        if name not in segments:
            problems.add(
                f"unknown segment '{name}'{did_you_mean(name, segments)} (known: {', '.join(segments)})",
                line=doc.line_of("segments", i), field="segments",
            )
            declared[i] = next(iter(difflib.get_close_matches(name, list(segments), n=1, cutoff=0.6)), name)
    return declared


def _per_segment_text(
    doc: YamlDocument, meta: BulletinMeta, name: str, problems: Problems
) -> str | dict[str, str]:
    """A `subject:` or `preheader:` mapping with its keys checked and written as variant
    names (`practice+lmc` → `lmc+practice`). A subject mapping must give every segment one."""
    value = getattr(meta, name)
    if isinstance(value, str):
        return value
    order = list(meta.segments)
    resolved: dict[str, str] = {}
    mistyped = False
    for key, text in value.items():
        where = {"line": doc.line_of(name, key), "field": f"{name}.{key}"}
        parts = split_name(str(key))
        unknown = [p for p in parts if p not in order]
        if unknown or len(set(parts)) != len(parts):
            problems.add(
                f"'{key}' is not a segment of this bulletin nor segments joined with '+'"
                f"{did_you_mean(unknown[0], order) if unknown else ''} (this bulletin goes to: {', '.join(order)})",
                **where,
            )
            mistyped = True
            continue
        canonical = variant_name(parts, order)
        if canonical in resolved:
            problems.add(f"'{key}' is given twice (as '{canonical}')", **where)
        resolved[canonical] = text
    missing = [s for s in order if s not in resolved]
    if name == "subject" and missing and not mistyped:  # a mistyped key is the missing one
        problems.add(
            f"the subject has no entry for segment '{missing[0]}'; give every segment a "
            "subject, or one plain subject for all",
            line=doc.line_of(name), field=name,
        )
    return resolved


def _load_section(
    workspace: Workspace, doc: YamlDocument, index: int, raw: Any, declared: list[str], tz: str,
    problems: Problems,
) -> LoadedSection | None:
    """One section, or None when it has problems (added to `problems`)."""
    line = doc.line_of("sections", index - 1)
    if not isinstance(raw, dict):
        problems.add("a section must be a mapping that starts with 'block:'", line=line, section=index)
        return None
    block = _section_block(workspace, doc, index, raw, tz, problems)
    audiences = _section_audiences(doc, index, raw, declared, problems)
    if block is None:
        return None
    values = _section_values(doc, index, raw, block, problems)
    if values is None or audiences is None:
        return None
    return LoadedSection(index=index, block=block, values=values, audiences=audiences, line=line)


def _section_block(
    workspace: Workspace, doc: YamlDocument, index: int, raw: dict[str, Any], tz: str, problems: Problems
) -> BlockSpec | None:
    name = raw.get("block")
    if not isinstance(name, str) or not name:
        problems.add("this section has no 'block:'", line=doc.line_of("sections", index - 1), section=index, field="block")
        return None
    try:
        return load_block(workspace.sections_dir, name, tz)
    except InputError as exc:
        if exc.location.file is not None:
            problems.add_error(exc)  # the block's own files are at fault
        else:
            where = doc.line_of("sections", index - 1, "block")
            problems.add(exc.reason, line=where, section=index, block=name, field="block")
        return None


def _section_audiences(
    doc: YamlDocument, index: int, raw: dict[str, Any], declared: list[str], problems: Problems
) -> tuple[str, ...] | None:
    pos, block = index - 1, raw.get("block") if isinstance(raw.get("block"), str) else None
    audiences = raw.get("audiences", list(declared))
    if isinstance(audiences, str):  # `audiences: practice, lmc` means the list it looks like
        audiences = [a.strip() for a in audiences.split(",") if a.strip()]
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        problems.add(
            "audiences must be a list of segment names",
            line=doc.line_of("sections", pos, "audiences"), section=index, block=block, field="audiences",
        )
        return None
    unknown = [(i, a) for i, a in enumerate(audiences) if a not in declared]
    for a_index, audience in unknown:
        problems.add(
            f"unknown segment '{audience}'{did_you_mean(audience, declared)} "
            f"(this bulletin goes to: {', '.join(declared)})",
            line=doc.line_of("sections", pos, "audiences", a_index), section=index, block=block, field="audiences",
        )
    return None if unknown else tuple(audiences)


def _section_values(
    doc: YamlDocument, index: int, raw: dict[str, Any], block: BlockSpec, problems: Problems
) -> BaseModel | None:
    values = {k: v for k, v in raw.items() if k not in RESERVED_SECTION_KEYS}
    try:
        return block.model.model_validate(values)
    except ValidationError as exc:
        for loc, message in messages(exc, lambda at: fields_at(block.model, at), f"block '{block.name}'"):
            if ("sections", index - 1, *loc) in dict(doc.commented):
                message = COMMENTED
            problems.add(
                message,
                line=doc.line_of("sections", index - 1, *loc) if loc else doc.line_of("sections", index - 1),
                section=index, block=block.name, field=field_label(loc) or None,
            )
        return None
