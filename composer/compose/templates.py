"""Jinja2 environments for blocks and layouts, and the values templates see.

Templates are found by prefix, with nothing to fall back on: `sections/NAME` in the
workspace's `sections/` folder, `layouts/NAME` in its `layouts/` folder; there are no
built-in templates. MJML templates autoescape; text templates do not.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)
from markupsafe import Markup
from pydantic import BaseModel

from composer.compose import markdown
from composer.compose.blocks import FieldSpec
from composer.compose.merge import Part, token
from composer.errors import InputError, Location

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def uk_date(value: date | datetime, weekday: bool = False, tz: str = "Europe/London") -> str:
    """`25 June 2026` (or `Thursday 25 June 2026`), in UK form and local time."""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(tz)) if value.tzinfo else value
    text = f"{value.day} {MONTHS[value.month - 1]} {value.year}"
    if weekday:
        text = f"{value.strftime('%A')} {text}"
    return text


def uk_time(value: datetime) -> str:
    """`midday`, `midnight`, `9am`, `2:30pm`."""
    if value.hour == 12 and value.minute == 0:
        return "midday"
    if value.hour == 0 and value.minute == 0:
        return "midnight"
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}{suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d}{suffix}"


def uk_datetime(value: date | datetime, weekday: bool = False, tz: str = "Europe/London") -> str:
    """`midday on 25 June 2026`; a date, or a datetime at midnight, is just the date."""
    if not isinstance(value, datetime):
        return uk_date(value, weekday)
    local = value.astimezone(ZoneInfo(tz)) if value.tzinfo else value
    if local.hour == 0 and local.minute == 0:
        return uk_date(local, weekday)
    return f"{uk_time(local)} on {uk_date(local, weekday)}"


def make_environment(
    sections_dir: Path, layouts_dir: Path, *, part: Part, tz: str, cache_dir: Path | None = None
) -> Environment:
    loader = PrefixLoader(
        {"sections": FileSystemLoader(str(sections_dir)), "layouts": FileSystemLoader(str(layouts_dir))}
    )
    env = Environment(
        loader=loader,
        autoescape=part == "html",  # noqa: S701 - the text part is plain text, never HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
        # Compiled templates are kept between runs; Jinja checks each source's mtime.
        bytecode_cache=FileSystemBytecodeCache(str(cache_dir)) if cache_dir else None,
    )
    env.filters["uk_date"] = lambda v, weekday=False: uk_date(v, weekday, tz)
    env.filters["uk_datetime"] = lambda v, weekday=False: uk_datetime(v, weekday, tz)
    env.filters["wrap"] = lambda text, width=markdown.TEXT_WIDTH, indent="": markdown.wrap(str(text), width, indent)
    env.filters["heading"] = lambda text, rule="-": markdown.heading(str(text), rule)
    env.filters["link_text"] = lambda label, url, marker="": markdown.link_text(str(label), str(url), marker)
    env.filters["indent_text"] = lambda text, prefix, first=None: markdown.indent_text(str(text), prefix, first)
    # Tokens are [A-Za-z0-9_.%] only, so marking them safe cannot inject markup.
    env.globals["merge"] = lambda field: (
        Markup(token(field, part)) if part == "html" else token(field, part)  # noqa: S704
    )
    return env


def get_template(env: Environment, name: str, root: Path, where: Location) -> Template:
    """Compile a template, turning a syntax error into a message with its file and line."""
    try:
        return env.get_template(name)
    except TemplateSyntaxError as exc:
        raise InputError(
            f"template syntax error: {exc.message}",
            Location(file=exc.filename or root / name, line=exc.lineno, section=where.section, block=where.block),
        ) from None
    except TemplateNotFound:
        raise InputError(f"template {name} not found", where) from None


def render(template: Template, context: dict[str, Any], where: Location) -> str:
    """Render, turning a template error into a message naming the template line and section."""
    try:
        return template.render(context)
    except TemplateError as exc:
        file, line = _template_frame(template.filename, sys.exc_info()[2])
        raise InputError(
            f"template error: {exc}",
            Location(file=file or template.filename, line=line, section=where.section, block=where.block, field=where.field),
        ) from None


def _template_frame(filename: str | None, tb: TracebackType | None) -> tuple[str | None, int | None]:
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        code = tb.tb_frame.f_code
        if filename and code.co_filename == filename:
            found = (filename, tb.tb_lineno)
        elif code.co_filename.endswith(".j2"):
            found = (code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


@dataclass(frozen=True)
class Obj:
    """A prepared image/link/list item: attribute access for templates."""

    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __bool__(self) -> bool:
        return True


def prepare_fields(model: BaseModel, specs: list[FieldSpec], part: Part) -> dict[str, Any]:
    """Block values as templates see them for one part (HTML or text)."""
    return {spec.name: _prepare(getattr(model, spec.name), spec.type, spec.items, part) for spec in specs}


def _prepare(value: Any, kind: str, items: Any, part: Part) -> Any:
    if value is None:
        return None
    if kind == "markdown":
        # markdown-it renders with raw HTML off and escapes text, so its output is safe.
        return Markup(markdown.to_html(value)) if part == "html" else markdown.to_text(value)  # noqa: S704
    if kind in ("string", "url"):
        return markdown.plain_with_merge(value, part)
    if kind in ("image", "link"):
        return Obj({k: _prepare(v, "string", None, part) if isinstance(v, str) else v for k, v in value.model_dump().items()})
    if kind == "list":
        if isinstance(items, str):
            return [_prepare(v, items, None, part) for v in value]
        return [Obj(prepare_fields(v, items, part)) for v in value]
    return value
