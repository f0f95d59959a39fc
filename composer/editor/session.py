"""The editor's side of one `bulletin preview`: the draft being shown, and saving it.

The page holds the document; the server keeps only the latest composed draft (so the
panes can load its emails) and composes one draft at a time. A save checks the file is
still the one the page loaded, composes the new text (a mistake is reported and nothing
is written), writes it atomically, and hands the composition to the preview state, so
the panes update at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from composer.compose.model import Composition
from composer.editor import document, drafts, schema, uploads
from composer.editor.guard import Guard
from composer.errors import InputError
from composer.preview.payload import state_payload
from composer.preview.state import BulletinSource, ComposeFailure, PreviewState, Snapshot
from composer.segments import load_segments


@dataclass(frozen=True)
class SaveRefused(Exception):
    """A save that did not write: `stale` when the file changed on disk meanwhile."""

    message: str
    stale: bool = False
    problems: tuple[drafts.Problem, ...] = ()


class EditorSession:
    """Drafts and saves for the bulletin `state` previews."""

    def __init__(self, state: PreviewState, source: BulletinSource) -> None:
        self.state = state
        self.source = source
        self.guard = Guard()
        self._lock = threading.Lock()  # one draft compose or save at a time
        self._draft: Snapshot | None = None
        self._draft_doc: dict[str, Any] | None = None  # what `_draft` was composed from
        # The file as last read round-trip, by digest: reading it costs more than the
        # rest of a save, so it is read when the editor opens and kept after each save.
        self._tree: tuple[str, Any] | None = None

    @property
    def path(self) -> Path:
        return self.source.bulletin

    def draft_composition(self) -> Composition | None:
        draft = self._draft
        return draft.composition if draft else None

    def opened(self) -> dict[str, Any]:
        """What the editor starts from: the file, the blocks, the segments, the pictures."""
        workspace = self.source.workspace
        loaded = document.read(self.path)
        self._tree = (loaded.base, document.load_tree(loaded.text))
        segments = load_segments(workspace.segments_file)
        return {
            "base": loaded.base,
            "document": loaded.document,
            "file": self.source.label,
            "blocks": schema.catalogue(workspace.sections_dir),
            "segments": [{"name": s.name, "description": s.description} for s in segments.values()],
            "pictures": [p.as_dict() for p in uploads.pictures(self.path)],
            "picture_folder": document_folder(self.source),
        }

    def current_base(self) -> str:
        return document.digest(document.file_text(self.path))

    def draft(self, number: int, doc: dict[str, Any], shown: list[str]) -> dict[str, Any]:
        """The preview payload of draft `number` (the page numbers its drafts and sends
        the next only when the last is answered, so none queue up here)."""
        with self._lock:
            started = time.perf_counter()
            now = datetime.now(UTC)
            previous = self._draft.composition if self._draft else self.state.snapshot().composition
            workspace = self.source.workspace
            self._draft_doc = document.without_origins(doc)
            try:
                comp = drafts.compose_draft(workspace, self.path, doc, shown)
                snapshot = Snapshot(number, comp, None, now, now, (time.perf_counter() - started) * 1000)
                found: list[drafts.Problem] = []
            except InputError as exc:
                found = drafts.problems(exc, self.source.root)
                # The draft's line numbers are not the file's: the banner names the field.
                failure = draft_failure(exc, self.source.root, found)
                shown_at = self._draft.composed_at if self._draft else self.state.snapshot().composed_at
                snapshot = Snapshot(number, previous, failure, shown_at, now, (time.perf_counter() - started) * 1000)
            self._draft = snapshot
        payload = state_payload(snapshot, self.source.label, self.state.instance)
        for finding in payload["findings"]:
            finding["line"] = None  # the draft's line, not the file's
        payload.update(draft=number, problems=[p.as_dict() for p in found], editable=True)
        return payload

    def check(self, doc: dict[str, Any], index: int, markdown_fields: list[str]) -> dict[str, Any]:
        """Messages for one section of the draft, and its Markdown fields as HTML."""
        found = drafts.check_section(self.source.workspace, self.path, doc, index)
        sections = document.without_origins(doc).get("sections") or []
        section = sections[index - 1] if 1 <= index <= len(sections) else {}
        return {
            "problems": [p.as_dict() for p in found],
            "markdown": drafts.markdown_previews(section if isinstance(section, dict) else {}, markdown_fields),
        }

    def save(self, base: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Write the document, or raise SaveRefused saying why nothing was written."""
        with self._lock:  # not while a draft is being composed: the save may reuse it
            return self._save(base, doc)

    def _save(self, base: str, doc: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        current = document.file_text(self.path)
        if document.digest(current) != base:
            raise SaveRefused(stale_message(self.path), stale=True)
        cached, self._tree = self._tree, None  # apply changes it: kept only if the save works
        tree = cached[1] if cached and cached[0] == base else None
        text = document.apply(current, doc, tree)
        if document.without_origins(document.parse(text).document) != document.without_origins(doc):
            # What compose would read from the new file is not what the form shows: never
            # write that (a guard: `roundtrip` quotes whatever YAML could misread).
            raise SaveRefused("Not saved: the file would not say what the form says; nothing was written. Please report this.")
        try:
            comp = self._recompose(doc, text)
        except InputError as exc:
            found = tuple(drafts.problems(exc, self.source.root))
            raise SaveRefused(f"Not saved: {found[0].message}", problems=found) from None
        try:
            new_base = document.write(self.path, base, text)
        except document.StaleFile:
            raise SaveRefused(stale_message(self.path), stale=True) from None
        self._tree = (new_base, tree) if tree is not None else None
        self.state.publish(comp, started)
        self._draft = None
        elapsed = (time.perf_counter() - started) * 1000
        return {"base": new_base, "document": document.parse(text).document, "ms": round(elapsed, 1)}

    def _recompose(self, doc: dict[str, Any], text: str) -> Composition:
        """Every segment and combination of the saved text. The draft on screen is usually
        this very document (the page composes each change before Save can be pressed):
        then its segments are kept and only the combinations are rendered."""
        from composer.compose.pipeline import compose_bulletin
        from composer.compose.variants import every_audience

        draft = self._draft
        if draft is not None and draft.composition is not None and draft.error is None and self._draft_doc == document.without_origins(doc):
            comp = draft.composition
            return comp.more(every_audience(comp.order)) if comp.more else comp
        return compose_bulletin(self.source.workspace, self.path, text=text)

    def upload(self, wanted: str, data: bytes) -> dict[str, Any]:
        picture = uploads.save_upload(self.path, self.source.root, wanted, data)
        return {"picture": picture.as_dict(), "pictures": [p.as_dict() for p in uploads.pictures(self.path)]}


def draft_failure(exc: InputError, root: Path, found: list[drafts.Problem]) -> ComposeFailure:
    """The banner for a draft that does not compose, without the draft's line numbers
    (it is composed from the page's JSON, not the file)."""
    failure = ComposeFailure.from_exception(exc, root)
    unlined = tuple({**p, "line": None, "column": None} for p in failure.problems)
    message = found[0].message if len(found) == 1 else "\n".join(
        [f"{len(found)} problems in the draft:", *(f"  {p.message}" for p in found)]
    )
    return replace(failure, line=None, column=None, message=message, problems=unlined)


def stale_message(path: Path) -> str:
    return (
        f"Not saved: {path.name} was changed on disk since you opened it here (perhaps in a text "
        "editor). Reload to see those changes; your unsaved edits in this page will be lost."
    )


def document_folder(source: BulletinSource) -> str:
    from composer.compose.assets import asset_dir
    from composer.errors import display_path

    return display_path(asset_dir(source.bulletin), source.root) + "/"
