"""Recompose when the bulletin, a block, a layout, the segments or bulletin.toml is saved.

Two watchfiles threads feed one compose worker: a recursive watch over the folders whose
every file matters (sections/, layouts/) and a flat watch over the folders that hold the
single files that matter (the bulletin, bulletin.toml, lists/segments.yaml). The flat
watch is what keeps `.venv/` and `out/` in the workspace root, and the contact CSVs in
lists/, out of it. Watching folders, not files, also survives editors that save by
writing a new file and renaming it over the old. A burst of saves (a "save all") is
coalesced into one compose.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

from composer.preview.state import PreviewState

log = logging.getLogger("composer.preview")

class Watcher:
    """Recomposes into `state` when one of `files` or anything under `folders` changes."""

    def __init__(
        self,
        state: PreviewState,
        *,
        files: Iterable[Path],
        folders: Iterable[Path],
        step_ms: int = 50,
        debounce_ms: int = 400,
    ) -> None:
        self.state = state
        self.files = {f.resolve() for f in files}
        self.folders = sorted({f.resolve() for f in folders if f.is_dir()})
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._dirty = threading.Event()
        self._threads: list[threading.Thread] = []
        self._default_filter = DefaultFilter()

    @property
    def flat_folders(self) -> list[Path]:
        return sorted({p.parent for p in self.files if p.parent.is_dir()})

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        jobs = [("preview-compose", self._compose_loop)]
        if self.folders:
            jobs.append(("preview-watch-tree", lambda: self._watch_loop(self.folders, True)))
        jobs.append(("preview-watch-files", lambda: self._watch_loop(self.flat_folders, False)))
        for name, target in jobs:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def poke(self) -> None:
        """Ask for a recompose, as a saved file does."""
        self._dirty.set()

    def _relevant(self, change: Change, path: str) -> bool:
        resolved = Path(path).resolve()
        if resolved in self.files:
            return True
        if any(resolved.is_relative_to(folder) for folder in self.folders):
            return self._default_filter(change, path)
        return False

    def _watch_loop(self, paths: list[Path], recursive: bool) -> None:
        while not self._stop.is_set():
            try:
                for changes in watch(
                    *paths,
                    watch_filter=self._relevant,
                    debounce=self.debounce_ms,
                    step=self.step_ms,
                    stop_event=self._stop,
                    recursive=recursive,
                    raise_interrupt=False,
                ):
                    log.debug("changed: %s", sorted(p for _, p in changes))
                    self._dirty.set()
            except Exception:
                # A watched folder can vanish under us (a branch switch, a rename); wait
                # and watch again rather than stop reloading for the rest of the session.
                log.exception("file watching failed; retrying")
                self._stop.wait(1.0)

    def _compose_loop(self) -> None:
        while not self._stop.is_set():
            if not self._dirty.wait(timeout=0.2):
                continue
            self._dirty.clear()
            self.state.refresh()
