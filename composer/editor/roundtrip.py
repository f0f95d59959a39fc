"""Edit a YAML file the way a person would: change only what was changed.

The file is read with ruamel.yaml's round-trip loader, which keeps comments, key order,
quoting and block scalars. The page sends back plain JSON; `merge` walks it against the
loaded tree and touches only the values that differ, so every unedited line is written
back exactly as it was. A new key lands where the page put it among its neighbours, and a
new or retyped text keeps the quoting of the value it replaces.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    ScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.util import load_yaml_guess_indent

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WIDE = 100_000  # never fold a long line: staff wrote it on one line


def yaml_for(text: str) -> YAML:
    """A round-trip YAML that writes with the indentation `text` already uses."""
    _, indent, offset = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _WIDE
    indent = indent or 2
    offset = offset or 0
    yaml.indent(mapping=max(2, indent - offset) if offset else indent, sequence=indent, offset=offset)
    return yaml


def load(text: str) -> tuple[YAML, Any]:
    yaml = yaml_for(text)
    return yaml, yaml.load(text)


def dump(yaml: YAML, tree: Any) -> str:
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()


def to_plain(node: Any) -> Any:
    """The tree as JSON: mappings, lists, text, numbers, booleans; dates as ISO text."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, datetime):
        return node.strftime("%Y-%m-%d %H:%M:%S" if node.second else "%Y-%m-%d %H:%M")
    if isinstance(node, date):
        return node.isoformat()
    if isinstance(node, ScalarString):
        return str(node)
    return node


# Compose reads bulletins with PyYAML, which follows YAML 1.1: there a plain `no`, `on`
# or `0x1F` is not text. ruamel.yaml writes YAML 1.2, where they are, so it would leave
# them unquoted; quote any text that YAML 1.1 would read as something else.
_YAML11 = yaml.resolver.Resolver()


def as_text(value: str) -> Any:
    if _YAML11.resolve(yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
        return DoubleQuotedScalarString(value)
    return value


def fresh(value: Any) -> Any:
    """A value new to the file, written as staff would: paragraphs as `|` blocks."""
    if isinstance(value, dict):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = fresh(item)
        return node
    if isinstance(value, list):
        seq = CommentedSeq()
        seq.extend(fresh(v) for v in value)
        return seq
    if isinstance(value, str):
        return LiteralScalarString(value) if "\n" in value else as_text(value)
    return value


def restyled(new: Any, old: Any) -> Any:
    """`new` in the style of the value it replaces (quotes, block scalar, a real date)."""
    if not isinstance(new, str):
        return fresh(new)
    if "\n" in new:
        return LiteralScalarString(new)
    if isinstance(old, date) and not isinstance(old, datetime) and _ISO_DATE.match(new):
        return date.fromisoformat(new)
    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(new)
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(new)
    return as_text(new)


def merge(node: Any, new: Any) -> Any:
    """`node` changed to hold `new`, keeping all of it that `new` did not change."""
    if to_plain(node) == new:
        return node
    if isinstance(node, CommentedMap) and isinstance(new, dict):
        merge_map(node, new)
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        merge_seq(node, new)
        return node
    return restyled(new, node)


def merge_map(node: CommentedMap, new: dict[str, Any]) -> None:
    spacing = _take_spacing(node)
    for key in [k for k in node if k not in new]:
        del node[key]
    previous: int = -1
    for key, value in new.items():
        if key in node:
            node[key] = merge(node[key], value)
            previous = list(node).index(key)
        else:
            previous += 1
            node.insert(previous, key, fresh(value))
    _put_spacing(node, spacing)


def merge_seq(node: CommentedSeq, new: list[Any]) -> None:
    """Row by row: an edited row keeps its comments; rows past the end are added or cut.
    An added row is written like the row before it (the same quoting for each key)."""
    spacing = _take_spacing(node)
    for index, value in enumerate(new[: len(node)]):
        node[index] = merge(node[index], value)
    while len(node) > len(new):
        del node[len(node) - 1]
    for value in new[len(node) :]:
        node.append(_like(fresh(value), node[-1] if len(node) else None))
    _put_spacing(node, spacing)


def _like(row: Any, sibling: Any) -> Any:
    if isinstance(row, CommentedMap) and isinstance(sibling, CommentedMap):
        for key, value in row.items():
            if isinstance(value, str) and key in sibling:
                row[key] = restyled(value, sibling[key])
    return row


# --- the blank lines after a list or mapping ----------------------------------------
# ruamel keeps the blank lines that follow a block on its last key, however deep. When
# keys or rows are added after it or it is removed, they are moved to the new last one,
# so a new field does not open a gap inside its section.

_Spot = tuple[Any, Any, int]  # (container, key or index, position in its comment list)


def _last_spot(node: Any) -> _Spot | None:
    if not isinstance(node, CommentedMap | CommentedSeq) or not len(node):
        return None
    last = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
    deeper = _last_spot(node[last])
    if deeper is not None:
        return deeper
    return (node, last, 2 if isinstance(node, CommentedMap) else 0)


def _take_spacing(node: Any) -> Any:
    spot = _last_spot(node)
    if spot is None:
        return None
    container, key, pos = spot
    entry = container.ca.items.get(key)
    token = entry[pos] if entry and len(entry) > pos else None
    if token is None or getattr(token, "value", "x").strip():
        return None  # a real comment stays where it was written
    entry[pos] = None
    return token


def _put_spacing(node: Any, token: Any) -> None:
    spot = _last_spot(node)
    if token is None or spot is None:
        return
    container, key, pos = spot
    entry = container.ca.items.setdefault(key, [None, None, None, None] if pos == 2 else [None, None])
    entry[pos] = token
