"""One exception hierarchy; the CLI turns each into a message and an exit code.

A message names the thing at fault and what to do about it: the file, line, section
number, block and field for input; the provider, HTTP status and body for an API.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


class BulletinError(Exception):
    """Base class: anything the CLI reports as a message rather than a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(BulletinError):
    """The workspace, bulletin.toml or the environment is wrong. Never swallowed."""

    exit_code = 2


@dataclass(frozen=True)
class Location:
    """Where in the input a problem is: every part optional, printed in a fixed order."""

    file: Path | str | None = None
    line: int | None = None
    column: int | None = None
    section: int | None = None
    block: str | None = None
    field: str | None = None
    row: int | None = None

    def describe(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f", line {self.line}"
            if self.row is not None:
                where += f", row {self.row}"
            parts.append(where)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.section is not None:
            sec = f"section {self.section}"
            if self.block:
                sec += f" (block '{self.block}')"
            parts.append(sec)
        elif self.block:
            parts.append(f"block '{self.block}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)


def display_path(path: Path | str, root: Path | None) -> str:
    """`path` relative to the workspace when it is inside it, as staff would type it."""
    if root is None:
        return str(path)
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def did_you_mean(word: object, known: Iterable[str]) -> str:
    """' - did you mean 'petition'?' for the closest of `known`, or '' when none is close."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class InputError(BulletinError):
    """Bad input from a person: a bulletin, a block, a layout, a CSV, an argument."""

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.location = location or Location()
        where = self.location.describe()
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message

    def describe(self, root: Path | None = None) -> str:
        """The message with the file shown relative to the workspace `root`."""
        if self.location.file is None or root is None:
            return str(self)
        where = replace(self.location, file=display_path(self.location.file, root)).describe()
        return f"{where}: {self.reason}"

    def as_data(self, root: Path | None = None) -> dict[str, Any]:
        """The problem as plain data (for JSON and the editor): what, and where."""
        loc = self.location
        return {
            "message": self.reason,
            "file": display_path(loc.file, root) if loc.file is not None else None,
            "line": loc.line,
            "column": loc.column,
            "section": loc.section,
            "block": loc.block,
            "field": loc.field,
            "row": loc.row,
        }


def _by_line(error: InputError) -> tuple[str, bool, int, int]:
    """File by file, then by line (problems with no line last), then by section."""
    loc = error.location
    return (str(loc.file or ""), loc.line is None, loc.line or 0, loc.section or 0)


class InputErrors(InputError):
    """Every problem found in one input, sorted by line, so two mistakes take one run.

    With one problem it is that problem (its location and reason); with several,
    `location` and `reason` are the first's and `errors` holds them all.
    """

    errors: tuple[InputError, ...]

    def __init__(self, errors: Sequence[InputError]) -> None:
        if not errors:
            raise ValueError("InputErrors needs at least one error")
        flat = [inner for e in errors for inner in (e.errors if isinstance(e, InputErrors) else (e,))]
        unique = {str(e): e for e in flat}  # a broken block used twice is one problem
        self.errors = tuple(sorted(unique.values(), key=_by_line))
        first = self.errors[0]
        super().__init__(first.reason, first.location)
        if len(self.errors) > 1:
            self.message = self.describe()

    def describe(self, root: Path | None = None) -> str:
        if len(self.errors) == 1:
            return self.errors[0].describe(root)
        files = {e.location.file for e in self.errors}
        if len(files) == 1 and None not in files:
            shown = display_path(next(iter(files)), root)  # type: ignore[arg-type]
            lines = [
                f"{replace(e.location, file=None).describe() or 'the file'}: {e.reason}" for e in self.errors
            ]
            head = f"{len(self.errors)} problems in {shown}:"
        else:
            lines = [e.describe(root) for e in self.errors]
            head = f"{len(self.errors)} problems:"
        return "\n".join([head, *(f"  {line}" for line in lines)])

    def as_data(self, root: Path | None = None) -> dict[str, Any]:
        return {**super().as_data(root), "problems": [e.as_data(root) for e in self.errors]}


class ChecksFailed(BulletinError):
    """`bulletin check` found errors in the composed bulletin."""

    exit_code = 1


class StoreError(BulletinError):
    """The contact store could not be read or written."""

    exit_code = 1


class NotFound(BulletinError):
    """A contact, campaign or other record that was asked for does not exist."""

    exit_code = 1


class TransportError(BulletinError):
    """A transport failed; `provider`, `status` and `body` say how."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        body: str | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.body = body
        text = f"{provider}: {message}"
        if status is not None:
            text += f" (HTTP {status})"
        if body:
            text += f": {body[:500]}"
        super().__init__(text)


class TransportAuthError(TransportError):
    """The provider refused our credentials: stop at once, mark nothing sent."""
