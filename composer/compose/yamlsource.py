"""Read YAML and remember the line each value came from, for messages people can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from composer.compose.limits import source_too_large
from composer.compose.yamlerrors import curly_wrapped, explain
from composer.errors import InputError, Location
from composer.timestamps import DATE_FORMS

YamlPath = tuple[str | int, ...]

# libyaml's loader when present: the same safe rules, several times faster.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# YAML 1.1 reads 12:00 as the number 720 (base 60) and 1:30:00 as 5400; nobody writing a
# bulletin means that, so such a value stays the text it looks like.
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader, with times of day (12:00) read as text rather than base-60 numbers."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[Any]]] = {
        first: [("tag:yaml.org,2002:str", _SEXAGESIMAL), *resolvers]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


@dataclass(frozen=True)
class YamlDocument:
    """Parsed data plus a map from a path of keys/indices to its 1-based line."""

    path: Path
    data: Any
    lines: dict[YamlPath, int]
    # Values typed wholly in curly quotes (“…”), with their lines: kept as text, so warned of.
    curly: tuple[tuple[YamlPath, int], ...] = ()
    # Values left empty because a '#' right after ': ' starts a comment (`headline: #1 news`).
    commented: tuple[tuple[YamlPath, int], ...] = ()

    def line_of(self, *path: str | int) -> int | None:
        """The line of the deepest part of `path` that is known."""
        parts: YamlPath = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return None


class _Cycle(Exception):
    """An alias inside the very list or mapping its anchor names (`x: &a [*a]`)."""

    def __init__(self, line: int) -> None:
        self.line = line


class _Twice(Exception):
    """A key given twice in one mapping: YAML keeps the last and drops the first silently."""

    def __init__(self, key: str, first: int, again: int) -> None:
        self.key, self.first, self.again = key, first, again


class _TooManyAliases(Exception):
    """Aliases that expand to more nodes than any bulletin needs (the "billion laughs")."""

    def __init__(self, line: int) -> None:
        self.line = line


# Nodes reached again through aliases, beyond the nodes the file itself holds. Nine
# nested lists of nine aliases each expand to 387 million nodes from a 300-byte file; a
# bulletin reusing a few blocks of text by alias stays far below this.
ALIAS_EXPANSION_BUDGET = 10_000


@dataclass
class _Budget:
    seen: set[int]
    repeats: int = 0

    def visit(self, node: yaml.Node, blame: int) -> bool:
        """Count a visit; True the first time `node` is reached, False through an alias."""
        if id(node) not in self.seen:
            self.seen.add(id(node))
            return True
        self.repeats += 1
        if self.repeats > ALIAS_EXPANSION_BUDGET:
            raise _TooManyAliases(blame)
        return False


def _walk(
    node: yaml.Node, prefix: YamlPath, lines: dict[YamlPath, int], budget: _Budget,
    inside: frozenset[int] = frozenset(), blame: int = 1,
) -> None:
    # A node reached through an alias carries its anchor's position, not the alias's;
    # blame the nearest list or mapping written where it stands, which holds the alias.
    if budget.visit(node, blame):
        blame = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        if id(node) in inside:
            raise _Cycle(lines.get(prefix, node.start_mark.line + 1))
        inside = inside | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            path = (*prefix, key)
            if path in lines:
                raise _Twice(key, lines[path], key_node.start_mark.line + 1)
            lines[path] = key_node.start_mark.line + 1
            _walk(value_node, path, lines, budget, inside, blame)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            lines[path] = item.start_mark.line + 1
            _walk(item, path, lines, budget, inside, blame)


def _scalars(node: yaml.Node, prefix: YamlPath) -> Any:
    """Every scalar node under `node`, with its path of keys and indices."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            yield from _scalars(value_node, (*prefix, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _scalars(item, (*prefix, index))
    elif isinstance(node, yaml.ScalarNode):
        yield prefix, node


