"""Validation failures as messages staff can act on, all collected for one report.

A bulletin with two mistakes reports both at once, sorted by line (mkdocs does the same
for its configuration): each stage adds to a `Problems` instead of raising the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from composer.errors import InputError, InputErrors, Location, did_you_mean

Loc = tuple[Any, ...]
PER_SEGMENT_TEXTS = ("subject", "preheader")


@dataclass
class Problems:
    """Every problem found in one file so far."""

    path: Path
    found: list[InputError] = field(default_factory=list)

    def add(self, message: str, **where: Any) -> None:
        self.found.append(InputError(message, Location(file=self.path, **where)))

    def add_error(self, error: InputError) -> None:
        self.found.append(error)

    def raise_any(self) -> None:
        """Raise them all at once (InputErrors, sorted by line) when there are any."""
        if self.found:
            raise InputErrors(self.found)


COMMENTED = (
    "is empty: YAML reads a '#' after ': ' as the start of a comment, so the text after it was "
    'left out; put the whole value in quotes (headline: "#1 for GP practices")'
)


def field_label(loc: Loc) -> str:
    """`timeline[2].at` for the pydantic location ('timeline', 1, 'at')."""
    label = ""
    for part in loc:
        if isinstance(part, int):
            label += f"[{part + 1}]"
        else:
            label += f".{part}" if label else str(part)
    return label


def field_path(label: str) -> Loc:
    """('timeline', 1, 'at') for the label `timeline[2].at`: the inverse of field_label."""
    path: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", label):
        path.append(int(index) - 1 if index else name)
    return tuple(path)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation (`list[Link]`, `Image | None`, Annotated[...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _model_in(arg)) is not None:
            return found
    return None


def fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names (as written in YAML, aliases included) that `model` allows at `loc`."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        named = {f.alias or name: f for name, f in current.model_fields.items()}
        field = named.get(str(part))
        current = _model_in(field.annotation) if field is not None else None
    return [f.alias or name for name, f in current.model_fields.items()] if current is not None else []


def messages(
    exc: ValidationError, known: Callable[[Loc], Sequence[str]], owner: str
) -> list[tuple[Loc, str]]:
    """One (location, message) per problem pydantic found; `known(loc)` names the fields
    allowed beside an unknown one, for the "did you mean" suggestion; `owner` names what
    the top-level fields belong to ("block 'article'", "a bulletin")."""
    out: list[tuple[Loc, str]] = []
    seen: set[Loc] = set()
    for error in exc.errors():
        head = error["loc"][0] if error["loc"] else None
        if head in PER_SEGMENT_TEXTS and error["type"] != "missing":
            loc, message = _text_error(exc, str(head))
        else:
            loc = tuple(p for p in error["loc"] if not _branch(p))
            message = _message(error, loc, known, owner)
        if loc not in seen:
            seen.add(loc)
            out.append((loc, message))
    return out


# pydantic's wording for a wrong kind of value, in words for someone writing a bulletin.
PLAIN: dict[str, Callable[[Any, dict[str, Any]], str]] = {
    "int_parsing": lambda value, _: f"'{value}' is not a whole number; write digits only (600)",
    "int_type": lambda value, _: f"'{value}' is not a whole number; write digits only (600)",
    "bool_parsing": lambda value, _: f"'{value}' is not yes or no; write true or false",
    "bool_type": lambda value, _: f"'{value}' is not yes or no; write true or false",
    "less_than_equal": lambda value, ctx: f"{value} is too large: at most {ctx.get('le')}",
    "greater_than_equal": lambda value, ctx: f"{value} is too small: at least {ctx.get('ge')}",
    "string_type": lambda value, _: _not_text(value),
    "list_type": lambda value, _: "must be a list: [a, b] on one line, or one item a line, each starting with '- '",
    "model_type": lambda value, _: (
        "must be fields indented under this one (text: …, url: …), not a single value"
    ),
    "dict_type": lambda value, _: (
        "must be fields indented under this one (name: value), not a single value"
    ),
    "literal_error": lambda value, ctx: _not_one_of(value, re.findall(r"'([^']*)'", str(ctx.get("expected", "")))),
}


def _not_one_of(value: Any, choices: list[str]) -> str:
    return f"'{value}' is not one of {', '.join(choices)}{did_you_mean(value, choices)}"


def _not_text(value: Any) -> str:
    if isinstance(value, list):
        return "must be one piece of text, not a list"
    if isinstance(value, dict):
        return "must be one piece of text, not fields indented under it"
    if value is None:
        return "is empty; write the text after the ':'"
    kind = {
        "int": "number",
        "float": "number",
        "bool": "yes/no value",
        "date": "date",
        "datetime": "date",
    }
    read_as = kind.get(type(value).__name__, "value")
    return f'must be text; YAML read {value} as a {read_as}, so put it in quotes ("{value}")'


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "date", "datetime", "none"}


def _branch(part: object) -> bool:
    """A part of pydantic's location that names a validator or one type of a union
    (`function-after[...]`, `literal['heading', ...]`, `FixedValue`, `str`), not a field:
    our fields and segment names are lower case words."""
    if not isinstance(part, str):
        return False
    return part.startswith("function-") or "[" in part or part[:1].isupper() or part in _TYPE_TAGS


def _message(error: Any, loc: Loc, known: Callable[[Loc], Sequence[str]], owner: str) -> str:
    if error["type"] in PLAIN:
        return PLAIN[error["type"]](error.get("input"), error.get("ctx") or {})
    if error["type"] == "missing":
        return "this required field is missing"
    if error["type"] == "extra_forbidden":
        allowed = known(loc[:-1])
        nested = len(loc) > 1
        lead = (
            f"there is no field '{loc[-1]}' here" if nested else f"{owner} has no field '{loc[-1]}'"
        )
        listed = (
            f" ({'the fields here' if nested else 'its fields'}: {', '.join(allowed)})"
            if allowed
            else ""
        )
        return f"{lead}{did_you_mean(loc[-1], allowed)}{listed}"
    return str(error["msg"]).removeprefix("Value error, ")


def _text_error(exc: ValidationError, name: str) -> tuple[Loc, str]:
    """A subject or preheader is a text or a mapping of texts (two pydantic branches):
    name the mapping's entry at fault when it is a mapping, else say what is wanted."""
    for error in exc.errors():
        loc = error["loc"]
        if loc[0] == name and len(loc) == 3:  # (name, the mapping branch, key)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "string_type":
                message = "must be one line of text"
            return (name, loc[2]), message
        if (
            loc[0] == name
            and len(loc) == 2
            and "str" in str(loc[1])
            and error["type"] == "value_error"
        ):
            return (name,), error["msg"].removeprefix("Value error, ")
    return (
        name,
    ), f"the {name} must be one line of text, or a mapping of segment to text (lmc: ...)"
