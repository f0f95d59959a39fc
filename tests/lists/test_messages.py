"""Issue #12 part 3 for lists: names shown, details that differ said plainly, segments suggested."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from composer.cli import cli
from composer.lists.query import show_contacts
from tests.lists.helpers import write


def run(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--workspace", str(root), "lists", *args])


def test_show_gives_first_and_last_names_when_the_file_had_no_single_name(
    store_workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    root = Path(store_workspace.root)
    path = write(
        tmp_path / "p.csv",
        "Email,First Name,Last Name\nann@example.org,Ann,Smith\nbob@example.org,Bob,\n",
    )
    assert run(root, "import", str(path), "-s", "practice").exit_code == 0
    result = run(root, "show")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("ann@example.org" in line and "Ann Smith" in line for line in lines), result.output
    assert any("bob@example.org" in line and "│ Bob " in line for line in lines), result.output


def test_a_single_name_column_is_shown_as_given(lists, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from composer.lists.importer import import_file

    import_file(
        lists,
        write(tmp_path / "p.csv", "Email,Name,First Name\nann@example.org,Dr Ann Smith,Ann\n"),
        "practice",
    )
    assert [c.display_name for c in show_contacts(lists).contacts] == ["Dr Ann Smith"]


def test_different_details_are_counted_apart_and_said_what_happens(
    store_workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    root = Path(store_workspace.root)
    first = write(tmp_path / "a.csv", "Email,Name\nann@example.org,Ann\nbob@example.org,Bob\n")
    assert run(root, "import", str(first), "-s", "practice").exit_code == 0
    changed = write(tmp_path / "b.csv", "Email,Name\nann@example.org,Annie\nbob@example.org,Bob\n")
    result = run(root, "import", str(changed), "-s", "practice")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "unchanged" in line)
    values = result.output.splitlines()[result.output.splitlines().index(header) + 2]
    cells = dict(
        zip(
            [c.strip() for c in header.strip("┃ ").split("┃")],
            [c.strip() for c in values.strip("│ ").split("│")],
            strict=True,
        )
    )
    assert (cells["unchanged"], cells["kept as stored"], cells["updated"]) == ("1", "1", "0")
    assert (
        "1 person already on the lists has different details in this file (a name or organisation, say). "
        "The stored details were kept as they are (counted under 'kept as stored'); run again with --update "
        "to replace them with the file's (an empty cell never clears a stored value)."
    ) in " ".join(result.output.split())
    shown = run(root, "show")
    assert "Ann " in shown.output and "Annie" not in shown.output


def test_an_unknown_segment_is_suggested(workspace_dir: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "Email\nann@example.org\n")
    result = run(workspace_dir, "import", str(path), "-s", "practise")
    assert result.exit_code == 2
    assert (
        "Error: unknown segment 'practise'; did you mean 'practice'? (the segments declared in "
        "lists/segments.yaml: lmc, practice, registrar)"
    ) in " ".join(result.output.split())
