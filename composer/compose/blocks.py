"""The block library: each block is a folder with a declaration and two templates.

A declaration (`block.yaml`) lists the block's fields. From it we build a pydantic model,
so a section in a bulletin is validated with the same rules and messages as everything
else, and adding a block needs no Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)

from composer.compose.limits import check_markdown_size, check_one_line_length
from composer.compose.problems import field_label, fields_at, messages
from composer.compose.yamlsource import load_yaml
from composer.errors import InputError, InputErrors, Location, did_you_mean
from composer.safetext import describe_control, first_control
from composer.timestamps import parse_date, parse_datetime, unreadable

MJML_TEMPLATE = "template.mjml.j2"
TEXT_TEMPLATE = "template.txt.j2"
DECLARATION = "block.yaml"

SCALAR_TYPES = ("string", "markdown", "url", "email", "date", "datetime", "boolean", "integer")
OBJECT_TYPES = ("image", "link")
FieldType = Literal[
    "string", "markdown", "url", "email", "date", "datetime", "boolean", "integer", "image", "link", "list"
]

_MERGE_ONLY = re.compile(r"^\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}$")


# --- value validators -------------------------------------------------------------


def _one_line(value: str) -> str:
    value = value.strip()
    if "\n" in value:
        raise ValueError("must be a single line (use a markdown field for paragraphs)")
    refuse_control_characters(value)
    return check_one_line_length(value)


def refuse_control_characters(value: str) -> str:
    """A one-line field or header holds no line break or other control character."""
    char = first_control(value, allow_tab=True)
    if char is not None:
        raise ValueError(
            f"holds the control character {describe_control(char)}, which would break the "
            "email header; retype the text without it"
        )
    return value


def check_url(value: str) -> str:
    """https/http/mailto/tel links with a host; a lone merge field is allowed too."""
    value = value.strip()
    if _MERGE_ONLY.match(value):
        return value
    if not value:
        raise ValueError("the link is empty")
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        if not parts.netloc or " " in value:
            raise ValueError(f"'{value}' is not a complete web address")
    elif parts.scheme == "mailto":
        if "@" not in parts.path:
            raise ValueError(f"'{value}' is not a complete mailto: address")
    elif parts.scheme == "tel":
        pass
    else:
        raise ValueError(f"'{value}' must start with https:// (or mailto:)")
    return value


def _check_email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"'{value}' is not a valid email address: {exc}") from None
    return value.strip()


OneLine = Annotated[str, AfterValidator(_one_line)]
Markdown = Annotated[str, AfterValidator(check_markdown_size)]
Url = Annotated[str, AfterValidator(check_url)]
Email = Annotated[str, AfterValidator(_check_email)]


def _check_image_src(value: str) -> str:
    """A web address, or a file name in the bulletin's picture folder (see compose.assets)."""
    value = value.strip()
    if urlsplit(value).scheme:
        return check_url(value)
    if not re.search(r"\.(?:png|jpe?g|gif)$", value, re.I):
        raise ValueError(f"'{value}' is neither a web address nor a .png, .jpg or .gif file name")
    return value


ImageSrc = Annotated[str, AfterValidator(_check_image_src)]


def _read_date(value: Any) -> date:
    if isinstance(value, str | date):
        return parse_date(value)
    raise unreadable(str(value), with_time=False)


# A date as staff write it: 13/07/2026, 13 July 2026 or ISO (composer.timestamps).
UkDate = Annotated[date, BeforeValidator(_read_date)]


def uk_datetime(tz: ZoneInfo) -> Any:
    """A date and time as staff write it (13/07/2026 12:00, 13 July 2026 midday, ISO),
    local time in `tz` unless it gives its own offset."""

    def read(value: Any) -> datetime:
        if isinstance(value, str | date):
            return parse_datetime(value, tz)
        raise unreadable(str(value), with_time=True)

    return Annotated[datetime, BeforeValidator(read)]


class ImageValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    src: ImageSrc
    alt: str | None = Field(default=None, description="What the image shows; '' only if decorative")
    width: int | None = Field(default=None, ge=1, le=600)
    height: int | None = Field(default=None, ge=1, description="Pixel height shown; worked out for files in the picture folder")
    href: Url | None = None
    decorative: bool = False


class LinkValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: OneLine
    url: Url


# --- declarations -----------------------------------------------------------------


class FieldSpec(BaseModel):
    """One field of a block, as declared in block.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType
    required: bool = False
    default: Any = None
    help: str = ""
    items: str | list[FieldSpec] | None = None

    @field_validator("items")
    @classmethod
    def _items_type(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in (*SCALAR_TYPES, *OBJECT_TYPES):
            raise ValueError(f"unknown item type '{value}'")
        return value


# What `bulletin import` can see in a section of a Word draft (composer/authoring/rules.py
# computes each one); a block's `import:` declaration names them.
ImportShape = Literal["list", "dated", "quote", "links", "image", "email_line"]
ImportSource = Literal[
    "heading", "image", "text", "text.first", "text.rest", "text.before", "text.after",
    "text.after.first", "text.after.rest", "list", "dated", "quote", "attribution.name",
    "attribution.role", "links", "links.first", "links.last", "email_line.text",
    "email_line.email", "signoff.closing", "signoff.name", "signoff.role", "signoff.contacts",
]
ImportPlacement = Literal["section", "intro", "trailing_links", "signoff"]


class FixedValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Any


class ImportRule(BaseModel):
    """One way a section is recognised: every condition given must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heading_words: list[str] = []
    words: list[str] = []
    shapes: list[ImportShape] = []


