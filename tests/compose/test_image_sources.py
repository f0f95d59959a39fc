"""Image sources are checked as links are: https only, on the workspace's own host."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.compose.pipeline import compose_bulletin
from tests.compose.helpers import MINIMAL, write_bulletin


def _image_findings(workspace, workspace_dir: Path, image: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    text = MINIMAL.replace("Practices should read", f"{image}\n\n      Practices should read")
    comp = compose_bulletin(workspace, write_bulletin(workspace_dir, text))
    return [(f.severity, f.code, f.message) for f in comp.report.findings if f.code.startswith("image-")]


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("![a](../../etc/passwd)", "https"),
        ("![d](//evil.example/t.gif)", "protocol-relative"),
        ("![p](data:image/png;base64,iVBORw0KGgo=)", "data:"),
        ("![f](file:///etc/passwd)", "https"),
        ("![h](http://bulletin.example/a.png)", "https"),
    ],
)
def test_a_markdown_image_that_is_not_https_is_an_error(workspace, workspace_dir: Path, image: str, words: str) -> None:
    found = _image_findings(workspace, workspace_dir, image)
    errors = [f for f in found if f[0] == "error" and f[1] == "image-src"]
    assert len(errors) == 1, found
    assert words in errors[0][2] and "field 'body'" in errors[0][2]


def test_a_markdown_image_on_another_host_is_a_warning(workspace, workspace_dir: Path) -> None:
    found = _image_findings(workspace, workspace_dir, "![pixel](https://tracker.example/t.gif)")
    assert [(s, c) for s, c, _ in found] == [("warning", "image-host")]
    assert "tracker.example" in found[0][2] and "bulletin.example" in found[0][2]


def test_a_markdown_image_on_the_workspace_host_passes(workspace, workspace_dir: Path) -> None:
    assert _image_findings(workspace, workspace_dir, "![chart](https://bulletin.example/images/c.png)") == []
