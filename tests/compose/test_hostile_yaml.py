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
    assert err.location.line == 10  # l5, the first list whose aliases overshoot (l0 is line 5)
    assert "alias" in err.reason


def test_nested_aliases_in_a_block_declaration_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "block.yaml"
    path.write_text("description: x\n" + _laughs(7, 9), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert time.monotonic() - started < 5
    assert str(path) in str(info.value) and info.value.location.line == 7  # l5


def test_a_few_ordinary_aliases_still_load(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(_laughs(3, 3), encoding="utf-8")
    doc = load_yaml(path)
    assert doc.data["l3"][0][0] == ["lol", "lol", "lol"]


def _check(workspace_dir: Path, path: Path):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from composer.cli import cli

    return CliRunner().invoke(cli, ["--workspace", str(workspace_dir), "check", str(path)])


def test_an_oversized_markdown_field_is_refused_not_dropped_from_the_html(workspace_dir: Path) -> None:
    big = "Word " * 30_000  # 150 KB on one line: lxml would still keep it, readers would not
    path = write_bulletin(workspace_dir, MINIMAL.replace("Practices should read", big + "Practices should read"))
    result = _check(workspace_dir, path)
    assert result.exit_code == 2, result.output
    assert "bulletins/test.yaml, line 11" in result.output
    assert "field 'body'" in result.output and "100,000" in result.output


def test_a_subject_longer_than_a_header_line_is_refused(workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("subject: Test bulletin", "subject: " + "x" * 999))
    result = _check(workspace_dir, path)
    assert result.exit_code == 2, result.output
    assert "bulletins/test.yaml, line 1" in result.output and "field 'subject'" in result.output
    assert "998" in result.output


def test_an_oversized_bulletin_file_is_refused_before_parsing(workspace_dir: Path) -> None:
    path = write_bulletin(workspace_dir, MINIMAL + "# " + "x" * 2_100_000 + "\n")
    started = time.monotonic()
    result = _check(workspace_dir, path)
    assert time.monotonic() - started < 3
    assert result.exit_code == 2, result.output
    assert "bulletins/test.yaml:" in result.output and "2,000,000" in result.output


@pytest.mark.parametrize("escape", ["\\r", "\\u2028", "\\x85", "\\x0b", "\\x0c", "\\x1b"])
def test_control_characters_in_the_subject_are_refused_at_load(workspace_dir: Path, escape: str) -> None:
    path = write_bulletin(workspace_dir, MINIMAL.replace("subject: Test bulletin", f'subject: "Test{escape}bulletin"'))
    result = _check(workspace_dir, path)
    assert result.exit_code == 2, result.output
    assert "bulletins/test.yaml, line 1" in result.output and "field 'subject'" in result.output
    assert "control character" in result.output and "layout" not in result.output


def test_a_line_break_in_reply_to_is_refused_at_load(workspace_dir: Path) -> None:
    text = MINIMAL.replace("issue_date:", 'reply_to: "news@example.org\\r\\nBcc: all@example.org"\nissue_date:')
    path = write_bulletin(workspace_dir, text)
    result = _check(workspace_dir, path)
    assert result.exit_code == 2, result.output
    assert "bulletins/test.yaml, line 3" in result.output and "field 'reply_to'" in result.output
    assert "control character" in result.output


def test_a_line_break_in_the_workspace_sender_is_a_config_error(workspace_dir: Path) -> None:
    from composer.errors import ConfigError
    from composer.workspace import load_workspace

    toml = workspace_dir / "bulletin.toml"
    text = toml.read_text(encoding="utf-8")
    assert "from_name = " in text
    toml.write_text(text.replace('from_name = "', 'from_name = "Evil\\r\\nBcc: x@example.org ', 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_workspace(workspace_dir)
    assert "from_name" in str(info.value) and "control character" in str(info.value)
