"""The import: declarations in block.yaml: validated when a block loads, and each source
they may name is one the importer knows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import get_args

import pytest

from composer.authoring.dates import dated_step
from composer.authoring.rules import Filler, SectionParts
from composer.compose.blocks import ImportSource, load_block
from composer.errors import InputError


def test_every_declared_source_is_one_the_importer_fills() -> None:
    filler = Filler(SectionParts("Heading", []), lambda image: {})
    for source in get_args(ImportSource):
        filler.source(source)  # raises ValueError for a source it does not know


@pytest.mark.parametrize(
    ("fill", "message"),
    [
        ("  fill:\n    headline: headings\n", "'headings' is not one of heading, image, text"),
        ("  fill:\n    title: heading\n", "import.fill names title, not one of the fields"),
    ],
)
def test_a_bad_import_declaration_is_refused_with_its_line(workspace_dir: Path, fill: str, message: str) -> None:
    folder = workspace_dir / "sections" / "article"
    text = (folder / "block.yaml").read_text(encoding="utf-8")
    head = text.split("import:")[0]
    (folder / "block.yaml").write_text(head + "import:\n" + fill, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_block(workspace_dir / "sections", "article")
    assert message in str(caught.value)
    assert "block.yaml, line" in str(caught.value)
    shutil.rmtree(folder)


@pytest.mark.parametrize(
    ("line", "at", "note"),
    [
        ("Nominations open – midday on 25 June 2026", "2026-06-25 12:00", None),
        ("Webinar – 6.30pm on Tuesday 7 July 2026", "2026-07-07 18:30", None),
        ("Hustings and voting – 9 July 2026 (at the start of the meeting)", "2026-07-09 00:00", "At the start of the meeting"),
        ("Hustings and voting will take place at the start of the meeting on 9 July 2026", "2026-07-09 00:00", "At the start of the meeting"),
    ],
)
def test_dated_lines_become_uk_time_steps(line: str, at: str, note: str | None) -> None:
    step = dated_step(line)
    assert step is not None and (step.at, step.note) == (at, note)


def test_a_sentence_with_a_date_is_not_a_step() -> None:
    assert dated_step("On May 21st, GPC England voted overwhelmingly to ballot GPs.") is None
