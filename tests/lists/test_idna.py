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
