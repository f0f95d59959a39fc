"""Hostile YAML gets a quick, clear refusal: nested aliases, oversized fields, control characters."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from composer.compose.pipeline import compose_bulletin
from composer.compose.yamlsource import load_yaml
from composer.errors import InputError
from tests.compose.helpers import MINIMAL, write_bulletin


def _laughs(levels: int, width: int) -> str:
    lines = ['l0: &l0 "lol"']
    for level in range(1, levels + 1):
        items = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{items}]")
    return "\n".join(lines) + "\n"


def test_nested_aliases_are_refused_quickly_with_file_and_line(workspace, workspace_dir: Path) -> None:
    text = MINIMAL.replace("sections:", _laughs(9, 9) + "sections:")
    path = write_bulletin(workspace_dir, text)
    started = time.monotonic()
    with pytest.raises(InputError) as info:
        compose_bulletin(workspace, path)
    assert time.monotonic() - started < 5
    err = info.value
    assert str(path) in str(err)
    assert err.location.line is not None and 5 <= err.location.line <= 14
    assert "alias" in err.reason


def test_nested_aliases_in_a_block_declaration_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "block.yaml"
    path.write_text("description: x\n" + _laughs(7, 9), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert time.monotonic() - started < 5
    assert str(path) in str(info.value) and info.value.location.line is not None


def test_a_few_ordinary_aliases_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(_laughs(3, 3), encoding="utf-8")
    doc = load_yaml(path)
    assert doc.data["l3"][0][0] == ["lol", "lol", "lol"]
