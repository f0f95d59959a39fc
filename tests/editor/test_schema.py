"""The editor's forms come from the block declarations alone: every field of every
block.yaml has its input, and a new block folder gets a form with no code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from composer.compose.blocks import (
    SCALAR_TYPES,
    ImageValue,
    LinkValue,
    available_blocks,
    load_block,
)
from composer.editor.schema import WIDGETS, block_schema, catalogue, field_schema
from tests.support import REPO

SECTIONS = REPO / "sections"
STATIC = REPO / "composer" / "preview" / "static"


@pytest.mark.parametrize("name", available_blocks(SECTIONS))
def test_every_field_of_every_block_has_its_input(name: str) -> None:
    spec = load_block(SECTIONS, name)
    form = block_schema(spec)
    assert form["name"] == name
    assert form["description"] and form["summary"]
    assert [f["name"] for f in form["fields"]] == [f.name for f in spec.fields]
    for declared, built in zip(spec.fields, form["fields"], strict=True):
        assert built["widget"] == WIDGETS[declared.type]
        assert built["required"] == declared.required
        assert built["help"] == " ".join(declared.help.split())
        if declared.type == "list":
            items = built["items"]
            if isinstance(declared.items, list):
                assert items["widget"] == "group"
                assert [f["name"] for f in items["fields"]] == [f.name for f in declared.items]
            else:
                assert items["widget"] == WIDGETS[declared.items]


def test_every_widget_the_schema_names_is_built_by_the_page() -> None:
    """The page builds each widget by name; a type without one would be a blank form."""
    script = (STATIC / "editor-fields.js").read_text(encoding="utf-8")
    for widget in {*WIDGETS.values(), "asset", "group"}:
        if widget in ("text", "url", "email", "date", "number"):
            assert f"{widget}: " in script, widget  # the <input type> table
        elif widget in ("image", "link"):
            continue  # built from their parts
        else:
            assert f'"{widget}"' in script, widget
    assert set(SCALAR_TYPES) <= set(WIDGETS)


def test_image_and_link_parts_are_the_fields_their_models_validate() -> None:
    sections = {f["name"]: f for f in block_schema(load_block(SECTIONS, "article"))["fields"]}
    image = sections["image"]
    assert [p["name"] for p in image["parts"]] == list(ImageValue.model_fields)
    assert {p["name"]: p["widget"] for p in image["parts"]}["src"] == "asset"
    assert next(p for p in image["parts"] if p["name"] == "alt")["help"]
    links = sections["links"]["items"]
    assert [p["name"] for p in links["parts"]] == list(LinkValue.model_fields)


def test_timeline_steps_are_rows_with_a_date_picker() -> None:
    timeline = next(f for f in block_schema(load_block(SECTIONS, "elections"))["fields"] if f["name"] == "timeline")
    assert timeline["widget"] == "list"
    widgets = {f["name"]: f["widget"] for f in timeline["items"]["fields"]}
    assert widgets == {"label": "text", "at": "datetime", "note": "text"}


def test_a_new_block_folder_gets_its_form(tmp_path: Path) -> None:
    sections = tmp_path / "sections"
    shutil.copytree(SECTIONS / "article", sections / "event")
    (sections / "event" / "block.yaml").write_text(
        "description: An event with a date, a place and a booking link.\n"
        "title_field: name\n"
        "fields:\n"
        "  - {name: name, type: string, required: true, help: What the event is called.}\n"
        "  - {name: starts, type: datetime, required: true, help: 'When it starts, UK time.'}\n"
        "  - {name: contact, type: email, help: Who to ask.}\n"
        "  - {name: book, type: link, help: The booking page.}\n"
        "  - {name: speakers, type: list, items: string, help: One name a row.}\n",
        encoding="utf-8",
    )
    [event] = catalogue(sections)
    assert event["name"] == "event" and event["title_field"] == "name"
    assert [(f["name"], f["widget"]) for f in event["fields"]] == [
        ("name", "text"), ("starts", "datetime"), ("contact", "email"), ("book", "link"), ("speakers", "list"),
    ]
    assert event["fields"][4]["items"] == {"type": "string", "widget": "text"}
    assert event["fields"][1]["help"] == "When it starts, UK time."


def test_field_labels_read_as_words() -> None:
    spec = load_block(SECTIONS, "spr")
    by_name = {f.name: field_schema(f) for f in spec.fields}
    assert by_name["attribution_name"]["label"] == "Attribution name"
