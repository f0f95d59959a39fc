"""How commands word and print counts: `count(3, "row")` → "3 rows", `people(1)` →
"1 person", and `console()`, the rich console every command prints tables with."""

from __future__ import annotations

from typing import Any


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def people(number: int) -> str:
    return f"{number} {'person' if number == 1 else 'people'}"


def console(*, stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)
