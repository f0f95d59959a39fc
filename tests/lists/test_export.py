"""Export: formula injection neutralized, suppressed people left out, private file."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest

from composer.errors import InputError
from composer.lists.base import Lists
from composer.lists.export import export_contacts, safe_cell
from composer.lists.importer import import_file
from composer.lists.manage import suppress_address
from composer.lists.query import stats
from tests.lists.helpers import write


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(\"http://x.example\",\"click\")", "'=HYPERLINK(\"http://x.example\",\"click\")"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Dr O'Brien", "Dr O'Brien"),
        ("a=b", "a=b"),
        (None, ""),
    ],
)
def test_safe_cell(value: str | None, expected: str) -> None:
    assert safe_cell(value) == expected


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_neutralizes_formulas_and_round_trips(lists: Lists, tmp_path: Path) -> None:
    source = write(
        tmp_path / "in.csv",
        "Email,Name,Practice,Notes\n"
        "=cmd@example.org,=1+2,+Riverside,@risk\n"
        "-dash@example.org,Zoë O'Brien,Dr <b>O'Brien</b> & Partners,plain\n",
    )
    import_file(lists, source, "lmc")
    out = tmp_path / "out.csv"
    result = export_contacts(lists, out, segment="lmc")
    assert result.rows == 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = read(out)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    first = next(r for r in rows if "cmd" in r["email"])
    assert (first["email"], first["name"], first["organisation"], first["Notes"]) == (
        "'=cmd@example.org", "'=1+2", "'+Riverside", "'@risk",
    )
    zoe = next(r for r in rows if "dash" in r["email"])
    assert zoe["name"] == "Zoë O'Brien" and zoe["segments"] == "lmc" and zoe["status"] == "active"

    # the export imports back unchanged (the apostrophes come off again), and its
    # segments and status columns are not taken for extra fields
    again_report = import_file(lists, out, "practice", update=True)
    assert again_report.ignored_columns == ["segments", "status"]
    assert (again_report.updated, again_report.unchanged) == (0, 2)
    back = export_contacts(lists, tmp_path / "again.csv", segment="practice")
    assert back.rows == 2
    assert {r["email"] for r in read(tmp_path / "again.csv")} == {"'=cmd@example.org", "'-dash@example.org"}
    assert stats(lists).contacts == 2


def test_export_leaves_out_suppressed_people_unless_asked(lists: Lists, tmp_path: Path) -> None:
    import_file(lists, write(tmp_path / "in.csv", "Email\na@example.org\nb@example.org\n"), "practice")
    suppress_address(lists, "b@example.org", "unsubscribed")
    result = export_contacts(lists, tmp_path / "out.csv")
    assert (result.rows, result.skipped_suppressed) == (1, 1)
    assert [r["email"] for r in read(tmp_path / "out.csv")] == ["a@example.org"]
    export_contacts(lists, tmp_path / "all.csv", include_suppressed=True)
    assert [r["status"] for r in read(tmp_path / "all.csv")] == ["active", "suppressed (unsubscribed)"]


def test_export_will_not_overwrite_without_force(lite_lists: Lists, tmp_path: Path) -> None:
    out = write(tmp_path / "out.csv", "keep me")
    with pytest.raises(InputError, match="already exists"):
        export_contacts(lite_lists, out)
    assert out.read_text() == "keep me"
    export_contacts(lite_lists, out, overwrite=True)
    assert read(out) == []
    assert not list(tmp_path.glob(".*.tmp"))


def test_stats_counts_members_active_and_suppressed(lists: Lists, tmp_path: Path) -> None:
    import_file(lists, write(tmp_path / "a.csv", "Email\na@example.org\nb@example.org\nc@example.org\n"), "lmc")
    import_file(lists, write(tmp_path / "b.csv", "Email\nA@example.org\nd@example.org\n"), "practice")
    suppress_address(lists, "a@example.org", "bounced")
    suppress_address(lists, "zed@example.org", "manual")  # not a contact
    result = stats(lists)
    by_name = {s.name: (s.members, s.active, s.suppressed) for s in result.segments}
    assert by_name == {"lmc": (3, 2, 1), "practice": (2, 1, 1), "registrar": (0, 0, 0)}
    assert (result.contacts, result.active, result.suppressed_contacts) == (4, 3, 1)
    assert result.suppressions == {"bounced": 1, "manual": 1}


def test_stats_and_show_see_a_suppression_that_holds_only_the_hash(lists: Lists, tmp_path: Path) -> None:
    from composer.lists.query import show_contacts
    from composer.store import suppressions

    import_file(lists, write(tmp_path / "a.csv", "Email\na@example.org\nb@example.org\n"), "lmc")
    with lists.store.session() as s:
        suppressions.suppress(s, lists.hasher, "B@example.org", reason="complained", source="test", keep_address=False)
    result = stats(lists)
    assert (result.active, result.suppressed_contacts) == (1, 1)
    assert [(c.email, c.suppressed) for c in show_contacts(lists).contacts] == [
        ("a@example.org", None), ("b@example.org", "complained"),
    ]
