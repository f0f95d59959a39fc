"""YAML syntax errors explained for people who do not read parser messages.

libyaml reports where it gave up, which is often far from the mistake: a quote opened
straight and closed curly (as Word and Outlook type it) is reported at the next straight
quote, maybe 20 lines on; a `[` never closed where the next line begins. So name the line
where the construct began as well as where it failed, say "tab" for a tab, and spot the
straight-curly quote pair.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from composer.errors import InputError, Location

# The curly quotes Word types for each straight one, in either direction.
CURLY = {'"': "“”", "'": "‘’"}
# A value that opens with a straight quote: `key: "…`, `- "…`, `- key: '…`.
_OPENS_QUOTED = re.compile(r"""^\s*(?:-\s+)*(?:[^\s"'#][^"'#]*?:\s+)?(?P<q>["'])(?P<rest>.*)$""")
_CONSTRUCT = {"flow sequence": ("list", "[", "]"), "flow mapping": ("mapping", "{", "}")}
_SECOND_COLON = "mapping values are not allowed in this context"


def _closes(quote: str, rest: str) -> bool:
    """Whether `rest` (after an opening `quote`) holds the straight quote that ends it."""
    if quote == '"':
        return re.search(r'(?<!\\)(?:\\\\)*"', rest) is not None
    return re.search(r"'(?!')", rest.replace("''", "")) is not None


def straight_closed_by_curly(lines: list[str], upto: int) -> tuple[int, str, str] | None:
    """(line, straight, curly) for the first line up to `upto` whose value opens with a
    straight quote and has only a curly one to close it."""
    for number, line in enumerate(lines[:upto], start=1):
        found = _OPENS_QUOTED.match(line)
        if found is None or _closes(found["q"], found["rest"]):
            continue
        curly = next((c for c in CURLY[found["q"]] if c in found["rest"]), None)
        if curly is not None:
            return number, found["q"], curly
    return None


def _tab_line(lines: list[str], mark: yaml.Mark) -> int | None:
    """The line of the tab that stopped the parser, if a tab did."""
    line = lines[mark.line] if mark.line < len(lines) else ""
    if mark.column < len(line) and line[mark.column] == "\t":
        return mark.line + 1
    for number in range(mark.line, -1, -1):
        if number < len(lines) and "\t" in lines[number][: len(lines[number]) - len(lines[number].lstrip())]:
            return number + 1
    return None


def explain(path: Path, text: str, exc: yaml.MarkedYAMLError) -> InputError:
    """The syntax error as a message naming the line to fix (and the line it failed on)."""
    lines = text.splitlines()
    mark, start = exc.problem_mark or exc.context_mark, exc.context_mark
    failed = mark.line + 1 if mark is not None else None
    began = start.line + 1 if start is not None else None
    problem = exc.problem or "syntax error"
    if failed is not None and (curly := straight_closed_by_curly(lines, failed)) is not None:
        number, straight, closer = curly
        gave_up = f" (it gave up on line {failed})" if failed != number else ""
        return InputError(
            f"YAML syntax error: this value opens with a straight quote {straight} but closes with a "
            f"curly one {closer}, so YAML reads on looking for a straight {straight}{gave_up}. Type the "
            f"closing quote as {straight}, or leave out both quotes",
            Location(file=path, line=number),
        )
    if mark is not None and (tab := _tab_line(lines, mark)) is not None:
        return InputError(
            "YAML syntax error: this line is indented with a tab; YAML indents with spaces only. "
            "Replace the tab with spaces (and set the editor to type spaces for Tab)",
            Location(file=path, line=tab),
        )
    context = (exc.context or "").removeprefix("while parsing a ").removeprefix("while scanning a ")
    if context in _CONSTRUCT and began is not None:
        what, opener, closer = _CONSTRUCT[context]
        return InputError(
            f"YAML syntax error: the {what} opened with '{opener}' on this line is never closed "
            f"(YAML gave up on line {failed}: {problem}); add the closing '{closer}' where the {what} ends",
            Location(file=path, line=began),
        )
    if context == "quoted scalar" and began is not None:
        return InputError(
            f"YAML syntax error: the quoted text that opens on this line has no closing quote (YAML "
            f"read on to line {failed} looking for it); add the closing quote",
            Location(file=path, line=began),
        )
    if problem == _SECOND_COLON:
        return InputError(
            "YAML syntax error: a ': ' here reads as the start of another field; if it is part of "
            'the text, put the whole value in quotes (title: "Update: June"), else check the '
            "indentation of this line against the one above it",
            Location(file=path, line=failed),
        )
    inside = f" in the {context} that begins on line {began}" if context and began not in (None, failed) else ""
    return InputError(
        f"YAML syntax error: {problem}{inside}. Check indentation and quoting on this line and the one above it",
        Location(file=path, line=failed),
    )


def curly_wrapped(value: str) -> bool:
    """A whole value in curly quotes (“…” or ‘…’): YAML keeps them as text, so they show."""
    return len(value) > 1 and value[0] in "“‘" and value[-1] in "”’\"'"
