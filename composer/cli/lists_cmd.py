"""`bulletin lists …`: contacts, segments, suppressions, subject access and erasure.

Thin: each command parses its options, calls one function in `composer.lists`, and
prints. Library errors become one message and an exit code in `composer.cli`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from composer.cli import AppContext, output
from composer.safetext import printable

if TYPE_CHECKING:
    from composer.lists.base import Lists

SEGMENT_HELP = "Segment name, as declared in lists/segments.yaml (lmc, practice, registrar, ...)."


@contextmanager
def _lists(ctx: click.Context) -> Iterator[Lists]:
    from composer.lists.base import open_lists

    app = ctx.find_object(AppContext)
    assert app is not None
    opened = open_lists(app.workspace())
    try:
        yield opened
    finally:
        opened.close()


@click.group()
def lists() -> None:
    """Contacts, segments and suppressions: import, show, export, suppress, erase."""


@lists.command("import", short_help="Import a CSV into a segment (all or nothing).")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--segment", "-s", required=True, help=SEGMENT_HELP)
@click.option("--dry-run", is_flag=True, help="Read, check and count everything, but change nothing.")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the good rows and write the bad ones, with the reason, to <FILE stem>.rejects.csv "
    "beside FILE. Without it, one bad row means nothing is imported.",
)
@click.option(
    "--update",
    is_flag=True,
    help="Update the stored name, organisation, role and extra fields of people already on the "
    "lists from the file. An empty cell never clears a stored value.",
)
@click.option(
    "--check-dns",
    is_flag=True,
    help="Also check that each address's domain accepts mail (DNS lookups; slow). "
    "Default: syntax only.",
)
@click.pass_context
def import_(
    ctx: click.Context, file: Path, segment: str, dry_run: bool, skip_invalid: bool, update: bool, check_dns: bool
) -> None:
    """Import contacts from a CSV FILE into a segment (all or nothing by default).

    Reads UTF-8 (with or without a byte-order mark) and Windows-1252, separated by
    commas, semicolons or tabs, and recognises the usual headers (Email, E-mail
    address, First name, Surname, Practice, ...). Other columns are kept as extra
    fields. Suppressed and erased addresses are never added back.
    """
    from composer.cli.import_summary import print_import, print_rejects
    from composer.lists.importer import ImportRejected, import_file

    with _lists(ctx) as opened:
        try:
            report = import_file(
                opened, file, segment, dry_run=dry_run, skip_invalid=skip_invalid, update=update,
                check_dns=check_dns,
            )
        except ImportRejected as exc:
            print_import(exc.report, stderr=True)
            print_rejects(exc.report)
            raise
    print_import(report)


@lists.command(short_help="List contacts, their segments and status.")
@click.option("--segment", "-s", help=SEGMENT_HELP + " Default: everyone.")
@click.option(
    "--limit", type=click.IntRange(min=0), default=200, show_default=True,
    help="Show at most this many people; 0 for all.",
)
@click.pass_context
def show(ctx: click.Context, segment: str | None, limit: int) -> None:
    """List contacts with their segments and whether they are suppressed."""
    from rich.table import Table
    from rich.text import Text

    from composer.lists.query import show_contacts

    with _lists(ctx) as opened:
        result = show_contacts(opened, segment=segment, limit=limit or None)
    scope = f"segment '{result.segment}'" if result.segment else "all segments"
    table = Table(title=f"Contacts in {scope}", title_justify="left")
    for column in ("email", "name", "organisation", "segments", "status"):
        table.add_column(column, overflow="fold")
    for c in result.contacts:
        table.add_row(
            Text(printable(c.email)), Text(printable(c.display_name)), Text(printable(c.organisation or "")),
            Text(printable(", ".join(c.segments))),
            f"suppressed ({c.suppressed})" if c.suppressed else "active",
        )
    console = output.console()
    console.print(table)
    shown = len(result.contacts)
    if shown < result.total:
        console.print(f"Showing {shown} of {result.total}; pass --limit 0 to see everyone.")
    else:
        console.print(f"{output.count(result.total, 'contact')}.")


@lists.command(short_help="Count members, active and suppressed per segment.")
@click.pass_context
def stats(ctx: click.Context) -> None:
    """Count contacts per segment: members, active and suppressed."""
    from rich.table import Table
    from rich.text import Text

    from composer.lists.query import stats as compute

    with _lists(ctx) as opened:
        result = compute(opened)
    table = Table(title="Segments", title_justify="left")
    table.add_column("segment")
    table.add_column("description")
    for name in ("members", "active", "suppressed"):
        table.add_column(name, justify="right")
    for s in result.segments:
        table.add_row(Text(printable(s.name)), Text(printable(s.description)), str(s.members), str(s.active), str(s.suppressed))
    console = output.console()
    console.print(table)
    console.print(
        f"{output.count(result.contacts, 'contact')}: {result.active} active, {result.suppressed_contacts} suppressed, "
        f"{result.without_segment} in no segment."
    )
    if result.suppressions:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(result.suppressions.items()))
        console.print(f"Suppressions: {reasons}.")
    for (campaign_id, key), reasons_of in result.suppressions_by_campaign.items():
        counted = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons_of.items()))
        console.print(Text(f"  from campaign #{campaign_id} ({printable(key)}): {counted}"))
    for name, count in result.undeclared.items():
        console.print(
            f"{count} memberships in segment '{printable(name)}', which lists/segments.yaml no "
            "longer declares.", style="yellow", markup=False,
        )


@lists.command(short_help="Write contacts to a spreadsheet-safe CSV.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--segment", "-s", help=SEGMENT_HELP + " Default: everyone.")
@click.option("--include-suppressed", is_flag=True, help="Also export suppressed people (the status column says so).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.pass_context
def export(ctx: click.Context, file: Path, segment: str | None, include_suppressed: bool, force: bool) -> None:
    """Write contacts to a CSV FILE that is safe to open in a spreadsheet.

    Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or
    a carriage return) get a leading apostrophe. The file is readable by you only.
    """
    from composer.lists.export import export_contacts

    with _lists(ctx) as opened:
        result = export_contacts(
            opened, file, segment=segment, include_suppressed=include_suppressed, overwrite=force
        )
    scope = f"segment '{result.segment}'" if result.segment else "all segments"
    click.echo(f"Exported {output.count(result.rows, 'contact')} from {printable(scope)} to {printable(result.path)}.")
    if result.skipped_suppressed:
        click.echo(
            f"Left out {output.people(result.skipped_suppressed)} who are suppressed "
            "(--include-suppressed adds them)."
        )


@lists.command(short_help="Take EMAIL out of one segment.")
@click.argument("email")
@click.option("--segment", "-s", required=True, help=SEGMENT_HELP)
@click.pass_context
def remove(ctx: click.Context, email: str, segment: str) -> None:
    """Take EMAIL out of a segment (the contact stays on any other segments)."""
    from composer.lists.manage import remove_from_segment

    with _lists(ctx) as opened:
        remaining = remove_from_segment(opened, email, segment)
    still = f"; still in {', '.join(remaining)}" if remaining else "; now in no segment"
    click.echo(printable(f"Removed {email} from '{segment}'{still}."))


@lists.command()
@click.argument("email")
@click.option(
    "--reason", "-r", default="manual", show_default=True,
    type=click.Choice(["unsubscribed", "bounced", "complained", "manual"]),
    help="Why nothing more may be sent to EMAIL.",
)
@click.pass_context
def suppress(ctx: click.Context, email: str, reason: str) -> None:
    """Stop all mail to EMAIL, on every segment, until unsuppressed."""
    from composer.lists.manage import suppress_address

    with _lists(ctx) as opened:
        result = suppress_address(opened, email, reason)
    if result.created:
        click.echo(printable(f"Suppressed {email} ({result.reason})."))
    else:
        since = f" since {result.since:%Y-%m-%d}" if result.since else ""
        click.echo(printable(f"{email} was already suppressed ({result.reason}{since}); nothing changed."))


@lists.command()
@click.argument("email")
@click.pass_context
def unsuppress(ctx: click.Context, email: str) -> None:
    """Lift the suppression of EMAIL, so that it gets mail again. Erasures stay."""
    from composer.lists.manage import unsuppress_address

    with _lists(ctx) as opened:
        reason = unsuppress_address(opened, email)
    click.echo(printable(f"Lifted the suppression of {email} (it was: {reason})."))


@lists.command(short_help="Erase EMAIL and their data (right to erasure).")
@click.argument("email")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(ctx: click.Context, email: str, yes: bool) -> None:
    """Erase EMAIL (right to erasure): delete the contact and every personal field.

    Deletes the contact and their segment memberships, clears their address and
    details from the delivery ledger and provider events, and keeps only a keyed hash
    of the address as an 'erased' suppression so that no import can add them back.
    This cannot be undone.
    """
    from composer.lists.erasure import forget as erase

    if not yes:
        click.confirm(printable(f"Erase everything stored about {email}? This cannot be undone"), abort=True)
    app = ctx.find_object(AppContext)
    assert app is not None
    with _lists(ctx) as opened:
        result = erase(opened, email, workspace=app.workspace())
    what = "deleted the contact" if result.contact_deleted else "no contact was stored"
    click.echo(printable(
        f"Erased {email}: {what}, {result.memberships} segment memberships, cleared "
        f"{result.deliveries} deliveries and {result.events} events; erasure suppression "
        f"{result.suppression}."
    ))
    if result.sendgrid_pushed:
        click.echo("SendGrid held a scheduled copy for them: added to SendGrid's global suppressions, so it is not sent.")
    if result.sendgrid_warning:
        click.secho(printable(f"Warning: {result.sendgrid_warning}"), fg="yellow", err=True)
    if not result.on_disk:
        click.echo(
            "Warning: the database's write-ahead log could not be emptied (another program "
            "kept reading the store for 10 seconds), so old copies of the erased rows may "
            "still be in its files. Run 'bulletin lists forget' for the same address again "
            "once 'bulletin serve' and other commands are quiet.",
            err=True,
        )
    sources = ", ".join(result.sources) if result.sources else "the spreadsheets they came from"
    click.echo(printable(
        f"The store keeps only a keyed hash. Delete the address from files outside it too: "
        f"{sources}, any *.rejects.csv and exports, and the outbox."
    ))


@lists.command(short_help="Clear the personal fields of old events and deliveries.")
@click.option(
    "--days", type=click.IntRange(min=1), metavar="N",
    help="Clear those older than N days. Default: [retention] events_days in bulletin.toml (400).",
)  # fmt: skip
@click.pass_context
def prune(ctx: click.Context, days: int | None) -> None:
    """Clear the address and detail of events, and the address and error of deliveries,
    older than [retention] events_days; counts stay. `bulletin serve` does this daily."""
    from composer.store.retention import prune as run_prune

    app = ctx.find_object(AppContext)
    assert app is not None
    keep = days or app.workspace().config.retention.events_days
    with _lists(ctx) as opened, opened.store.session() as session:
        done = run_prune(session, keep)
    click.echo(
        f"Cleared the personal fields of {output.count(done.events, 'event')} and {done.deliveries} {'delivery' if done.deliveries == 1 else 'deliveries'} "
        f"older than {keep} days (before {done.before:%Y-%m-%d %H:%M} UTC)."
    )


@lists.command(short_help="Print all data held about EMAIL, as JSON.")
@click.argument("email")
@click.pass_context
def person(ctx: click.Context, email: str) -> None:
    """Print everything stored about EMAIL as JSON (subject access request)."""
    import json

    from composer.lists.erasure import person as collect
    from composer.safetext import printable_json

    with _lists(ctx) as opened:
        data = collect(opened, email)
    click.echo(printable_json(json.dumps(data, indent=2, ensure_ascii=False)))
    if not data["found"]:
        click.echo(printable(f"Nothing is stored about {email}."), err=True)
    for problem in data["problems"]:
        click.echo(printable(
            f"{problem['kind'].capitalize()} {problem['at']} (campaign #{problem['campaign_id']}): {problem['reason']}"
        ), err=True)  # fmt: skip
