"""Values from CSVs and the store are printed with control characters escaped.

A cell holding ESC ] 0 ; … BEL would retitle the operator's terminal, ESC [ 2 J clear it.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from composer.cli import cli
from tests.lists.helpers import write

HOSTILE = "\x1b]0;PWNED-TITLE\x07\x1b[2J\x9b31m"


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--workspace", str(root), "lists", *args])


def assert_no_raw_controls(output: str) -> None:
    assert not any(c in output for c in "\x1b\x07\x9b"), repr(output)


def test_a_hostile_cell_is_escaped_in_the_invalid_rows_table(workspace_dir: Path) -> None:
    path = write(workspace_dir / "bad.csv", f"Email,First name\r\nann@example.org,Ann\r\n{HOSTILE}@example.org,Eve\r\n")
    result = run(workspace_dir, "import", str(path), "-s", "lmc")
    assert result.exit_code == 2, result.output
    assert_no_raw_controls(result.output)
    assert "\\x1b]0;PWNED-TITLE\\x07" in result.output


def test_a_hostile_header_is_escaped_in_import_show_and_person(workspace_dir: Path) -> None:
    path = write(workspace_dir / "names.csv", f"Email,First name,Notes{HOSTILE}\r\nann@example.org,Ann,x\r\n")
    result = run(workspace_dir, "import", str(path), "-s", "lmc")
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    assert "Notes\\x1b" in result.output
    result = run(workspace_dir, "show")
    assert result.exit_code == 0, result.output
    assert_no_raw_controls(result.output)
    result = run(workspace_dir, "person", "ann@example.org")
    assert_no_raw_controls(result.output)


def test_an_error_message_quoting_a_value_is_escaped(workspace_dir: Path) -> None:
    result = run(workspace_dir, "suppress", f"{HOSTILE}@example.org")
    assert result.exit_code != 0
    assert_no_raw_controls(result.output)
