"""`bulletin blocks`, docs/BLOCKS.md kept current, and `bulletin new`."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from composer.authoring.catalogue import updated_document
from composer.cli import cli
from composer.compose.blocks import available_blocks, load_block
from composer.compose.checks import check_bulletin
from composer.compose.source import load_bulletin
from composer.workspace import load_workspace
from tests.support import REPO


def run(root: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--workspace", str(root), *args], catch_exceptions=False)


def test_blocks_lists_every_block_with_its_one_line_description(workspace_dir: Path) -> None:
    result = run(workspace_dir, "blocks")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    lines = result.output.splitlines()  # type: ignore[attr-defined]
    assert any(line.startswith("petition ") and "A petition: a headline" in line for line in lines)
    assert len([line for line in lines if line and not line.startswith("`")]) == len(available_blocks(workspace_dir / "sections"))


def test_blocks_name_shows_fields_and_an_example(workspace_dir: Path) -> None:
    output = run(workspace_dir, "blocks", "elections").output  # type: ignore[attr-defined]
    assert "  timeline[].at (datetime, required)" in output
    assert "  contact_text (string, optional, default: Should you have any questions" in output
    assert "  - block: elections" in output
    unknown = run(workspace_dir, "blocks", "petiton")
    assert unknown.exit_code == 2 and "unknown block 'petiton'" in unknown.output  # type: ignore[attr-defined]


def test_every_example_is_a_valid_section(workspace_dir: Path) -> None:
    for name in available_blocks(workspace_dir / "sections"):
        spec = load_block(workspace_dir / "sections", name)
        assert spec.declaration.example, f"{name}/block.yaml has no example"
        spec.model.model_validate(spec.declaration.example)


def test_docs_blocks_md_is_current() -> None:
    current = (REPO / "docs/BLOCKS.md").read_text(encoding="utf-8")
    assert updated_document(current, REPO / "sections") == current, "run `make docs`"
    assert current.index("## The blocks") < current.index("## A block (`sections/<name>/`)")


def test_new_keeps_the_structure_and_standing_sections_and_check_reports_placeholders(workspace_dir: Path) -> None:
    target = workspace_dir / "bulletins/2026-07-gpce.yaml"
    result = run(workspace_dir, "new", str(target), "--from", str(workspace_dir / "bulletins/2026-06-gpce.yaml"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    june = yaml.safe_load((workspace_dir / "bulletins/2026-06-gpce.yaml").read_text(encoding="utf-8"))
    july = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert [(s["block"], s.get("audiences")) for s in july["sections"]] == [(s["block"], s.get("audiences")) for s in june["sections"]]
    assert july["sections"][-1] == june["sections"][-1]  # the sign-off
    assert july["sections"][-2] == june["sections"][-2]  # the useful links
    assert july["sections"][1]["body"] == "FILL IN: body\n"
    findings = check_bulletin(load_bulletin(load_workspace(workspace_dir), target))
    messages = [f.message for f in findings if f.severity == "error" and f.code == "placeholder"]
    assert "issue_date is still the placeholder 1900-01-01: give the date of this issue" in messages
    assert "field 'timeline[1].at' is still the placeholder date 1900-01-01: give the real date" in messages
    assert not any(f.section == len(july["sections"]) for f in findings if f.code == "placeholder")
    check = run(workspace_dir, "check", str(target))
    assert check.exit_code == 1  # type: ignore[attr-defined]
    again = run(workspace_dir, "new", str(target), "--from", str(workspace_dir / "bulletins/2026-06-gpce.yaml"))
    assert again.exit_code == 2 and "already exists" in again.output  # type: ignore[attr-defined]
