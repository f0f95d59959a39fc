"""YAML syntax errors explained for people who do not read parser messages.

libyaml reports where it gave up, which is often far from the mistake: a quote opened
straight and closed curly (as Word and Outlook type it) is reported at the next straight
quote, maybe 20 lines on; a `[` never closed where the next line begins. So name the line
where the construct began as well as where it failed, say "tab" for a tab, and spot the
straight-curly quote pair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
    """The line of the tab that stopped the parser, if a tab did: at the point it
    stopped, or in the indentation of that line or the one before (no further: a tab
    far above is not what broke this line)."""
    line = lines[mark.line] if mark.line < len(lines) else ""
    if mark.column < len(line) and line[mark.column] == "\t":
        return mark.line + 1
    for number in range(mark.line, max(mark.line - 2, -1), -1):
        if (
            number < len(lines)
            and "\t" in lines[number][: len(lines[number]) - len(lines[number].lstrip())]
        ):
            return number + 1
    return None


@dataclass(frozen=True)
class _Failure:
    """What libyaml said, with the lines it named (1-based)."""

    lines: list[str]
    problem: str
    context: str  # "flow sequence", "quoted scalar", "block mapping", ... or ""
    failed: int | None  # where the parser gave up
    began: int | None  # where the construct it was reading began
    mark: yaml.Mark | None


def explain(path: Path, text: str, exc: yaml.MarkedYAMLError) -> InputError:
    """The syntax error as a message naming the line to fix (and the line it failed on)."""
    mark, start = exc.problem_mark or exc.context_mark, exc.context_mark
    failure = _Failure(
        lines=text.splitlines(),
        problem=exc.problem or "syntax error",
        context=(exc.context or "")
        .removeprefix("while parsing a ")
        .removeprefix("while scanning a "),
        failed=mark.line + 1 if mark is not None else None,
        began=start.line + 1 if start is not None else None,
        mark=mark,
    )
    found = _quoting(failure) or _typing(failure) or _layout(failure)
    if found is None:
        inside = (
            f" in the {failure.context} that begins on line {failure.began}"
            if failure.context and failure.began not in (None, failure.failed)
            else ""
        )
        found = (
            f"{failure.problem}{inside}. Check indentation and quoting on this line and the one above it",
            failure.failed,
        )
    message, line = found
    return InputError(f"YAML syntax error: {message}", Location(file=path, line=line))


def _quoting(f: _Failure) -> tuple[str, int | None] | None:
    """A quote closed curly, never closed, or closed early by a quote inside the text."""
    if f.failed is not None and (curly := straight_closed_by_curly(f.lines, f.failed)) is not None:
        number, straight, closer = curly
        gave_up = f" (it gave up on line {f.failed})" if f.failed != number else ""
        return (
            f"this value opens with a straight quote {straight} but closes with a curly one {closer}, so "
            f"YAML reads on looking for a straight {straight}{gave_up}. Type the closing quote as "
            f"{straight}, or leave out both quotes"
        ), number
    if f.context == "quoted scalar" and f.began is not None:
        return (
            f"the quoted text that opens on this line has no closing quote (YAML read on to line "
            f"{f.failed} looking for it); add the closing quote"
        ), f.began
    if f.failed is not None and (inner := _inner_quote(f.lines, f.failed)) is not None:
        fix = (
            "type the inner quotes curly (“hi”), or wrap the whole value in single quotes"
            if inner == '"'
            else "write an apostrophe inside '…' as two ('It''s'), or wrap the whole value in double quotes"
        )
        return (
            f"the text in {inner}…{inner} holds another {inner}, which ends it early; {fix}",
            f.failed,
        )
    return None


# A value that starts with one of these is not read as text: `@` and a backtick are
# reserved, `%` starts a directive, `*` and `&` an alias and an anchor, `!` a tag.
_RESERVED_START = re.compile(r"^\s*(?:-\s+)*[^\s\"'#:][^:#]*?:\s+(?P<value>(?P<first>[@`%*&!]|-\s)\S?.*)$")
_NO_SPACE = re.compile(r"^\s*(?:-\s+)?(?P<name>[a-z][a-z0-9_]*):(?P<rest>[^\s/].*)$")


def _typing(f: _Failure) -> tuple[str, int | None] | None:
    """A value starting with a character YAML reserves, or `name:value` with no space."""
    for number in (f.failed, (f.failed or 0) - 1):
        line = f.lines[number - 1] if number and 0 < number <= len(f.lines) else ""
        if (found := _RESERVED_START.match(line)) is not None:
            first = found["first"].strip()
            value = found["value"].strip()
            return (
                f"a value cannot start with '{first}' unquoted (YAML reserves it); put the whole value "
                f'in quotes ("{value}")'
            ), number
        if (found := _NO_SPACE.match(line)) is not None:
            return (
                f"there is no space after the ':' of '{found['name']}'; write "
                f"{found['name']}: {found['rest'].strip()}"
            ), number
    return None


def _layout(f: _Failure) -> tuple[str, int | None] | None:
    """A tab, a bracket never closed, a line out of line, a second ': ' in a value."""
    if f.mark is not None and (tab := _tab_line(f.lines, f.mark)) is not None:
        return (
            "this line is indented with a tab; YAML indents with spaces only. Replace the tab with "
            "spaces (and set the editor to type spaces for Tab)"
        ), tab
    if f.context in _CONSTRUCT and f.began is not None:
        what, opener, closer = _CONSTRUCT[f.context]
        return (
            f"the {what} opened with '{opener}' on this line is never closed (YAML gave up on line "
            f"{f.failed}: {f.problem}); add the closing '{closer}' where the {what} ends"
        ), f.began
    if (plain := _plain_words(f.problem, f.began)) is not None:
        words, at_start = plain
        return words, f.began if at_start else f.failed
    if f.problem == _SECOND_COLON:
        return (
            "a ': ' here reads as the start of another field; if it is part of the text, put the "
            'whole value in quotes (title: "Update: June"), else check the indentation of this line '
            "against the one above it"
        ), f.failed
    return None


def _inner_quote(lines: list[str], number: int) -> str | None:
    """The quote of a value on line `number` that closes and is followed by more text:
    `"He said "hi" there"`."""
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    found = _OPENS_QUOTED.match(line)
    if found is None:
        return None
    quote, rest = found["q"], found["rest"]
    end = (
        rest.find(quote)
        if quote == "'"
        else (m.start() if (m := re.search(r'(?<!\\)"', rest)) else -1)
    )
    after = rest[end + 1 :].strip() if end >= 0 else ""
    return quote if after and not after.startswith("#") else None


def _plain_words(problem: str, began: int | None) -> tuple[str, bool] | None:
    """libyaml's usual complaints about layout in the words of the bulletin, and whether
    the line to fix is where the construct began (else where the parser stopped)."""
    if problem.startswith("did not find expected '-' indicator"):
        since = f" that begins on line {began}" if began is not None else ""
        return (
            f"this line does not line up with the list{since}: each item starts with '- ' at the "
            "same indentation, and the fields of an item line up under its first field"
        ), False
    if problem == "did not find expected key":
        since = f" that begin on line {began}" if began is not None else " above it"
        return (
            f"this line does not line up with the fields{since}: the fields of one section "
            "start at exactly the same indentation, and text that runs on to another line is "
            "indented under its field (or put in quotes)"
        ), False
    if problem.startswith("could not find expected ':'") and began is not None:
        return (
            "this line has no ':' after its name (write name: value), or it is a list item without its '- '",
            True,
        )
    if problem == "found undefined alias":
        return (
            "'*name' refers to an anchor ('&name') that is not set above it; copy the text instead",
            False,
        )
    return None


def curly_wrapped(value: str) -> bool:
    """A whole value in curly quotes (“…” or ‘…’): YAML keeps them as text, so they show."""
    return len(value) > 1 and value[0] in "“‘" and value[-1] in "”’\"'"
