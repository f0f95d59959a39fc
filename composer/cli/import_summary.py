"""What `bulletin lists import` prints: the file as read, the counts, what happened to
people already on the lists, warnings, and the rejected rows (on stderr when it failed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from composer.cli import output
from composer.safetext import printable

if TYPE_CHECKING:
    from composer.lists.importer import ImportReport


def print_import(report: ImportReport, *, stderr: bool = False) -> None:
    from rich.table import Table

    console = output.console(stderr=stderr)
    console.print(
        f"Read {printable(report.file)}: {output.count(report.rows, 'row')}, {report.encoding}, {report.delimiter_name}-separated.",
        markup=False,
    )
    mapped = ", ".join(f"{name} ← '{printable(header)}'" for name, header in report.columns.items())
    console.print(f"Columns: {mapped}.", markup=False)
    if report.extra_columns:
        kept = ", ".join(f"'{printable(c)}'" for c in report.extra_columns)
        console.print(f"Kept as extra fields: {kept}.", markup=False)
    if report.ignored_columns:
        skipped = ", ".join(f"'{printable(c)}'" for c in report.ignored_columns)
        console.print(
            f"Ignored (written by bulletin's own rejects and exports): {skipped}.", markup=False
        )
    if stderr:
        return
    title = f"Import into '{report.segment}'" + (" (dry run: nothing changed)" if report.dry_run else "")
    table = Table(title=title, title_justify="left")
    for name in report.counts():
        table.add_column(name, justify="right")
    table.add_row(*(str(v) for v in report.counts().values()))
    console.print(table)
    verb = "would join" if report.dry_run else "joined"
    if report.joined:
        console.print(f"{output.people(report.joined)} already on other lists {verb} '{report.segment}'.")
    if report.suppressed:
        console.print(
            f"{output.people(report.suppressed)} left out: suppressed or erased addresses are never added back."
        )
    if report.differing:
        one = report.differing == 1
        kept = "would be kept" if report.dry_run else "were kept"
        console.print(
            f"{output.people(report.differing)} already on the lists {'has' if one else 'have'} different details "
            f"in this file (a name or organisation, say). The stored details {kept} as they are "
            "(counted under 'kept as stored'); run again with --update to replace them with the file's "
            "(an empty cell never clears a stored value)."
        )
    if report.utf8_local_lines:
        lines = ", ".join(str(n) for n in report.utf8_local_lines[:10])
        more = ", …" if len(report.utf8_local_lines) > 10 else ""
        console.print(
            f"Warning: {len(report.utf8_local_lines)} address{'' if len(report.utf8_local_lines) == 1 else 'es'} with non-ASCII characters before "
            f"the @ (line {lines}{more}). SendGrid accepts such addresses and then drops the message, "
            "so a SendGrid send reports them failed; SMTP delivers them only through a server that "
            "offers SMTPUTF8. Ask these people for another address if you can.",
            markup=False,
        )
    if report.rejects_file is not None:
        console.print(
            f"Wrote {output.count(report.invalid, 'rejected row')} to {printable(report.rejects_file)}.", markup=False
        )
    elif report.dry_run and report.invalid:
        console.print(f"{output.count(report.invalid, 'invalid row')} would be written to a rejects file.")
    if report.removed_stale_rejects:
        console.print("Removed the rejects file left by an earlier run: this file has no bad rows.")


def print_rejects(report: ImportReport) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"Invalid rows in {printable(report.file)}"), title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("problem")
    for reject in report.rejects:
        table.add_row(str(reject.line), Text(printable(reject.reason)))
    output.console(stderr=True).print(table)
