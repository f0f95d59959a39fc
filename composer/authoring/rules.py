"""Choose each section's block and fill its fields, by the `import:` declarations in the
blocks' block.yaml: no block is named here.

A section is first seen as parts in order (prose, list items, dated lines, quoted
paragraphs, an attribution, link-only paragraphs, pictures). A declaration's sources
(`text.before`, `list`, `links.last` …, listed in composer.compose.blocks.ImportSource)
take parts; whatever no field takes stays in the prose, so no words are lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from composer.authoring.dates import dated_step
from composer.authoring.docx_read import DraftImage, Para
from composer.authoring.markdown import to_markdown
from composer.authoring.sections import EMAIL, DraftSection, Signoff
from composer.compose.blocks import BlockSpec, FixedValue, ImportRule

QUOTE_STYLES = ("Quote", "Intense Quote")
FEATURES = ("list", "dated", "quote", "link")


@dataclass
class Part:
    kind: str  # prose, list, dated, quote, attribution, link, image
    para: Para
    value: Any = None


@dataclass
class SectionParts:
    heading: str
    parts: list[Part]
    signoff: Signoff | None = None
    resources: list[tuple[str, str]] = field(default_factory=list)

    def has(self, shape: str) -> bool:
        if shape == "links":
            return any(p.kind == "link" for p in self.parts) or bool(self.resources)
        if shape == "email_line":
            return _email_line(self.parts) is not None
        return any(p.kind == shape for p in self.parts)

    @property
    def words(self) -> str:
        return " ".join(p.para.text for p in self.parts).lower()


def analyse(section: DraftSection) -> SectionParts:
    parts: list[Part] = []
    for para in section.paragraphs:
        parts.append(_part(para, parts[-1] if parts else None))
    return SectionParts(section.heading, parts)


def _part(para: Para, previous: Part | None) -> Part:
    text = para.text
    if not text and para.images:
        return Part("image", para, para.images[0])
    if para.list_kind:
        return Part("list", para, to_markdown(para))
    if para.style in QUOTE_STYLES:
        return Part("quote", para, to_markdown(para))
    if previous is not None and previous.kind == "quote" and text[:1] in "—–-":
        name, _, role = text.lstrip("—–- ").partition(",")
        return Part("attribution", para, (name.strip(), role.strip() or None))
    links = para.links
    if len(links) == 1 and _bare(text) == _bare(links[0][0]):
        return Part("link", para, {"text": links[0][0], "url": links[0][1]})
    step = dated_step(text)
    if step is not None:
        return Part("dated", para, {k: v for k, v in step.__dict__.items() if v is not None})
    return Part("prose", para, None)


def _bare(text: str) -> str:
    return re.sub(r"[\s.:;,!]+$", "", " ".join(text.split()))


def _email_line(parts: list[Part]) -> int | None:
    for index in range(len(parts) - 1, -1, -1):
        if parts[index].kind == "prose":
            found = re.search(rf"\s*({EMAIL.pattern})\s*\.?$", parts[index].para.text)
            return index if found else None
    return None


def matches(rule: ImportRule, parts: SectionParts) -> str | None:
    """Why the rule holds for the section, or None."""
    reasons = []
    if rule.heading_words:
        word = next((w for w in rule.heading_words if _has_word(parts.heading.lower(), w)), None)
        if word is None:
            return None
        reasons.append(f"heading has '{word}'")
    if rule.words:
        word = next((w for w in rule.words if _has_word(parts.words, w)), None)
        if word is None:
            return None
        reasons.append(f"mentions '{word}'")
    if rule.shapes:
        if not all(parts.has(s) for s in rule.shapes):
            return None
        reasons.append("has " + " and ".join(SHAPE_WORDS[s] for s in rule.shapes))
    return ", ".join(reasons) or "always"


SHAPE_WORDS = {
    "list": "a list", "dated": "dated lines", "quote": "a quoted statement", "links": "link lines",
    "image": "a picture", "email_line": "a closing email address",
}


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word.lower())}", text) is not None


class Filler:
    """Takes parts for the sources a declaration names; the rest stays prose."""

    def __init__(self, parts: SectionParts, save_image: Callable[[DraftImage], dict[str, Any]]) -> None:
        self.sp = parts
        self.taken: set[int] = set()
        self.save_image = save_image
        self._prose: tuple[int, list[tuple[int, str]]] | None = None

    def fill(self, block: BlockSpec) -> dict[str, Any]:
        assert block.declaration.import_ is not None
        plan = block.declaration.import_.fill
        ordered = sorted(plan.items(), key=lambda kv: isinstance(kv[1], str) and kv[1].startswith("text"))
        out: dict[str, Any] = {}
        types = {f.name: f.type for f in block.fields}
        for name, source in ordered:
            value = source.value if isinstance(source, FixedValue) else self.source(source)
            if isinstance(value, str) and types.get(name) in ("string", "email"):
                value = " ".join(value.split())  # one-line fields take prose as one line
            if value not in (None, [], ""):
                out[name] = value
        return {f.name: out[f.name] for f in block.fields if f.name in out}

    def source(self, name: str) -> Any:
        if name.startswith("signoff."):
            signoff = self.sp.signoff
            if signoff is None:
                return None
            if name == "signoff.contacts":
                return [{k: v for k, v in c.__dict__.items() if v} for c in signoff.contacts]
            return getattr(signoff, name.split(".")[1])
        if name == "heading":
            return self.sp.heading
        if name.startswith("text"):
            return self._text(name)
        return self._feature(name)

    def _take(self, kind: str, first_run: bool = True) -> list[int]:
        found = [i for i, p in enumerate(self.sp.parts) if p.kind == kind and i not in self.taken]
        if first_run and found:
            run = [found[0]]
            while run[-1] + 1 in found:
                run.append(run[-1] + 1)
            found = run
        self.taken.update(found)
        return found

    def _feature(self, name: str) -> Any:
        parts = self.sp.parts
        if name == "image":
            index = self._take("image")
            return self.save_image(parts[index[0]].value) if index else None
        if name in ("list", "dated", "quote"):
            index = self._take(name)
            if name == "quote":
                self._take("attribution")
                return "\n\n".join(parts[i].value for i in index) + "\n" if index else None
            return [parts[i].value for i in index]
        if name.startswith("attribution."):
            found = next((p.value for p in parts if p.kind == "attribution"), None)
            return None if found is None else found[0 if name.endswith("name") else 1]
        if name.startswith("links"):
            return self._links(name)
        if name.startswith("email_line."):
            return self._email(name)
        raise ValueError(f"unknown import source '{name}'")

    def _links(self, name: str) -> Any:
        if self.sp.resources:
            return [{"text": t, "url": u} for t, u in self.sp.resources]
        run = [i for i in self._take("link", first_run=True)]
        if name == "links":
            return [self.sp.parts[i].value for i in run]
        if not run:
            return None
        keep = run[-1] if name == "links.last" else run[0]
        self.taken.difference_update(set(run) - {keep})
        return self.sp.parts[keep].value

    def _email(self, name: str) -> Any:
        index = _email_line(self.sp.parts)
        if index is None:
            return None
        self.taken.add(index)
        text = self.sp.parts[index].para.text
        found = re.search(rf"\s*({EMAIL.pattern})\s*\.?$", text)
        assert found is not None
        return found[1] if name.endswith("email") else text[: found.start()].rstrip(" :")

    def _text(self, name: str) -> str | None:
        if self._prose is None:  # every text source reads the prose left by the features
            parts = self.sp.parts
            features = [i for i in self.taken if parts[i].kind in FEATURES]
            pivot = min(features) if features else len(parts)
            self._prose = (pivot, [(i, self._as_markdown(p)) for i, p in enumerate(parts) if i not in self.taken])
        pivot, prose = self._prose
        if name.startswith("text.before"):
            chosen = [md for i, md in prose if i < pivot]
        elif name.startswith("text.after"):
            chosen = [md for i, md in prose if i > pivot]
        else:
            chosen = [md for _, md in prose]
        if name.endswith(".first"):
            chosen = chosen[:1]
        elif name.endswith(".rest"):
            chosen = chosen[1:]
        return "\n\n".join(chosen) + "\n" if chosen else None

    def _as_markdown(self, part: Part) -> str:
        if part.kind == "list":
            return ("1. " if part.para.list_kind == "number" else "- ") + part.value
        if part.kind == "quote":
            return "> " + part.value
        if part.kind == "image":
            saved = self.save_image(part.value)
            return f"![{saved['alt']}]({saved['src']})"
        return to_markdown(part.para)