class ImportDeclaration(BaseModel):
    """How `bulletin import` recognises this block in a Word draft and fills its fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    placement: ImportPlacement = "section"
    recognise: list[ImportRule] = []
    fill: dict[str, ImportSource | FixedValue]


class BlockDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    title_field: str | None = None
    standing: bool = False
    example: dict[str, Any] | None = None
    import_: ImportDeclaration | None = Field(default=None, alias="import")
    fields: list[FieldSpec]


@dataclass(frozen=True)
class BlockSpec:
    """A loaded block: its declaration, its folder, and the model that validates sections."""

    name: str
    folder: Path
    declaration: BlockDeclaration
    model: type[BaseModel]

    @property
    def mjml_template(self) -> str:
        return f"{self.name}/{MJML_TEMPLATE}"

    @property
    def text_template(self) -> str:
        return f"{self.name}/{TEXT_TEMPLATE}"

    @property
    def fields(self) -> list[FieldSpec]:
        return self.declaration.fields


def _python_type(spec_type: str, items: str | list[FieldSpec] | None, tz: ZoneInfo, name: str) -> Any:
    if spec_type == "string":
        return OneLine
    if spec_type == "markdown":
        return Markdown
    if spec_type == "url":
        return Url
    if spec_type == "email":
        return Email
    if spec_type == "date":
        return UkDate
    if spec_type == "datetime":
        return uk_datetime(tz)
    if spec_type == "boolean":
        return bool
    if spec_type == "integer":
        return int
    if spec_type == "image":
        return ImageValue
    if spec_type == "link":
        return LinkValue
    if spec_type == "list":
        if items is None:
            raise ValueError(f"field '{name}': a list needs 'items'")
        if isinstance(items, str):
            return list[_python_type(items, None, tz, name)]  # type: ignore[misc]
        return list[_object_model(f"{name}_item", items, tz)]  # type: ignore[misc]
    raise ValueError(f"unknown field type '{spec_type}'")


def _object_model(model_name: str, fields: list[FieldSpec], tz: ZoneInfo) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for spec in fields:
        py_type = _python_type(spec.type, spec.items, tz, spec.name)
        if spec.required:
            definitions[spec.name] = (py_type, Field(description=spec.help))
        else:
            default = spec.default if spec.default is not None or spec.type != "list" else []
            definitions[spec.name] = (py_type | None, Field(default=default, description=spec.help))
    return create_model(
        model_name,
        __config__=ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False),
        **definitions,
    )


def load_block(sections_dir: Path, name: str, tz_name: str = "Europe/London") -> BlockSpec:
    """Load one block from `sections_dir/name`, checking its folder is complete."""
    return _load_block_cached(sections_dir.resolve(), name, tz_name, _mtime(sections_dir / name))


def _mtime(folder: Path) -> float:
    try:
        return max((p.stat().st_mtime for p in folder.iterdir()), default=0.0)
    except FileNotFoundError:
        return -1.0


@cache
def _load_block_cached(sections_dir: Path, name: str, tz_name: str, _stamp: float) -> BlockSpec:
    folder = sections_dir / name
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or not folder.is_dir():
        blocks = available_blocks(sections_dir)
        known = ", ".join(blocks) or "none"
        raise InputError(f"unknown block '{name}'{did_you_mean(name, blocks)} (the blocks: {known}; `bulletin blocks` describes them)")
    for required in (DECLARATION, MJML_TEMPLATE, TEXT_TEMPLATE):
        if not (folder / required).is_file():
            raise InputError(f"block '{name}' has no {required}", Location(file=folder / required))
    doc = load_yaml(folder / DECLARATION)
    try:
        declaration = BlockDeclaration.model_validate(doc.data)
    except ValidationError as exc:
        raise InputErrors([
            InputError(message, Location(file=doc.path, line=doc.line_of(*loc), field=field_label(loc)))
            for loc, message in messages(exc, lambda at: fields_at(BlockDeclaration, at), "a block declaration")
        ]) from None
    names = [f.name for f in declaration.fields]
    if declaration.title_field and declaration.title_field not in names:
        raise InputError(
            f"title_field '{declaration.title_field}' is not one of the fields ({', '.join(names)})",
            Location(file=doc.path, line=doc.line_of("title_field")),
        )
    if declaration.import_ is not None:
        unknown = sorted(set(declaration.import_.fill) - set(names))
        if unknown:
            raise InputError(
                f"import.fill names {', '.join(unknown)}, not one of the fields ({', '.join(names)})",
                Location(file=doc.path, line=doc.line_of("import", "fill", unknown[0])),
            )
    try:
        model = _object_model(f"Block_{name}", declaration.fields, ZoneInfo(tz_name))
    except ValueError as exc:
        raise InputError(str(exc), Location(file=doc.path)) from None
    return BlockSpec(name=name, folder=folder, declaration=declaration, model=model)


def available_blocks(sections_dir: Path) -> list[str]:
    if not sections_dir.is_dir():
        return []
    return sorted(p.name for p in sections_dir.iterdir() if (p / DECLARATION).is_file())
