"""What the preview shows: the last good composition, the current error and a version.

Composing happens in one worker thread; the web app only reads immutable snapshots, so a
request never sees half of a recompose. The version goes up after every attempt, good or
bad, and the page reloads when it changes.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from composer.compose.model import Composition
from composer.errors import BulletinError, InputError, InputErrors, display_path

log = logging.getLogger("composer.preview")


class Source(Protocol):
    """Where compositions come from: the real bulletin, or a stand-in in tests."""

    @property
    def label(self) -> str:
        """The bulletin as staff know it, e.g. `bulletins/2026-06-gpce.yaml`."""
        ...

    @property
    def root(self) -> Path: ...

    @property
    def base_url(self) -> str: ...

    def compose(self) -> Composition: ...


class BulletinSource:
    """One bulletin file in one workspace, composed with the real pipeline.

    The workspace is read again before each compose so that an edit to `bulletin.toml`
    (the sender, the postal address, the base URL) shows up like any other edit.
    """

    def __init__(self, workspace: Any, bulletin: Path) -> None:
        self.workspace = workspace
        self.bulletin = bulletin.resolve()

    @property
    def root(self) -> Path:
        return Path(self.workspace.root)

    @property
    def label(self) -> str:
        return display_path(self.bulletin, self.root)

    @property
    def base_url(self) -> str:
        return str(self.workspace.sender.base_url)

    def compose(self) -> Composition:
        from composer.compose.pipeline import compose_bulletin
        from composer.workspace import load_workspace

        self.workspace = load_workspace(self.workspace.root, env=self.workspace.env)
        return compose_bulletin(self.workspace, self.bulletin)


@dataclass(frozen=True)
class ComposeFailure:
    """Why the last compose failed, split into the parts the banner shows."""

    kind: str
    message: str  # the whole message, as the CLI would print it
    reason: str  # the message without its location
    file: str | None = None
    line: int | None = None
    column: int | None = None
    section: int | None = None
    block: str | None = None
    field: str | None = None
    # Every problem when the bulletin has several (InputErrors), each as InputError.as_data.
    problems: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_exception(cls, exc: BaseException, root: Path) -> ComposeFailure:
        kind = type(exc).__name__
        if isinstance(exc, InputError):
            # The message as the CLI prints it, but with the path as staff know it.
            file = display_path(exc.location.file, root) if exc.location.file is not None else None
            where = replace(exc.location, file=file)
            described = where.describe()
            problems = tuple(e.as_data(root) for e in exc.errors) if isinstance(exc, InputErrors) else ()
            return cls(
                kind=kind,
                problems=problems if len(problems) > 1 else (),
                message=exc.describe(root) if len(problems) > 1 else (f"{described}: {exc.reason}" if described else exc.reason),
                reason=f"{len(problems)} problems, each listed below" if len(problems) > 1 else exc.reason,
                file=file,
                line=where.line,
                column=where.column,
                section=where.section,
                block=where.block,
                field=where.field,
            )
        if isinstance(exc, BulletinError):
            return cls(kind=kind, message=str(exc), reason=str(exc))
        text = f"unexpected {kind}: {exc}"
        return cls(kind=kind, message=text, reason=text)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Snapshot:
    """One consistent view of the preview, replaced whole after each compose."""

    version: int = 0
    composition: Composition | None = None  # the last good one
    error: ComposeFailure | None = None  # the current one; None when the last compose worked
    composed_at: datetime | None = None  # when `composition` was made
    attempted_at: datetime | None = None
    duration_ms: float | None = None  # of the last attempt


class PreviewState:
    """The shared state between the compose worker, the watcher and the web app."""

    def __init__(self, source: Source) -> None:
        self.source = source
        # Told apart from a previous run of the preview, whose versions also start at 1.
        self.instance = secrets.token_hex(4)
        self.closing = threading.Event()  # set on shutdown: event streams end
        self._lock = threading.Lock()
        self._compose_lock = threading.Lock()  # one compose at a time
        self._snapshot = Snapshot()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    @property
    def version(self) -> int:
        return self.snapshot().version

    def refresh(self) -> Snapshot:
        """Compose again. A failure keeps the last good composition and records why."""
        with self._compose_lock:
            started = time.perf_counter()
            now = datetime.now(UTC)
            try:
                composition = self.source.compose()
            except Exception as exc:
                failure = ComposeFailure.from_exception(exc, self.source.root)
                if not isinstance(exc, BulletinError):
                    log.exception("compose failed unexpectedly")
                with self._lock:
                    self._snapshot = replace(
                        self._snapshot,
                        version=self._snapshot.version + 1,
                        error=failure,
                        attempted_at=now,
                        duration_ms=(time.perf_counter() - started) * 1000,
                    )
                    return self._snapshot
            return self.publish(composition, started)

    def publish(self, composition: Composition, started: float) -> Snapshot:
        """Show a good composition: one just composed here, or one made elsewhere (the
        editor's save composes before it writes)."""
        now = datetime.now(UTC)
        with self._lock:
            self._snapshot = Snapshot(
                version=self._snapshot.version + 1,
                composition=composition,
                error=None,
                composed_at=now,
                attempted_at=now,
                duration_ms=(time.perf_counter() - started) * 1000,
            )
            return self._snapshot

    def close(self) -> None:
        self.closing.set()
