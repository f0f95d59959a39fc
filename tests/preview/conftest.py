"""Fixtures for the preview: the real sample bulletin composed in a throwaway workspace."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from composer.preview.state import BulletinSource, PreviewState

SAMPLE = "bulletins/2026-06-gpce.yaml"
JUNE_ACTION = "New collective action for practices in June"
FOURTEENFISH = "GP Registrars and trainers demand action on FourteenFish"
SPR = "NHS Modernisation Bill and Single Patient Record"
ELECTIONS = "GPCE officer elections"
HOSTILE = "Dr <b>O'Brien</b> & Partners"


def edit(path: Path, old: str, new: str) -> str:
    """Replace the first `old` in `path` and return the text as it was before."""
    before = path.read_text(encoding="utf-8")
    assert old in before, f"{old!r} is not in {path}"
    path.write_text(before.replace(old, new, 1), encoding="utf-8")
    return before


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of `path` that contains `text`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def wait_until(condition: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def bulletin_path(workspace_dir: Path) -> Path:
    return workspace_dir / SAMPLE


@pytest.fixture
def preview_state(workspace, bulletin_path: Path) -> PreviewState:  # type: ignore[no-untyped-def]
    state = PreviewState(BulletinSource(workspace, bulletin_path))
    state.refresh()
    return state
