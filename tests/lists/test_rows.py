"""Judging rows: every kind of bad row is caught, with its line number and a reason."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import String, Table

from composer.lists.csvread import read_csv
from composer.lists.rows import FIELD_LIMITS, AddressValidator, parse_rows
from composer.store.models import Contact
from tests.lists.helpers import write

BAD = (
    "Email,Name,Practice\n"          # line 1
    "good@example.org,Good,Elm\n"    # 2
    "not-an-address,Bad,Elm\n"       # 3  invalid address
    ",No address,Elm\n"              # 4  missing address
    "GOOD@Example.org,Again,Elm\n"   # 5  duplicate of line 2, other case
    "short@example.org,Short\n"      # 6  too few cells
    "long@example.org,Long,Elm,x\n"  # 7  too many cells
    f"big@example.org,{'N' * 201},Elm\n"  # 8  over-long name
    "ctl@example.org,Bad\x00Name,Elm\n"   # 9  control character
    "fine@example.com,Fine,Elm\n"    # 10
)


def test_each_bad_row_kind_is_reported_with_its_line(tmp_path: Path) -> None:
    parsed = parse_rows(read_csv(write(tmp_path / "bad.csv", BAD)))
    assert [r.email for r in parsed.rows] == ["good@example.org", "fine@example.com"]
    found = {r.line: (r.kind, r.reason) for r in parsed.rejects}
    assert sorted(found) == [3, 4, 5, 6, 7, 8, 9]
    assert found[3][0] == "invalid-address" and "'not-an-address'" in found[3][1]
    assert found[4] == ("missing-address", "no email address in column 'Email'")
    assert found[5][0] == "duplicate" and "duplicate of line 2" in found[5][1]
    assert found[6] == ("cell-count", "has 2 cells but the header has 3")
    assert found[7] == ("cell-count", "has 4 cells but the header has 3")
    assert found[8] == ("too-long", "'Name' is 201 characters; the limit is 200")
    assert found[9] == ("control-character", "'Name' contains a control character (U+0000)")


def test_trailing_empty_cells_are_not_a_wrong_cell_count(tmp_path: Path) -> None:
    parsed = parse_rows(read_csv(write(tmp_path / "l.csv", "Email,Name\na@example.org,A,,\n")))
    assert not parsed.rejects
    assert parsed.rows[0].name == "A"


def test_an_unclosed_quote_is_explained(tmp_path: Path) -> None:
    text = 'Email,Name,Practice\na@example.org,"Ann,Elm\nb@example.org,Bob,Elm\n'
    parsed = parse_rows(read_csv(write(tmp_path / "l.csv", text)))
    assert [(r.line, r.kind) for r in parsed.rejects] == [(2, "cell-count")]
    assert "unclosed quote" in parsed.rejects[0].reason


def test_awkward_but_valid_values_are_kept_as_people_wrote_them(tmp_path: Path) -> None:
    text = "Email,Name,Practice\n  Tom.HUGHES@Example.org  ,  Siobhán O'Brien ,Dr <b>O'Brien</b> & Partners\n"
    row = parse_rows(read_csv(write(tmp_path / "l.csv", text))).rows[0]
    assert row.email == "Tom.HUGHES@Example.org"  # trimmed, case kept for display
    assert row.email_norm == "tom.hughes@example.org"
    assert row.name == "Siobhán O'Brien"
    assert row.organisation == "Dr <b>O'Brien</b> & Partners"  # escaped when rendered, not here


def test_our_formula_apostrophe_is_removed_on_import(tmp_path: Path) -> None:
    text = "Email,Name\n'-dash@example.org,'=Smith\n"
    row = parse_rows(read_csv(write(tmp_path / "l.csv", text))).rows[0]
    assert (row.email, row.name) == ("-dash@example.org", "=Smith")


@pytest.mark.parametrize(
    "address",
    [
        "plain@example.org",
        "first.last+tag@sub.nhs.example",
        "o'brien@example.com",
        "=cmd@example.org",
        "a@localhost",
        "a@b",
        "a@-bad.example",
        "a@bad-.example",
        "a@exa_mple.org",
        "a@example.test",
        "a@123.456",
        "a..b@example.org",
        ".a@example.org",
        "a.@example.org",
        "a@@example.org",
        "a b@example.org",
        '"quoted"@example.org',
        "zoë@example.org",
        "a@exämple.org",
        "a@[127.0.0.1]",
        "Name <a@example.org>",
        "x" * 64 + "@example.org",
        "x" * 65 + "@example.org",
        "a@" + "d" * 63 + ".example",
        "a@" + "d" * 64 + ".example",
        "a@" + ".".join(["d" * 60] * 4) + ".org",
        "a@example.org.",
        "a@.example.org",
    ],
)
def test_the_cached_validator_agrees_with_email_validator(address: str) -> None:
    try:
        validate_email(address, check_deliverability=False)
        expected = True
    except EmailNotValidError:
        expected = False
    validator = AddressValidator()
    assert (validator.error(address) is None) is expected
    assert (validator.error(address) is None) is expected  # and again, from the cache


def test_field_limits_match_the_store_columns() -> None:
    table = cast(Table, Contact.__table__)
    for name, limit in FIELD_LIMITS.items():
        column_type = table.c[name].type
        assert isinstance(column_type, String)
        assert column_type.length == limit, name
