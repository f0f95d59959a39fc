"""Importing into the store: all or nothing, rejects, dry run, update, suppressions."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from composer.errors import InputError
from composer.lists.base import Lists
from composer.lists.importer import ImportRejected, import_file, rejects_path
from composer.lists.manage import suppress_address
from composer.lists.query import show_contacts
from composer.store import suppressions
from composer.store.models import AuditEntry, Contact, SegmentMember
from tests.lists.helpers import write

HEADER = "Email,First name,Surname,Practice\n"


def contacts(lists: Lists) -> dict[str, Contact]:
    with lists.store.session() as s:
        return {c.email_norm: c for c in s.scalars(select(Contact))}


def members(lists: Lists, segment: str) -> set[str]:
    with lists.store.session() as s:
        return set(
            s.scalars(
                select(Contact.email_norm).join(SegmentMember).where(SegmentMember.segment == segment)
            )
        )


def test_the_samples_import_cleanly_and_one_person_is_in_two_segments(lists: Lists, workspace_dir: Path) -> None:
    sample = workspace_dir / "lists" / "sample"
    reports = {seg: import_file(lists, sample / f"{seg}.csv", seg) for seg in ("lmc", "practice", "registrar")}
    assert all(r.invalid == 0 for r in reports.values())
    assert all(8 <= r.rows <= 15 for r in reports.values())
    stored = contacts(lists)
    total_rows = sum(r.rows for r in reports.values())
    assert len(stored) < total_rows  # some people are on two lists: one contact each
    assert "priya.shah@nhs.example" in members(lists, "lmc") & members(lists, "practice")
    assert reports["practice"].joined >= 1
    assert stored["jose.garcia@example.com"].first_name == "José"  # trimmed
    assert any(c.organisation == "Dr <b>O'Brien</b> & Partners" for c in stored.values())


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        ("not-an-address,A,B,C", "invalid-address"),
        (",A,B,C", "missing-address"),
        ("ANN@example.org,A,B,C", "duplicate"),
        ("x@example.org,A,B", "cell-count"),
        ("y@example.org," + "F" * 101 + ",B,C", "too-long"),
        ("z@example.org,A\x1b[2J,B,C", "control-character"),
    ],
)
def test_one_bad_row_means_nothing_is_imported(lists: Lists, tmp_path: Path, row: str, kind: str) -> None:
    path = write(tmp_path / "l.csv", HEADER + "ann@example.org,Ann,Lee,Elm\n" + row + "\nbob@example.org,Bob,Ray,Elm\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(lists, path, "lmc")
    report = caught.value.report
    assert [(r.line, r.kind) for r in report.rejects] == [(3, kind)]
    assert "nothing was imported" in str(caught.value)
    assert "--skip-invalid" in str(caught.value)
    assert contacts(lists) == {}
    assert not rejects_path(path).exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_accented_names_are_stored_correctly_from_each_encoding(lists: Lists, tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / "l.csv", "Email;First name;Surname\r\njose@example.org;José;Núñez\r\n", encoding)
    report = import_file(lists, path, "lmc")
    assert report.added == 1
    stored = contacts(lists)["jose@example.org"]
    assert (stored.first_name, stored.last_name) == ("José", "Núñez")


def test_skip_invalid_imports_the_good_rows_and_writes_the_rejects(lists: Lists, tmp_path: Path) -> None:
    path = write(
        tmp_path / "lmc.csv",
        HEADER + "ann@example.org,Ann,Lee,Elm\nbroken,Bad,Row,=HYPERLINK(\"http://x.example\")\n"
        "bob@example.org,Bob,Ray,Elm\nANN@EXAMPLE.ORG,Ann,Again,Elm\n",
    )
    report = import_file(lists, path, "lmc", skip_invalid=True)
    assert (report.added, report.invalid) == (2, 2)
    assert members(lists, "lmc") == {"ann@example.org", "bob@example.org"}
    out = rejects_path(path)
    assert report.rejects_file == out == tmp_path / "lmc.rejects.csv"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["rejected_line", "rejected_reason", "Email", "First name", "Surname", "Practice"]
    assert [r[0] for r in rows[1:]] == ["3", "5"]
    assert "invalid email address 'broken'" in rows[1][1]
    assert rows[1][5].startswith("'=HYPERLINK")  # a spreadsheet shows it, does not run it
    assert "duplicate of line 2" in rows[2][1]
    assert not list(tmp_path.glob("*.tmp"))

    # A fixed rejects file imports as it is; the bookkeeping columns are not stored.
    fixed = out.read_text(encoding="utf-8-sig").replace("broken", "carol@example.org").replace("ANN@EXAMPLE.ORG", "dan@example.org")
    again = write(tmp_path / "fixed.csv", fixed)
    second = import_file(lists, again, "lmc")
    assert second.added == 2
    assert contacts(lists)["carol@example.org"].extra == {}
    # and a clean run with --skip-invalid removes a stale rejects file of the same name
    path.write_text(HEADER + "ann@example.org,Ann,Lee,Elm\n", encoding="utf-8")
    third = import_file(lists, path, "lmc", skip_invalid=True)
    assert third.removed_stale_rejects and not out.exists()


def test_dry_run_changes_nothing_but_counts_everything(lists: Lists, tmp_path: Path) -> None:
    path = write(tmp_path / "l.csv", HEADER + "ann@example.org,Ann,Lee,Elm\nbad,B,C,D\n")
    report = import_file(lists, path, "practice", dry_run=True, skip_invalid=True)
    assert (report.added, report.invalid, report.dry_run) == (1, 1, True)
    assert contacts(lists) == {}
    assert not rejects_path(path).exists()
    with lists.store.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_existing_people_are_deduped_and_update_applies_changes(lists: Lists, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", HEADER + "ann@example.org,Ann,Lee,Elm Tree\nbob@example.org,Bob,Ray,Elm Tree\n")
    import_file(lists, first, "lmc")
    changed = write(
        tmp_path / "b.csv",
        "Email,First name,Surname,Practice,Role\n"
        "ANN@example.org,Annie,,Riverside,GP partner\nbob@example.org,Bob,Ray,Elm Tree,\n",
    )
    plain = import_file(lists, changed, "practice")
    assert (plain.added, plain.updated, plain.unchanged, plain.differing, plain.joined) == (0, 0, 1, 1, 2)
    assert contacts(lists)["ann@example.org"].first_name == "Ann"  # not touched without --update
    assert members(lists, "practice") == {"ann@example.org", "bob@example.org"}

    updated = import_file(lists, changed, "practice", update=True)
    assert (updated.updated, updated.unchanged) == (1, 1)
    ann = contacts(lists)["ann@example.org"]
    assert (ann.first_name, ann.last_name, ann.organisation, ann.role) == ("Annie", "Lee", "Riverside", "GP partner")
    assert ann.email == "ANN@example.org"  # display form follows the file
    assert len(contacts(lists)) == 2
    with lists.store.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.contact_id == ann.id
    assert set(entry.detail["fields"]) == {"email", "first_name", "organisation", "role"}


def test_a_suppressed_address_is_never_reactivated(lists: Lists, tmp_path: Path) -> None:
    suppress_address(lists, "Ann@Example.org", "unsubscribed")
    path = write(tmp_path / "l.csv", HEADER + "ann@example.org,Ann,Lee,Elm\nbob@example.org,Bob,Ray,Elm\n")
    report = import_file(lists, path, "lmc", update=True)
    assert (report.added, report.suppressed) == (1, 1)
    assert set(contacts(lists)) == {"bob@example.org"}
    # nor when the person is already a contact on another segment
    import_file(lists, write(tmp_path / "c.csv", HEADER + "carol@example.org,C,D,E\n"), "lmc")
    suppress_address(lists, "carol@example.org", "bounced")
    again = import_file(lists, write(tmp_path / "d.csv", HEADER + "carol@example.org,C,D,E\n"), "practice")
    assert (again.suppressed, again.joined) == (1, 0)
    assert "carol@example.org" not in members(lists, "practice")


def test_a_suppression_under_an_old_key_still_blocks(store_workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from composer.lists.base import open_lists

    old = open_lists(store_workspace)
    try:
        with old.store.session() as s:
            suppressions.suppress(s, old.hasher, "ann@example.org", reason="complained", source="test")
    finally:
        old.close()
    env = {**store_workspace.env, "BULLETIN_SECRET_KEY": "new-key", "BULLETIN_OLD_SECRET_KEYS": store_workspace.env["BULLETIN_SECRET_KEY"]}
    rotated = open_lists(replace(store_workspace, env=env))
    try:
        report = import_file(rotated, write(tmp_path / "l.csv", HEADER + "ann@example.org,A,B,C\n"), "lmc")
    finally:
        rotated.close()
    assert (report.added, report.suppressed) == (0, 1)


def test_audit_records_the_import_without_addresses(lists: Lists, tmp_path: Path) -> None:
    path = write(tmp_path / "l.csv", HEADER + "ann@example.org,Ann,Lee,Elm\n")
    import_file(lists, path, "registrar")
    with lists.store.session() as s:
        entry = s.scalars(select(AuditEntry)).one()
    assert entry.action == "import"
    assert entry.detail["added"] == 1 and entry.detail["segment"] == "registrar"
    assert "ann@" not in f"{entry.detail} {entry.command}"
    assert entry.actor


def test_unknown_segment_is_refused_before_reading(lists: Lists, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown segment 'gps'.*lmc, practice, registrar"):
        import_file(lists, tmp_path / "missing.csv", "gps")


def test_show_lists_people_with_segments_and_status(lists: Lists, tmp_path: Path) -> None:
    import_file(lists, write(tmp_path / "a.csv", HEADER + "ann@example.org,A,B,C\nbob@example.org,B,C,D\n"), "lmc")
    import_file(lists, write(tmp_path / "b.csv", HEADER + "ann@example.org,A,B,C\n"), "practice")
    suppress_address(lists, "bob@example.org", "bounced")
    result = show_contacts(lists)
    assert [(c.email, c.segments, c.suppressed) for c in result.contacts] == [
        ("ann@example.org", ("lmc", "practice"), None),
        ("bob@example.org", ("lmc",), "bounced"),
    ]
    assert show_contacts(lists, segment="practice").total == 1
    assert len(show_contacts(lists, limit=1).contacts) == 1


def test_one_oversized_cell_is_one_rejected_row_not_an_aborted_import(lists: Lists, tmp_path: Path) -> None:
    huge = "x" * 200_000  # over csv's own 131,072 field limit
    path = write(
        tmp_path / "big.csv",
        HEADER + f"ann@example.org,Ann,Lee,Elm\nbig@example.org,Big,Cell,{huge}\nbob@example.org,Bob,Ray,Elm\n",
    )
    with pytest.raises(ImportRejected) as info:
        import_file(lists, path, "lmc")
    assert [(r.line, r.kind) for r in info.value.report.rejects] == [(3, "too-long")]
    report = import_file(lists, path, "lmc", skip_invalid=True)
    assert (report.added, report.invalid) == (2, 1)
    assert members(lists, "lmc") == {"ann@example.org", "bob@example.org"}
