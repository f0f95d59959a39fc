"""Saving from the editor changes the file only where staff changed it."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import pytest
import yaml

from composer.authoring.writer import to_yaml
from composer.editor import document
from tests.support import REPO

SAMPLE = REPO / "bulletins" / "2026-06-gpce.yaml"


def changed_lines(old: str, new: str) -> tuple[Counter[str], Counter[str]]:
    before, after = Counter(old.splitlines()), Counter(new.splitlines())
    return before - after, after - before


def test_an_unchanged_document_writes_the_file_back_byte_for_byte() -> None:
    loaded = document.read(SAMPLE)
    assert document.apply(loaded.text, copy.deepcopy(loaded.document)) == loaded.text


def test_a_file_written_by_import_keeps_its_own_indentation() -> None:
    text = to_yaml(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")), "Imported from draft.docx")
    loaded = document.parse(text)
    edited = copy.deepcopy(loaded.document)
    edited["sections"][0]["greeting"] = "Dear colleagues"
    removed, added = changed_lines(text, document.apply(text, edited))
    assert removed == Counter({"  greeting: Dear {{ first_name }}": 1})
    assert added == Counter({"  greeting: Dear colleagues": 1})


def test_a_moved_section_takes_its_comment_with_it() -> None:
    loaded = document.read(SAMPLE)
    edited = copy.deepcopy(loaded.document)
    sections = edited["sections"]
    sections.insert(0, sections.pop(1))  # the June action, whose image line has a comment
    new = document.apply(loaded.text, edited)
    assert Counter(new.splitlines()) == Counter(loaded.text.splitlines())
    assert new.index("src: collective-action.png  # the file in bulletins/2026-06-gpce/") < new.index("greeting:")


def test_new_keys_land_among_their_neighbours_without_opening_a_gap() -> None:
    loaded = document.read(SAMPLE)
    edited = copy.deepcopy(loaded.document)
    spr = next(s for s in edited["sections"] if s["block"] == "spr")
    spr.pop("full_statement")  # the last key, which holds the blank line before the next section
    spr["attribution_role"] = "GPC England chair"
    new = document.apply(loaded.text, edited)
    after = new.split("- block: spr", 1)[1].split("- block:", 1)[0]
    assert after.endswith("attribution_role: GPC England chair\n\n  ")


def test_an_added_row_is_quoted_like_the_rows_before_it() -> None:
    loaded = document.read(SAMPLE)
    edited = copy.deepcopy(loaded.document)
    elections = next(s for s in edited["sections"] if s["block"] == "elections")
    elections["timeline"].append({"label": "Results", "at": "2026-07-10 12:00"})
    _, added = changed_lines(loaded.text, document.apply(loaded.text, edited))
    assert added == Counter({"      - label: Results": 1, '        at: "2026-07-10 12:00"': 1})


def test_an_unticked_audience_keeps_the_list_on_one_line() -> None:
    loaded = document.read(SAMPLE)
    edited = copy.deepcopy(loaded.document)
    edited["sections"][1]["audiences"] = ["practice"]
    removed, added = changed_lines(loaded.text, document.apply(loaded.text, edited))
    assert removed == Counter({"    audiences: [practice, lmc]": 1})
    assert added == Counter({"    audiences: [practice]": 1})


def test_dates_stay_dates_and_paragraphs_stay_blocks() -> None:
    loaded = document.read(SAMPLE)
    edited = copy.deepcopy(loaded.document)
    edited["issue_date"] = "2026-06-11"
    edited["sections"].append({"block": "article", "headline": "New", "body": "One.\n\nTwo."})
    new = document.apply(loaded.text, edited)
    assert "\nissue_date: 2026-06-11\n" in new
    assert new.endswith("\n\n  - block: article\n    headline: New\n    body: |-\n      One.\n\n      Two.\n")
    assert yaml.safe_load(new)["sections"][-1]["body"] == "One.\n\nTwo."


def test_a_duplicate_is_a_copy_and_the_original_stays() -> None:
    loaded = document.read(SAMPLE)
    edited = copy.deepcopy(loaded.document)
    edited["sections"].insert(2, copy.deepcopy(edited["sections"][1]))
    new = document.apply(loaded.text, edited)
    assert new.count("src: collective-action.png  # the file in bulletins/2026-06-gpce/") == 2
    data = yaml.safe_load(new)
    assert data["sections"][1] == data["sections"][2]


def test_a_write_is_refused_when_the_file_changed_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("subject: a\n", encoding="utf-8")
    base = document.digest("subject: a\n")
    path.write_text("subject: b\n", encoding="utf-8")
    with pytest.raises(document.StaleFile, match="changed on disk"):
        document.write(path, base, "subject: c\n")
    assert path.read_text(encoding="utf-8") == "subject: b\n"
    assert document.write(path, document.digest("subject: b\n"), "subject: c\n") == document.digest("subject: c\n")
    assert path.read_text(encoding="utf-8") == "subject: c\n"
    assert [p.name for p in tmp_path.iterdir()] == ["b.yaml"], "no temporary file is left behind"


def test_a_file_saved_on_windows_keeps_its_line_ends_and_byte_order_mark() -> None:
    text = "\ufeff" + SAMPLE.read_text(encoding="utf-8").replace("\n", "\r\n")
    loaded = document.parse(text)
    edited = copy.deepcopy(loaded.document)
    edited["sections"][0]["greeting"] = "Dear colleagues"
    new = document.apply(text, edited)
    assert new.startswith("\ufeff# The GPC England bulletin")
    assert new.count("\r\n") == text.count("\r\n") and "\n" not in new.replace("\r\n", "")
    assert new.replace('greeting: "Dear colleagues"', 'greeting: "Dear {{ first_name }}"') == text


def test_text_that_yaml_1_1_would_misread_is_quoted() -> None:
    """Compose reads with PyYAML (YAML 1.1), where a plain `no` is false and `0x1F` is 31."""
    loaded = document.read(SAMPLE)
    edited = copy.deepcopy(loaded.document)
    elections = next(s for s in edited["sections"] if s["block"] == "elections")
    elections["timeline"][0]["note"] = "no"
    elections["timeline"].append({"label": "on", "at": "2026-07-10 12:00"})
    elections["headline"] = "0x1F"
    new = document.apply(loaded.text, edited)
    assert '        note: "no"\n' in new and '      - label: "on"\n' in new and '    headline: "0x1F"\n' in new
    read = next(s for s in yaml.safe_load(new)["sections"] if s["block"] == "elections")
    assert (read["headline"], read["timeline"][0]["note"], read["timeline"][-1]["label"]) == ("0x1F", "no", "on")