def _unbuildable(path: Path, text: str, exc: ValueError) -> InputError:
    """An InputError naming the line and field of the value that could not be built."""
    root = yaml.compose(text, Loader=_Loader)
    for where, node in _scalars(root, ()) if root is not None else ():
        try:
            yaml.SafeLoader("").construct_object(node, deep=True)
        except ValueError as problem:
            what = "date" if node.tag.endswith(":timestamp") else "value"
            field = ".".join(str(p) for p in where if isinstance(p, str)) or None
            return InputError(
                f"'{node.value}' is not a valid {what} ({problem}); write dates like "
                f"{', '.join(DATE_FORMS[:-1])} or {DATE_FORMS[-1]}, or put the text in quotes",
                Location(file=path, line=node.start_mark.line + 1, field=field),
            )
    return InputError(f"a value cannot be read ({exc})", Location(file=path))


def _line_map(path: Path, node: yaml.Node) -> dict[YamlPath, int]:
    """Every key and item's line; refuses self-nesting and runaway alias expansion."""
    lines: dict[YamlPath, int] = {}
    try:
        _walk(node, (), lines, _Budget(seen=set()))
    except _Cycle as cycle:
        raise InputError(
            "the list or mapping anchored here (&name) holds an alias to itself (*name), "
            "which never ends; copy the text instead",
            Location(file=path, line=cycle.line),
        ) from None
    except _Twice as twice:
        raise InputError(
            f"'{twice.key}' is given twice here (first on line {twice.first}); YAML would keep only "
            "this one and drop the first without a word: remove one, or merge the two",
            Location(file=path, line=twice.again, field=twice.key),
        ) from None
    except _TooManyAliases as runaway:
        raise InputError(
            f"aliases (*name) here expand to more than {ALIAS_EXPANSION_BUDGET:,} repeated "
            "values, which no bulletin needs; copy the text instead of nesting aliases",
            Location(file=path, line=runaway.line),
        ) from None
    return lines


def _read_text(path: Path) -> str:
    """The file as text, refused unread when it is larger than any source needs."""
    try:
        size = path.stat().st_size
        if too_large := source_too_large(size):
            raise InputError(too_large, Location(file=path))
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", Location(file=path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", Location(file=path)) from None


def load_yaml(path: Path, text: str | None = None) -> YamlDocument:
    """Parse a YAML file; a syntax error becomes an InputError with the file and line."""
    if text is None:
        text = _read_text(path)
    elif too_large := source_too_large(len(text.encode("utf-8"))):
        raise InputError(too_large, Location(file=path))
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader (C or Python)
    except yaml.MarkedYAMLError as exc:
        raise explain(path, text, exc) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", Location(file=path)) from None
    except ValueError as exc:
        # A value that parses but cannot be built, such as the date 2026-13-04.
        raise _unbuildable(path, text, exc) from None
    lines = _line_map(path, node) if node is not None else {}
    return YamlDocument(
        path=path, data=data, lines=lines, curly=_curly_values(node, text), commented=_commented_values(node, text)
    )


_COMMENT_AS_VALUE = re.compile(r":[ \t]+#")


def _commented_values(node: yaml.Node | None, text: str) -> tuple[tuple[YamlPath, int], ...]:
    if node is None or "#" not in text:
        return ()
    lines = text.splitlines()
    return tuple(
        (where, scalar.start_mark.line + 1)
        for where, scalar in _scalars(node, ())
        if scalar.tag.endswith(":null")
        and not scalar.value
        and scalar.start_mark.line < len(lines)
        and _COMMENT_AS_VALUE.search(lines[scalar.start_mark.line])
    )


def _curly_values(node: yaml.Node | None, text: str) -> tuple[tuple[YamlPath, int], ...]:
    if node is None or not any(c in text for c in "“‘"):
        return ()
    return tuple(
        (where, scalar.start_mark.line + 1)
        for where, scalar in _scalars(node, ())
        if not scalar.style and curly_wrapped(scalar.value)  # plain: None (Python), '' (libyaml)
    )
