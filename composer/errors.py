"""One exception hierarchy; the CLI turns each into a message and an exit code.

A message names the thing at fault and what to do about it: the file, line, section
number, block and field for input; the provider, HTTP status and body for an API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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


class InputError(BulletinError):
    """Bad input from a person: a bulletin, a block, a layout, a CSV, an argument."""

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.location = location or Location()
        where = self.location.describe()
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message


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
