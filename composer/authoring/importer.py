"""`bulletin import`: a Word draft becomes a bulletin source that composes.

Two phases: read and place everything (refusing unresolved changes), then validate the
result as `bulletin compose` would, and only then write the pictures and the YAML.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from composer.authoring.docx_read import Draft, DraftImage, read_draft
from composer.authoring.rules import Filler, SectionParts, analyse, matches
from composer.authoring.sections import DraftSection, Outline, outline
from composer.authoring.writer import refuse_existing, to_yaml, write_atomic
from composer.compose.blocks import BlockSpec, available_blocks, load_block
from composer.errors import InputError, InputErrors, Location
from composer.segments import load_segments
from composer.workspace import Workspace

MAX_IMAGE_WIDTH = 552  # the layout's content width


@dataclass(frozen=True)
class SectionRow:
    heading: str
    block: str
    why: str
    audiences: str


@dataclass
class ImportResult:
    out: Path
    rows: list[SectionRow]
    unplaced: list[str]
    accepted: int
    images: list[Path]
    notes: list[str] = field(default_factory=list)


class UnresolvedChanges(InputError):
    """The draft still holds tracked changes or comments."""


def import_draft(
    workspace: Workspace,
    draft_path: Path,
    out: Path | None = None,
    accept_changes: bool = False,
    ignore_comments: bool = False,
    force: bool = False,
) -> ImportResult:
    out = out or workspace.bulletins_dir / f"{_slug(draft_path.stem)}.yaml"
    refuse_existing(out, force)
    draft = read_draft(draft_path, accept_changes, ignore_comments)
    if draft.revisions:
        raise UnresolvedChanges(_revisions_message(draft), Location(file=draft_path))
    segments = list(load_segments(workspace.segments_file))
    builder = _Builder(workspace, out, segments)
    data = builder.bulletin(draft, outline(draft), draft_path)
    header = f"Imported from {draft_path.name} by `bulletin import`. Check every section before sending."
    text = to_yaml(data, header)
    _validate(workspace, out, text, builder.images)
    for rel, blob in builder.images.items():
        write_atomic(out.parent / rel, blob, force)
    write_atomic(out, text.encode("utf-8"), force)
    return ImportResult(out, builder.rows, draft.unplaced, draft.accepted, [out.parent / r for r in builder.images], builder.notes)


def _revisions_message(draft: Draft) -> str:
    lines = [f"the draft still has {len(draft.revisions)} unresolved change(s) or comment(s):"]
    lines += [f"  - {r.line()}" for r in draft.revisions]
    lines.append(
        "Accept or reject them in Word (Review → Accept/Reject, delete comments) and save, or run again "
        "with --accept-changes (keeps insertions, removes deletions) and/or --ignore-comments."
    )
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "bulletin"


def _validate(workspace: Workspace, out: Path, text: str, images: dict[str, bytes]) -> None:
    """Load the result as compose would, from a temporary copy next to where it goes."""
    from composer.compose.source import load_bulletin

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, suffix=".yaml", encoding="utf-8", delete=False) as tmp:
        tmp.write(text)
    try:
        load_bulletin(workspace, Path(tmp.name))
    except InputError as exc:
        # Every problem, named at the file it would have been written to, not the temporary copy.
        found = exc.errors if isinstance(exc, InputErrors) else (exc,)
        raise InputErrors([
            InputError(
                f"the imported bulletin does not validate: {e.reason}",
                replace(e.location, file=out) if e.location.file == Path(tmp.name) else e.location,
            )
            for e in found
        ]) from None
    finally:
        Path(tmp.name).unlink(missing_ok=True)


class _Builder:
    """Places the outline's parts in blocks, collecting pictures and the report rows."""

    def __init__(self, workspace: Workspace, out: Path, segments: list[str]) -> None:
        self.out = out
        self.segments = segments
        self.rows: list[SectionRow] = []
        self.notes: list[str] = []
        self.images: dict[str, bytes] = {}
        self.blocks = [load_block(workspace.sections_dir, n, workspace.sender.timezone) for n in available_blocks(workspace.sections_dir)]
        self.blocks = [b for b in self.blocks if b.declaration.import_ is not None]
        self._heading = ""

    def placed(self, placement: str) -> list[BlockSpec]:
        return [b for b in self.blocks if b.declaration.import_ and b.declaration.import_.placement == placement]

    def bulletin(self, draft: Draft, outline_: Outline, draft_path: Path) -> dict[str, Any]:
        sections: list[dict[str, Any]] = []
        if outline_.intro is not None:
            sections.append(self._fixed("intro", analyse(outline_.intro), "text before the first heading"))
        for section in outline_.sections:
            sections.append(self._section(section))
        if outline_.resources:
            parts = SectionParts("", [], resources=outline_.resources)
            sections.append(self._fixed("trailing_links", parts, "list of links at the end, with no heading"))
        if outline_.signoff is not None:
            parts = SectionParts("", [], signoff=outline_.signoff)
            sections.append(self._fixed("signoff", parts, "closing name, role and Email: lines"))
        subject = outline_.subject or draft_path.stem.replace("-", " ")
        if not outline_.subject:
            self.notes.append("The draft has no title (File → Info → Title): the subject is the file name; change it.")
        issue_date = draft.created
        if issue_date is None:
            from datetime import date

            issue_date = date.today()
            self.notes.append("The draft has no creation date: issue_date is today; change it.")
        return {
            "subject": " ".join(subject.split()),
            "preheader": " ".join(draft.summary.split()),
            "issue_date": issue_date,
            "segments": self.segments,
            "layout": "default",
            "sections": [s for s in sections if s],
        }

    def _fixed(self, placement: str, parts: SectionParts, why: str) -> dict[str, Any]:
        for block in self.placed(placement):
            values = Filler(parts, self._save_image).fill(block)
            if _complete(block, values):
                self._row(parts.heading or f"({placement.replace('_', ' ')})", block.name, why, None)
                return {"block": block.name, **values}
        self.notes.append(f"No block takes the {placement.replace('_', ' ')}: it was left out.")
        return {}

    def _section(self, section: DraftSection) -> dict[str, Any]:
        parts = analyse(section)
        self._heading = section.heading
        audiences = self._audiences(section)
        choice = self._choose(parts)
        block, why, values = choice
        self._row(section.heading, block.name, why, audiences)
        entry: dict[str, Any] = {"block": block.name}
        if audiences is not None:
            entry["audiences"] = audiences
        entry.update(values)
        return entry

    def _choose(self, parts: SectionParts) -> tuple[BlockSpec, str, dict[str, Any]]:
        fallback: list[BlockSpec] = []
        for block in self.placed("section"):
            assert block.declaration.import_ is not None
            if not block.declaration.import_.recognise:
                fallback.append(block)
            for rule in block.declaration.import_.recognise:
                why = matches(rule, parts)
                if why is None:
                    continue
                values = Filler(parts, self._save_image).fill(block)
                if _complete(block, values):
                    return block, why, values
        for block in fallback:
            values = Filler(parts, self._save_image).fill(block)
            if _complete(block, values):
                return block, "no rule matched", values
        raise InputError(f"no block can hold the section '{parts.heading}' (is there one without 'recognise:'?)")

    def _audiences(self, section: DraftSection) -> list[str] | None:
        if section.audiences is None:
            return None
        unknown = [a for a in section.audiences if a not in self.segments]
        if unknown:
            raise InputError(
                f"section '{section.heading}': unknown audience {', '.join(unknown)} in its {section.hint_source} "
                f"(segments: {', '.join(self.segments)})"
            )
        return None if set(section.audiences) == set(self.segments) else section.audiences

    def _row(self, heading: str, block: str, why: str, audiences: list[str] | None) -> None:
        self.rows.append(SectionRow(heading, block, why, ", ".join(audiences) if audiences else "all"))

    def _save_image(self, image: DraftImage) -> dict[str, Any]:
        folder = self.out.stem
        base = _slug(self._heading)[:48] or "image"
        name, n = f"{base}.{image.extension}", 1
        while f"{folder}/{name}" in self.images:
            n += 1
            name = f"{base}-{n}.{image.extension}"
        rel = f"{folder}/{name}"
        self.images[rel] = image.data
        # The src names the file inside the bulletin's picture folder (composer.compose.assets).
        value: dict[str, Any] = {"src": name, "alt": image.alt}
        if image.width_px:
            value["width"] = min(image.width_px, MAX_IMAGE_WIDTH)
        if not image.alt:
            self.notes.append(f"The picture in '{self._heading}' has no alt text: add it in Word or in the YAML.")
        return value


def _complete(block: BlockSpec, values: dict[str, Any]) -> bool:
    return all(f.name in values for f in block.fields if f.required and f.default is None)
