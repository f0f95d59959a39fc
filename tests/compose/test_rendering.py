"""The June sample as mail clients see it: doctype, Outlook widths, preheader, images, size."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.compose.model import Composition
from composer.compose.pipeline import compose_bulletin

SAMPLE = Path("bulletins/2026-06-gpce.yaml")


@pytest.fixture
def june(workspace, workspace_dir: Path) -> Composition:  # type: ignore[no-untyped-def]
    return compose_bulletin(workspace, workspace_dir / SAMPLE)


def _documents(comp: Composition) -> dict[str, str]:
    return {**{name: r.html for name, r in comp.renders.items()}, "archive": comp.archive_html}


def test_every_segment_and_the_archive_start_with_a_doctype(june: Composition) -> None:
    for name, html in _documents(june).items():
        assert html.lower().startswith("<!doctype html>"), f"{name} has no doctype: quirks mode"
