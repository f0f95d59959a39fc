"""Pictures in the bulletin's folder: found, checked, published by content."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from PIL import Image

from composer.compose.pipeline import compose_bulletin, default_out_dir, write_outputs
from composer.errors import InputError
from tests.compose.helpers import write_bulletin

BULLETIN = """\
subject: Test bulletin
preheader: A short test preheader
issue_date: 2026-06-04
segments: [lmc, practice, registrar]
sections:
  - block: article
    headline: Pictured news
    image:
      src: {src}
      alt: A test picture
    body: Words.
"""


def _bulletin(root: Path, src: str = "pic.png") -> Path:
    return write_bulletin(root, BULLETIN.format(src=src))


def _picture(root: Path, width: int, name: str = "pic.png", noise: bool = False) -> Path:
    folder = root / "bulletins" / "test"
    folder.mkdir(parents=True, exist_ok=True)
    height = width // 2
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), "#1b2a4a")
    image.save(folder / name)
    return folder / name


def test_missing_picture_names_file_line_section_and_field(workspace, workspace_dir: Path) -> None:
    path = _bulletin(workspace_dir)
    with pytest.raises(InputError) as caught:
        compose_bulletin(workspace, path)
    where = caught.value.location
    assert "pic.png" in str(caught.value) and "bulletins/test" in str(caught.value)
    assert (where.file, where.line, where.section, where.field) == (path, 9, 1, "image.src")


def test_a_file_that_is_not_a_picture_is_refused(workspace, workspace_dir: Path) -> None:
    path = _bulletin(workspace_dir)
    (workspace_dir / "bulletins" / "test").mkdir(parents=True)
    (workspace_dir / "bulletins" / "test" / "pic.png").write_text("<html>not a picture</html>")
    with pytest.raises(InputError, match="not a readable picture"):
        compose_bulletin(workspace, path)


def test_a_path_out_of_the_folder_is_refused(workspace, workspace_dir: Path) -> None:
    with pytest.raises(InputError, match="inside test/"):
        compose_bulletin(workspace, _bulletin(workspace_dir, "../../bulletin.png"))


@pytest.mark.parametrize(
    ("width", "noise", "severity", "code"),
    [(400, False, "error", "image-too-narrow"), (800, False, "warning", "image-not-sharp"),
     (500, True, "warning", "image-heavy"), (1200, True, "error", "image-too-heavy")],
)  # fmt: skip
def test_pictures_too_small_or_too_heavy_are_reported(
    workspace, workspace_dir: Path, width: int, noise: bool, severity: str, code: str
) -> None:
    _picture(workspace_dir, width, noise=noise)
    report = compose_bulletin(workspace, _bulletin(workspace_dir)).report
    found = [f for f in report.findings if f.code == code]
    assert found and found[0].severity == severity and found[0].section == 1, report.findings


def test_compose_publishes_the_picture_by_content(workspace, workspace_dir: Path) -> None:
    picture = _picture(workspace_dir, 1200)
    path = _bulletin(workspace_dir)
    comp = compose_bulletin(workspace, path)
    assert not [f for f in comp.report.findings if f.code.startswith("image")]
    html = comp.renders["lmc"].html
    match = re.search(r'<img[^>]*src="https://bulletin\.example/assets/([0-9a-f]{16})\.png"[^>]*>', html)
    assert match, html
    assert 'height="276"' in match.group(0) and 'width="552"' in match.group(0)
    import hashlib

    assert hashlib.sha256(picture.read_bytes()).hexdigest().startswith(match.group(1))
    out = default_out_dir(workspace, path)
    write_outputs(workspace, comp, out)
    assert (out / "assets" / f"{match.group(1)}.png").read_bytes() == picture.read_bytes()
    assert match.group(1) in comp.archive_html


def test_recompose_replaces_its_pictures_but_not_other_files_in_assets(workspace, workspace_dir: Path) -> None:
    _picture(workspace_dir, 1200)
    path = _bulletin(workspace_dir)
    out = default_out_dir(workspace, path)
    write_outputs(workspace, compose_bulletin(workspace, path), out)
    write_outputs(workspace, compose_bulletin(workspace, path), out)  # its own assets/ is fine
    (out / "assets" / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(InputError, match="did not write"):
        write_outputs(workspace, compose_bulletin(workspace, path), out)
    assert (out / "assets" / "holiday.jpg").read_bytes() == b"precious"
