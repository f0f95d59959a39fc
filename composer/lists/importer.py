"""`lists import`: a staff CSV into one segment, all or nothing.

Two phases. First every row of the file is read and judged (composer.lists.rows); if
any is bad and the caller did not ask to skip bad rows, nothing is written and the
report lists every one. Then, in one transaction, the good rows are matched against
the store (existing contacts by normalized address, suppressions by keyed hash, in
chunks) and written with executemany batches rather than one ORM object per row,
which is what makes 100,000 rows take seconds.

A suppressed or erased address is never added, updated or put in a segment.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import String, Table, bindparam, insert, literal, null, select, update

from composer.errors import InputError, Location
from composer.identity import needs_smtputf8, redact_file_name
from composer.lists.base import Lists
from composer.lists.csvread import DELIMITER_NAMES, REJECT_COLUMNS, CsvFile, read_csv
from composer.lists.export import write_csv_temp
from composer.lists.rows import AddressValidator, ContactRow, Reject, parse_rows
from composer.store import audit, suppressions
from composer.store.bulk import WRITE_CHUNK, chunked
from composer.store.db import current_command
from composer.store.models import Contact, SegmentMember, utcnow

UPDATABLE = ("email", "name", "first_name", "last_name", "organisation", "role")


def rejects_path(path: Path) -> Path:
    """Where `--skip-invalid` writes the bad rows: `<stem>.rejects.csv` beside the input."""
    return path.with_name(f"{path.stem}.rejects.csv")


@dataclass
class ImportReport:
    """What an import did (or, for a dry run or a refused file, would have done)."""

    file: Path
    segment: str
    encoding: str = ""
    delimiter: str = ","
    columns: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0  # already on the lists with the same details
    differing: int = 0  # already on the lists with other details, kept as stored (no --update)
    suppressed: int = 0
    joined: int = 0
    rejects: list[Reject] = field(default_factory=list)
    dry_run: bool = False
    rejects_file: Path | None = None
    removed_stale_rejects: bool = False
    # Lines whose address has non-ASCII characters before the @ (josé@…): imported, but
    # SendGrid accepts and then drops such messages, and SMTP needs SMTPUTF8 for them.
    utf8_local_lines: list[int] = field(default_factory=list)

    @property
    def invalid(self) -> int:
        return len(self.rejects)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kept as stored": self.differing,
            "suppressed": self.suppressed,
            "invalid": self.invalid,
        }


class ImportRejected(InputError):
    """The file has bad rows and the caller wanted all or nothing: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        bad = report.invalid
        super().__init__(
            f"{bad} of {report.rows} rows {'is' if bad == 1 else 'are'} invalid, so nothing was "
            f"imported. Fix {'it' if bad == 1 else 'them'} and run again, or pass --skip-invalid to "
            f"import the good rows and write the bad ones to {rejects_path(report.file).name}",
            Location(file=report.file),
        )


@dataclass
class _Existing:
    id: int
    values: dict[str, Any]
    extra: dict[str, Any] | None  # None: not loaded (no --update)


