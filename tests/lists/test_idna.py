"""Internationalised domains at import and suppression: one person, whichever spelling."""

from __future__ import annotations

from pathlib import Path

from composer.lists.base import Lists
from composer.lists.importer import import_file
from composer.lists.manage import suppress_address
from tests.lists.helpers import write


def test_the_unicode_and_punycode_spellings_are_one_contact(lists: Lists, tmp_path: Path) -> None:
    first = import_file(lists, write(tmp_path / "a.csv", "Email\nuser@bücher.example\n"), "lmc")
    again = import_file(lists, write(tmp_path / "b.csv", "Email\nuser@xn--bcher-kva.example\n"), "lmc")
    assert first.added == 1 and again.added == 0


def test_a_suppression_of_one_spelling_stops_the_other(lists: Lists, tmp_path: Path) -> None:
    suppress_address(lists, "user@xn--bcher-kva.example", "unsubscribed")
    result = import_file(lists, write(tmp_path / "a.csv", "Email\nuser@bücher.example\n"), "lmc")
    assert (result.added, result.suppressed) == (0, 1)


def test_import_warns_of_non_ascii_local_parts_with_their_lines(workspace_dir: Path) -> None:
    from tests.lists.test_cli import run

    path = write(workspace_dir / "people.csv", "Email\nann@bücher.example\njosé@example.org\nbo@example.org\n")
    result = run(workspace_dir, "import", str(path), "-s", "lmc")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Warning: 1 address with non-ASCII characters before the @ (line 3)" in text
    assert "SendGrid accepts such addresses and then drops the message" in text
