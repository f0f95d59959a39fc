"""Writing contacts out as CSV, safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula ("CSV injection", OWASP); such a cell gets a
leading apostrophe, which the spreadsheet shows as text. The importer strips that
apostrophe again, so an exported file imports unchanged.

Files are written to a temporary file in the same folder and renamed into place, so a
reader never sees half a file, and are readable by their owner only: they hold
personal data.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from composer.errors import InputError, Location
from composer.identity import redact_file_name
from composer.lists.base import Lists
from composer.lists.query import contact_status
from composer.lists.rows import FORMULA_STARTS
from composer.store import audit
from composer.store.db import current_command
from composer.store.models import Contact, SegmentMember

BASE_COLUMNS = ("email", "name", "first_name", "last_name", "organisation", "role", "segments", "status")


def safe_cell(value: Any) -> str:
    """The cell as text, with an apostrophe before anything a spreadsheet would evaluate."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv_temp(
    target: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, delimiter: str = ","
) -> Path:
    """Write the CSV to a private temporary file beside `target`; the caller renames it."""
    folder = target.parent
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write beside this file: {exc.strerror}", Location(file=target)) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow([safe_cell(h) for h in header])
            for row in rows:
                writer.writerow([safe_cell(cell) for cell in row])
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_csv_atomic(
    target: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, delimiter: str = ","
) -> None:
    """Write the CSV to `target` through a temporary file and a rename."""
    tmp = write_csv_temp(target, header, rows, delimiter=delimiter)
    try:
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the file: {exc.strerror}", Location(file=target)) from None


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    skipped_suppressed: int
    segment: str | None


def export_contacts(
    lists: Lists,
    target: Path,
    *,
    segment: str | None = None,
    include_suppressed: bool = False,
    overwrite: bool = False,
) -> ExportResult:
    """Write contacts (of one segment, or all) to `target` as CSV.

    Suppressed people are left out unless `include_suppressed`, so that a list handed
    to another tool cannot mail someone who asked us to stop; the `status` column
    says which are which.
    """
    if segment is not None:
        segment = lists.segment(segment)
    if target.exists() and not overwrite:
        raise InputError("already exists; choose another name or pass --force to replace it", Location(file=target))
    if not target.parent.is_dir():
        raise InputError("the folder does not exist", Location(file=target.parent))

    with lists.store.session() as session:
        contacts = _contacts(session, segment)
        memberships = _memberships(session)
        status = contact_status(session, lists.hasher, [(c.id, c.email_norm) for c in contacts])
        chosen = [c for c in contacts if include_suppressed or c.id not in status]
        extra_keys = sorted({key for c in chosen for key in (c.extra or {})})
        rows = (_row(c, memberships.get(c.id, []), status.get(c.id), extra_keys) for c in chosen)
        write_csv_atomic(target, [*BASE_COLUMNS, *extra_keys], rows)
        audit.record(
            session,
            "export",
            command=current_command(),
            detail={
                "segment": segment,
                "rows": len(chosen),
                "include_suppressed": include_suppressed,
                "file": redact_file_name(target.name),
            },
        )
    return ExportResult(target, len(chosen), len(contacts) - len(chosen), segment)


def _contacts(session: Any, segment: str | None) -> list[Contact]:
    query = select(Contact).order_by(Contact.email_norm)
    if segment is not None:
        query = query.where(
            Contact.id.in_(select(SegmentMember.contact_id).where(SegmentMember.segment == segment))
        )
    return list(session.scalars(query))


def _memberships(session: Any) -> dict[int, list[str]]:
    """Each contact's segments, in name order."""
    memberships: dict[int, list[str]] = {}
    for contact_id, name in session.execute(
        select(SegmentMember.contact_id, SegmentMember.segment).order_by(SegmentMember.segment)
    ):
        memberships.setdefault(contact_id, []).append(name)
    return memberships


def _row(c: Contact, segments: list[str], suppressed: str | None, extra_keys: list[str]) -> list[Any]:
    return [
        c.email, c.name, c.first_name, c.last_name, c.organisation, c.role,
        ";".join(segments),
        f"suppressed ({suppressed})" if suppressed else "active",
        *[(c.extra or {}).get(key, "") for key in extra_keys],
    ]  # fmt: skip