@dataclass
class _Plan:
    new: list[ContactRow] = field(default_factory=list)
    join: list[int] = field(default_factory=list)
    updates: list[tuple[_Existing, ContactRow, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    suppressed: int = 0
    differing: int = 0


def import_file(
    lists: Lists,
    path: Path,
    segment: str,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    update: bool = False,
    check_dns: bool = False,
) -> ImportReport:
    """Import a CSV into `segment`; see the module docstring for the rules."""
    segment = lists.segment(segment)
    source = read_csv(path)
    parsed = parse_rows(source, validator=AddressValidator(check_deliverability=check_dns))
    report = _report(source, segment, dry_run)
    report.rows = parsed.total
    report.rejects = parsed.rejects
    report.utf8_local_lines = [row.line for row in parsed.rows if needs_smtputf8(row.email)]
    if parsed.rejects and not skip_invalid:
        raise ImportRejected(report)

    final_rejects = rejects_path(path)
    tmp: Path | None = None
    try:
        if skip_invalid and parsed.rejects and not dry_run:
            tmp = _write_rejects(source, parsed.rejects, final_rejects)
        _store(lists, parsed.rows, report, source, update=update)
        if tmp is not None:
            tmp.replace(final_rejects)
            tmp = None
            report.rejects_file = final_rejects
        elif skip_invalid and not dry_run and final_rejects.exists():
            # A rejects file from an earlier run would now be wrong: this file has none.
            final_rejects.unlink()
            report.removed_stale_rejects = True
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return report


def _store(lists: Lists, rows: list[ContactRow], report: ImportReport, source: CsvFile, *, update: bool) -> None:
    """Plan the good rows against the store and, unless a dry run, write them: one transaction."""
    with lists.store.session() as session:
        plan = _plan(session, lists, rows, report.segment, update)
        report.added = len(plan.new)
        report.updated = len(plan.updates)
        report.unchanged = plan.unchanged
        report.suppressed = plan.suppressed
        report.joined = len(plan.join)
        report.differing = plan.differing
        if report.dry_run:
            return
        _apply(session, lists, plan, report.segment, source)
        audit.record(
            session,
            "import",
            command=current_command(),
            detail={
                "segment": report.segment,
                "file": redact_file_name(source.path.name),
                "rows": report.rows,
                **report.counts(),
                "joined_segment": report.joined,
            },
        )


def _report(source: CsvFile, segment: str, dry_run: bool) -> ImportReport:
    return ImportReport(
        file=source.path,
        segment=segment,
        encoding=source.encoding,
        delimiter=source.delimiter,
        columns={name: source.headers[index] for name, index in source.columns.fields.items()},
        extra_columns=[key for key, _ in source.columns.extra],
        ignored_columns=list(source.columns.ignored),
        dry_run=dry_run,
    )


def _write_rejects(source: CsvFile, rejects: list[Reject], target: Path) -> Path:
    header = [*REJECT_COLUMNS, *source.headers]
    rows = ([r.line, r.reason, *r.cells] for r in rejects)
    return write_csv_temp(target, header, rows, delimiter=source.delimiter)


def _plan(session: Any, lists: Lists, rows: list[ContactRow], segment: str, update: bool) -> _Plan:
    """Sort the valid rows into new, suppressed, unchanged and updated, against the store."""
    plan = _Plan()
    suppressed = suppressions.suppressed(session, lists.hasher, (r.email_norm for r in rows))
    existing = _existing(session, [r.email_norm for r in rows], with_extra=update)
    in_segment = _members(session, [e.id for e in existing.values()], segment)

    for row in rows:
        if row.email_norm in suppressed:
            plan.suppressed += 1
            continue
        found = existing.get(row.email_norm)
        if found is None:
            plan.new.append(row)
            continue
        if found.id not in in_segment:
            plan.join.append(found.id)
        changed = _changed_fields(found, row)
        if changed and update:
            plan.updates.append((found, row, changed))
        elif changed:
            plan.differing += 1
        else:
            plan.unchanged += 1
    return plan


def _existing(session: Any, norms: list[str], *, with_extra: bool) -> dict[str, _Existing]:
    """Stored contacts for these addresses. Their extra fields (JSON, the slow part to
    read) are only loaded when an update may need to merge them."""
    table = cast(Table, Contact.__table__)
    extra_column = table.c.extra if with_extra else null()
    columns = [table.c.email_norm, table.c.id, extra_column, *(table.c[name] for name in UPDATABLE)]
    found: dict[str, _Existing] = {}
    for part in chunked(norms):
        for norm, contact_id, extra, *values in session.execute(
            select(*columns).where(table.c.email_norm.in_(part))
        ).all():
            found[norm] = _Existing(
                id=contact_id,
                values=dict(zip(UPDATABLE, values, strict=True)),
                extra=(extra or {}) if with_extra else None,
            )
    return found


def _members(session: Any, contact_ids: list[int], segment: str) -> set[int]:
    found: set[int] = set()
    for part in chunked(contact_ids):
        found.update(
            session.scalars(
                select(SegmentMember.contact_id).where(
                    SegmentMember.segment == segment, SegmentMember.contact_id.in_(part)
                )
            )
        )
    return found


def _changed_fields(found: _Existing, row: ContactRow) -> list[str]:
    """Fields the file would change. An empty cell never clears a stored value."""
    changed = [name for name, value in row.values().items() if found.values.get(name) != value]
    extra = found.extra
    if extra is not None and any(extra.get(key) != value for key, value in row.extra.items()):
        changed.append("extra")
    return changed


def _insert_many(
    session: Any,
    table: Table,
    keys: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    constants: dict[str, Any],
) -> None:
    """INSERT one row per tuple, as one executemany at the driver.

    SQLAlchemy compiles the statement (with its PostgreSQL casts) and each column's type
    converts the values (JSON, SQLite's datetime text); what is skipped is Core's per-row
    parameter bookkeeping, about 20 µs a row and most of a 100,000-row import. Values
    the same for every row (`constants`) are converted once.
    """
    connection = session.connection()
    dialect = connection.dialect
    names = [*keys, *constants]
    compiled = insert(table).compile(dialect=dialect, column_keys=names, for_executemany=True)

    def processor(name: str) -> Any:
        return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)

    fixed = {}
    for name, value in constants.items():
        convert = processor(name)
        fixed[name] = convert(value) if convert is not None else value
    converters = [(i, convert) for i, name in enumerate(keys) if (convert := processor(name)) is not None]

    def converted(row: tuple[Any, ...]) -> dict[str, Any]:
        values = list(row)
        for i, convert in converters:
            values[i] = convert(values[i])
        return {**dict(zip(keys, values, strict=True)), **fixed}

    params: list[Any] = [converted(row) for row in rows]
    if dialect.positional:
        order = compiled.positiontup or []
        params = [tuple(p[name] for name in order) for p in params]
    connection.exec_driver_sql(compiled.string, params)


def _apply(session: Any, lists: Lists, plan: _Plan, segment: str, source: CsvFile) -> None:
    """Write the plan: new contacts, who joins the segment, and the updates."""
    now = utcnow()
    origin = redact_file_name(source.path.name)
    _insert_contacts(session, plan.new, {"source": origin, "created_at": now, "updated_at": now})
    _join_segment(session, plan, segment, origin, now)
    if plan.updates:
        _update_contacts(session, lists, plan.updates, segment, origin, now)


def _insert_contacts(session: Any, new: list[ContactRow], constants: dict[str, Any]) -> None:
    contacts = cast(Table, Contact.__table__)
    for new_rows in chunked(new, WRITE_CHUNK):
        _insert_many(
            session,
            contacts,
            ("email", "email_norm", "name", "first_name", "last_name", "organisation", "role", "extra"),
            [
                (r.email, r.email_norm, r.name, r.first_name, r.last_name, r.organisation, r.role, r.extra)
                for r in new_rows
            ],
            constants,
        )


def _join_segment(session: Any, plan: _Plan, segment: str, origin: str, now: Any) -> None:
    """New contacts join the segment by INSERT … SELECT on their addresses: one statement
    per chunk instead of one parameter set per person; known ones by their ids."""
    contacts = cast(Table, Contact.__table__)
    members = cast(Table, SegmentMember.__table__)
    joining = select(
        contacts.c.id,
        literal(segment, String),
        literal(origin, String),
        literal(now, members.c.added_at.type),
    )
    member_columns = ["contact_id", "segment", "source", "added_at"]
    for norms in chunked([r.email_norm for r in plan.new]):
        session.execute(
            insert(members).from_select(member_columns, joining.where(contacts.c.email_norm.in_(norms)))
        )
    for ids in chunked(plan.join):
        session.execute(
            insert(members).from_select(member_columns, joining.where(contacts.c.id.in_(ids)))
        )


def _update_contacts(
    session: Any, lists: Lists, updates: list[tuple[_Existing, ContactRow, list[str]]],
    segment: str, origin: str, now: Any,
) -> None:
    """The file's details over the stored ones (an empty cell keeps the stored value), audited."""
    contacts = cast(Table, Contact.__table__)
    statement = (
        update(contacts)
        .where(contacts.c.id == bindparam("contact_id"))
        .values({**{name: bindparam(f"new_{name}") for name in (*UPDATABLE, "extra")}, "updated_at": now})
    )
    for part in chunked(updates, WRITE_CHUNK):
        changes = []
        for found, row, _changed in part:
            values = {**found.values, **row.values()}
            changes.append({
                "contact_id": found.id,
                **{f"new_{name}": values.get(name) for name in UPDATABLE},
                "new_extra": {**(found.extra or {}), **row.extra},
            })
        session.execute(statement, changes)
    command = current_command()
    for found, row, changed in updates:
        audit.record(
            session,
            "update",
            command=command,
            contact_id=found.id,
            subject_hash=lists.hasher.hash(row.email_norm),
            detail={"fields": changed, "file": origin, "segment": segment},
        )
