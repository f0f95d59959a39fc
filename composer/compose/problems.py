"""Validation failures as messages staff can act on, all collected for one report.

A bulletin with two mistakes reports both at once, sorted by line (mkdocs does the same
for its configuration): each stage adds to a `Problems` instead of raising the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

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


def field_label(loc: Loc) -> str:
    """`timeline[2].at` for the pydantic location ('timeline', 1, 'at')."""
    label = ""
    for part in loc:
        if isinstance(part, int):
            label += f"[{part + 1}]"
        else:
            label += f".{part}" if label else str(part)
    return label


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
            loc = tuple(
                p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))
            )
            message = _message(error, loc, known, owner)
        if loc not in seen:
            seen.add(loc)
            out.append((loc, message))
    return out


def _message(error: Any, loc: Loc, known: Callable[[Loc], Sequence[str]], owner: str) -> str:
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
