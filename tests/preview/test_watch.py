"""Saving a source file recomposes; saving anything else does not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from composer.preview.app import create_app
from composer.preview.state import PreviewState
from composer.preview.watch import Watcher

from .conftest import JUNE_ACTION, edit, wait_until


@pytest.fixture
def watcher(preview_state: PreviewState, workspace, bulletin_path: Path) -> Iterator[Watcher]:  # type: ignore[no-untyped-def]
    w = Watcher(
        preview_state,
        files=[bulletin_path, workspace.root / "bulletin.toml", workspace.segments_file],
        folders=[workspace.sections_dir, workspace.layouts_dir],
    )
    w.start()
    time.sleep(0.3)  # let the file watches settle before the test saves anything
    yield w
    w.stop()


def test_saving_the_bulletin_bumps_the_version_within_a_second(
    watcher: Watcher, preview_state: PreviewState, bulletin_path: Path
) -> None:
    client = TestClient(create_app(preview_state))
    assert client.get("/api/version").json()["version"] == 1
    saved = time.monotonic()
    edit(bulletin_path, JUNE_ACTION, "Collective action for practices from 1 June")
    wait_until(lambda: preview_state.version == 2, timeout=5, what="a recompose")
    elapsed = time.monotonic() - saved
    assert client.get("/api/version").json()["version"] == 2
    page = client.get("/email/practice/html").text
    assert "Collective action for practices from 1 June" in page
    assert JUNE_ACTION not in page
    # The compose itself takes a few hundred ms on this machine; the watch adds ~0.1 s.
    assert elapsed < 2.5, f"recompose took {elapsed:.2f} s"


def test_saving_a_block_template_recomposes(
    watcher: Watcher, preview_state: PreviewState, workspace  # type: ignore[no-untyped-def]
) -> None:
    template = workspace.sections_dir / "signoff" / "template.txt.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\nSent with the preview test.\n", encoding="utf-8")
    wait_until(lambda: preview_state.version >= 2, timeout=5, what="a recompose")
    wait_until(lambda: preview_state.snapshot().composition is not None, what="a composition")
    client = TestClient(create_app(preview_state))
    wait_until(
        lambda: "Sent with the preview test." in client.get("/email/lmc/text").text,
        what="the new template text",
    )


def test_editing_bulletin_toml_reloads_the_workspace(
    watcher: Watcher, preview_state: PreviewState, workspace  # type: ignore[no-untyped-def]
) -> None:
    edit(workspace.root / "bulletin.toml", 'base_url = "https://bulletin.example"', 'base_url = "https://news.example"')
    wait_until(lambda: preview_state.version >= 2, timeout=5, what="a recompose")
    html = TestClient(create_app(preview_state)).get("/email/lmc/html").text
    assert "https://news.example/u/preview" in html


def test_other_files_do_not_recompose(
    watcher: Watcher, preview_state: PreviewState, workspace, bulletin_path: Path  # type: ignore[no-untyped-def]
) -> None:
    (workspace.root / "notes.md").write_text("not a source\n", encoding="utf-8")
    (bulletin_path.parent / "2026-07-draft.yaml").write_text("subject: next month\n", encoding="utf-8")
    (workspace.root / "out").mkdir(exist_ok=True)
    (workspace.root / "out" / "lmc.html").write_text("<p>old output</p>", encoding="utf-8")
    (workspace.lists_dir / "new-contacts.csv").write_text("email\nsomeone@example.org\n", encoding="utf-8")
    time.sleep(0.8)
    assert preview_state.version == 1


def test_a_burst_of_saves_is_one_or_two_composes(
    watcher: Watcher, preview_state: PreviewState, workspace, bulletin_path: Path  # type: ignore[no-untyped-def]
) -> None:
    for name in ("intro", "article", "signoff", "spr", "petition"):
        path = workspace.sections_dir / name / "template.txt.j2"
        path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    wait_until(lambda: preview_state.version >= 2, timeout=5, what="a recompose")
    time.sleep(1.0)
    assert 2 <= preview_state.version <= 3


def test_editing_the_segments_recomposes(
    watcher: Watcher, preview_state: PreviewState, workspace  # type: ignore[no-untyped-def]
) -> None:
    edit(workspace.segments_file, "  - name: registrar\n", "  - name: trainee\n")
    wait_until(lambda: preview_state.version >= 2, timeout=5, what="a recompose")
    error = preview_state.snapshot().error
    assert error is not None and "registrar" in error.message
