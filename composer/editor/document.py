"""The bulletin file as the editor reads and writes it.

The page gets the file as JSON with a `base` (the SHA-256 of the bytes it was made from)
and each section marked with `_origin`, its position in that file. It sends the whole
edited document back. `apply` turns that into the new text by merging it into the file as
loaded (`roundtrip`), so a moved section takes its comments with it and an untouched one
is written back byte for byte. `write` refuses when the file on disk is no longer the one
the page started from: someone saved it in a text editor meanwhile.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML

from composer.authoring.writer import write_atomic
from composer.editor import roundtrip
from composer.errors import BulletinError, InputError

ORIGIN = "_origin"  # not a field name: block fields are lower-case letters first


class StaleFile(BulletinError):
    """The file changed on disk since the page loaded it."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Loaded:
    """The file's text, its digest and its contents as the page edits them."""

    text: str
    base: str
    document: dict[str, Any]


def read(path: Path) -> Loaded:
    return parse(file_text(path))


def file_text(path: Path) -> str:
    """The file exactly as it is: CRLF line ends not turned into LF (as `read_text` would)."""
    return path.read_bytes().decode("utf-8")


def parse(text: str) -> Loaded:
    """The page's view of `text` (read with libyaml: the values, not the formatting)."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe
    except yaml.YAMLError:
        raise InputError(
            "the file is not valid YAML just now, so the editor cannot open it; the banner "
            "says where the mistake is: fix it in a text editor and save, then press Edit again"
        ) from None
    document = roundtrip.to_plain(data) if isinstance(data, dict) else {}
    sections = document.get("sections")
    if isinstance(sections, list):
        for index, section in enumerate(sections):
            if isinstance(section, dict):
                section[ORIGIN] = index
    return Loaded(text=text, base=digest(text), document=document)


def without_origins(document: dict[str, Any]) -> dict[str, Any]:
    """The document as it will be in the file, without the page's bookkeeping."""
    out = dict(document)
    sections = out.get("sections")
    if isinstance(sections, list):
        out["sections"] = [
            {k: v for k, v in s.items() if k != ORIGIN} if isinstance(s, dict) else s for s in sections
        ]
    return out


# Characters PyYAML will not take raw in a stream (C1 controls, U+FEFF, non-characters) or
# reads as a line break inside a string (NEL, U+2028, U+2029): escaped as \uXXXX, which a
# double-quoted YAML string reads back as the same character.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def draft_text(document: dict[str, Any]) -> str:
    """An unsaved draft as text to compose (never for the file): JSON, which is YAML too,
    written and read in a fraction of the time of block-style YAML. Other characters stay
    as they are (an emoji escaped as JSON's two halves would not read back in YAML)."""
    text = json.dumps(without_origins(document), ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def load_tree(text: str) -> tuple[YAML, Any]:
    """`text` read round-trip, as `apply` reads it (no byte-order mark, LF line ends)."""
    return roundtrip.load(text.removeprefix("\ufeff").replace("\r\n", "\n"))


def apply(text: str, document: dict[str, Any], loaded: tuple[YAML, Any] | None = None) -> str:
    """`text` changed to hold `document`, with everything not edited left as it was.

    `loaded` is `text` already read by `load_tree`, which this changes."""
    # A file saved on Windows keeps its CRLF line ends and byte-order mark.
    bom, body = ("\ufeff", text[1:]) if text.startswith("\ufeff") else ("", text)
    crlf = "\r\n" in body
    body = body.replace("\r\n", "\n")
    yaml, tree = loaded or load_tree(text)
    old_sections = tree.get("sections")
    new_sections = document.get("sections")
    if isinstance(old_sections, list) and isinstance(new_sections, list):
        _rebuild_sections(old_sections, new_sections)
    plain = without_origins(document)
    if isinstance(old_sections, list) and isinstance(new_sections, list):
        plain["sections"] = roundtrip.to_plain(old_sections)
    roundtrip.merge_map(tree, plain)
    out = _spaced_like(roundtrip.dump(yaml, tree), body)
    return bom + (out.replace("\n", "\r\n") if crlf else out)


def _rebuild_sections(seq: Any, sections: list[Any]) -> None:
    """The sections in their new order: each from the one it came from, the rest new."""
    originals = list(seq)
    used: set[int] = set()
    items = []
    for section in sections:
        data = {k: v for k, v in section.items() if k != ORIGIN} if isinstance(section, dict) else section
        origin = section.get(ORIGIN) if isinstance(section, dict) else None
        if isinstance(origin, int) and 0 <= origin < len(originals):
            # A duplicate starts as a copy of its original, comments and quoting included.
            node = originals[origin] if origin not in used else copy.deepcopy(originals[origin])
            used.add(origin)
            items.append(roundtrip.merge(node, data))
        else:
            items.append(roundtrip.fresh(data))
    del seq[:]
    seq.extend(items)


_SECTION_START = re.compile(r"^\s*- block:")


def _spaced_like(new: str, old: str) -> str:
    """Keep a blank line before each section when the file had them (a moved or added
    section carries its spacing with it, or has none yet), and end as the file ended."""
    old_lines = old.splitlines()
    spaced = any(
        _SECTION_START.match(line) and i and not old_lines[i - 1].strip() for i, line in enumerate(old_lines)
    )
    lines = new.splitlines()
    out: list[str] = []
    for line in lines:
        if spaced and _SECTION_START.match(line) and out and _needs_space(out[-1]):
            out.append("")
        out.append(line)
    while out and not out[-1].strip() and not old.endswith("\n\n"):
        out.pop()
    return "\n".join(out) + "\n"


def _needs_space(previous: str) -> bool:
    text = previous.strip()
    return bool(text) and not text.startswith("#") and not text.endswith(":")


def write(path: Path, base: str, text: str) -> str:
    """Write `text` atomically unless the file is no longer the one `base` names."""
    current = file_text(path)
    if digest(current) != base:
        raise StaleFile(
            f"{path.name} was changed on disk since you opened it in the editor (perhaps in a "
            "text editor). Reload it to see those changes; your unsaved edits here will be lost."
        )
    write_atomic(path, text.encode("utf-8"), force=True)
    return digest(text)
