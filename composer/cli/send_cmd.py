"""`bulletin send`, `bulletin campaigns` and `bulletin campaign ID`: thin over composer.send."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from composer.cli import AppContext
from composer.errors import BulletinError
from composer.safetext import printable
from composer.send.transports import NAMES as TRANSPORT_NAMES

if TYPE_CHECKING:
    from composer.send.plan import SendPlan
    from composer.send.runner import SendSummary


class ConfirmationRefused(BulletinError):
    exit_code = 2


def _n(value: int) -> str:
    return f"{value:,}"


def _size(value: int | None) -> str:
    return "–" if value is None else f"{value / 1024:.1f} KB"


def print_plan(plan: SendPlan, *, dry_run: bool) -> None:
    """The summary shown before sending (and all a dry run shows)."""
    title = "Dry run: nothing will be sent or recorded" if dry_run else "About to send"
    click.secho(title, bold=True)
    click.echo(f"  Bulletin:  {plan.key}")
    click.echo(f"  Subject:   {printable(plan.subject)}")
    click.echo(f"  From:      {printable(plan.from_)}")
    click.echo(f"  Transport: {plan.transport}")
    if plan.tracking:
        click.echo(f"  Tracking:  {plan.tracking}")
    if plan.test_to:
        click.echo(f"  Test copy: one of each copy below to {printable(plan.test_to)} (not recorded in the ledger)")
    if plan.campaign_id is not None:
        click.echo(
            f"  Campaign:  #{plan.campaign_id} (resuming: {_n(plan.already_sent)} already sent"
            + (f", {_n(plan.unknown)} unknown" if plan.unknown else "")
            + ")"
        )
    if plan.errata is not None:
        _print_errata(plan)
    if plan.signoff is not None and plan.signoff.required:
        ok = plan.signoff.enough
        click.secho(
            f"  Sign-off:  {len(plan.signoff.counted)} of {plan.signoff.required} approval(s) of this exact content"
            + (f" ({', '.join(printable(n) for n in plan.signoff.counted)})" if plan.signoff.counted else "")
            + ("" if ok else " — not enough: the send will be refused"),
            fg=None if ok else "red",
        )
    click.echo("  Segments:")
    for seg in plan.segments:
        notes = []
        if seg.suppressed:
            notes.append(f"{_n(seg.suppressed)} suppressed")
        if seg.in_earlier_segment:
            notes.append(f"{_n(seg.in_earlier_segment)} counted in an earlier segment")
        extra = f" ({', '.join(notes)})" if notes else ""
        click.echo(
            f"    {seg.segment:<12} {_n(seg.recipients):>9} recipients{extra}; "
            f"{_n(seg.to_send)} to send now; HTML {_size(seg.html_bytes)}"
        )
    if plan.variants:
        click.echo("  Copies (someone in several segments gets one copy with the sections of each):")
        subjects = {copy.subject for copy in plan.variants if copy.subject}
        for copy in plan.variants:
            click.echo(
                f"    {copy.variant + ':':<24} {_n(copy.recipients):>9}; "
                f"{_n(copy.to_send)} to send now; HTML {_size(copy.html_bytes)}"
            )
            if len(subjects) > 1 and copy.subject:  # per-segment subjects: say whose is whose
                click.echo(f"      subject: {copy.subject}")
    click.echo(f"  To send now: {_n(plan.to_send)}")
    if plan.unknown and not plan.retry_unknown and not plan.test_to:
        click.secho(f"  {_n(plan.unknown)} unknown will not be sent again (add --retry-unknown to resend).", fg="yellow")
    if plan.warnings:
        click.secho(f"  Compose warnings ({len(plan.warnings)}):", fg="yellow")
        for warning in plan.warnings:
            click.echo(f"    - {printable(warning)}")


def _print_errata(plan: SendPlan) -> None:
    """Where an errata's recipients come from."""
    src = plan.errata
    assert src is not None
    click.echo(f"  Errata to: the readers of campaign #{src.campaign_id} ({src.key}):")
    click.echo(f"    {_n(src.sent):>9} sent there")
    if src.confirmed:
        click.echo(f"  + {_n(src.confirmed):>9} unknown there, since confirmed by SendGrid's events")
    if src.unknown:
        verb = "+" if src.include_unknown else " "
        how = "included (--include-unknown)" if src.include_unknown else "left out (add --include-unknown to include them)"
        click.echo(f"  {verb} {_n(src.unknown):>9} unknown there with no event: {how}")
    if src.suppressed_since:
        click.echo(f"  - {_n(src.suppressed_since):>9} suppressed since")
    if src.erased_since:
        click.echo(f"  - {_n(src.erased_since):>9} erased since")
    if src.failed or src.never_sent:
        click.echo(f"    ({_n(src.failed)} failed and {_n(src.never_sent)} never sent there: not readers, never included)")
    click.echo(f"  = {_n(src.recipients):>9} recipients")


def print_summary(summary: SendSummary) -> None:
    """The summary shown at the end."""
    from composer.send.runner import RETRY_UNKNOWN_HELP
    from composer.store.models import DeliveryState as State

    if summary.test:
        click.secho(
            f"Test copies: {summary.sent} sent, {summary.failed} failed, {summary.unknown} unknown "
            f"via {summary.transport} (not recorded in the ledger)",
            bold=True,
        )
    elif summary.attempted == 0:
        click.secho("Nothing to send now: everyone in this campaign has been sent or is accounted for.", bold=True)
    else:
        click.secho(
            f"Done: {_n(summary.sent)} sent, {_n(summary.failed)} failed, {_n(summary.unknown)} unknown "
            f"in {summary.elapsed:.1f} s ({summary.rate:,.0f}/s, {_n(summary.requests)} requests) "
            f"via {summary.transport}",
            bold=True,
        )
    if summary.plan is not None and summary.plan.tracking:
        click.echo(f"Tracked: {summary.plan.tracking}")
    if not summary.test:
        totals = summary.totals
        total = sum(totals.values())
        click.echo(
            f"Campaign #{summary.campaign_id} ({summary.key}): {_n(totals.get(State.SENT, 0))} of {_n(total)} sent"
            + "".join(f", {_n(totals[s])} {s}" for s in (State.PENDING, State.FAILED, State.UNKNOWN) if totals.get(s))
        )
        if summary.confirmed or summary.confirmed_failed:
            click.echo(
                f"Settled from SendGrid's events: {_n(summary.confirmed)} unknown earlier were taken "
                f"by SendGrid (now sent, not resent), {_n(summary.confirmed_failed)} bounced or were "
                "dropped (now failed)."
            )
        if summary.held:
            until = f" after {summary.held_until:%H:%M} UTC" if summary.held_until else " later"
            click.secho(
                f"{_n(summary.held)} unknown are from batches under the grace period and have no "
                f"event yet; not resent now. Run the same command{until} to resend those still "
                "without one.",
                fg="yellow",
            )
        if summary.recovered:
            click.secho(f"{_n(summary.recovered)} were in flight when an earlier send stopped; now unknown.", fg="yellow")
        if summary.skipped:
            click.echo(f"{_n(summary.skipped)} suppressed or erased since the campaign started: not sent.")
        if summary.unknown_total:
            click.secho(f"{_n(summary.unknown_total)} unknown. {RETRY_UNKNOWN_HELP}", fg="yellow")
        if totals.get(State.FAILED):
            click.echo(
                f"Failures: 'bulletin campaign {summary.campaign_id}' lists them; running the same "
                "command again retries them."
            )
    for error in summary.errors:
        # Errors quote provider answers and reasons from the ledger: print them escaped.
        click.secho(f"  ! {printable(error)}", fg="red")
    for note in summary.notes:
        click.secho(f"  note: {printable(note)}", fg="yellow")


@click.command()
@click.argument("bulletin", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--segment", "-s", "segments", multiple=True, metavar="S",
    help="Send only to this segment (repeat for several). Default: every segment of the bulletin.",
)  # fmt: skip
@click.option(
    "--transport", "-t", type=click.Choice(TRANSPORT_NAMES),
    help="How to send. Default: [send] transport in bulletin.toml, else the outbox folder.",
)  # fmt: skip
@click.option("--yes", "-y", is_flag=True, help="Send without asking for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show who would get what; send and record nothing.")
@click.option(
    "--test-to", metavar="ADDR",
    help="Send one copy of each variant the lists hold (lmc, lmc+practice, ...) to ADDR with '[TEST] ' before the subject, outside the ledger.",
)  # fmt: skip
@click.option(
    "--retry-unknown", is_flag=True,
    help="Also resend to people whose earlier send has an unknown outcome, after settling "
    "every one that SendGrid's events report on; only those with no event, older than the "
    "grace period, are sent again.",
)  # fmt: skip
@click.option(
    "--unknown-grace", type=click.FloatRange(min=0), metavar="MINUTES",
    help="With --retry-unknown: resend an unknown row only this many minutes after its batch, "
    "so late events can settle it first. Default: [send] unknown_grace_minutes (15).",
)  # fmt: skip
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), metavar="N",
    help="Send at most N messages per second. Default: [send] rate in bulletin.toml (0: no cap).",
)  # fmt: skip
@click.option(
    "--at", "at", metavar="WHEN",
    help='Schedule instead of sending now: "2026-06-04 09:00" (UK time; the date forms a bulletin takes). Recipients and content are frozen now.',
)  # fmt: skip
@click.option(
    "--recipients-of", metavar="KEY",
    help="An errata: send to exactly the people campaign KEY (a bulletin key or campaign id) reached, in the copy they got, minus anyone suppressed or erased since.",
)  # fmt: skip
@click.option(
    "--include-unknown", is_flag=True,
    help="With --recipients-of: also the earlier campaign's 'unknown' rows that no event has confirmed (never its 'failed' ones).",
)  # fmt: skip
@click.pass_context
def send(ctx: click.Context, bulletin: Path, segments: tuple[str, ...], transport: str | None, yes: bool, **options: Any) -> None:
    """Send BULLETIN to its segments, recording each recipient in the campaign ledger.

    A re-run resumes the campaign and never sends again to anyone already sent.
    """
    from composer.compose.pipeline import compose_bulletin
    from composer.send.progress import RichProgress
    from composer.send.runner import send_bulletin

    app = ctx.find_object(AppContext)
    assert app is not None
    workspace = app.workspace()
    test_to = options.pop("test_to")
    if test_to is not None:
        _check_address(test_to)
    if options["include_unknown"] and not options["recipients_of"]:
        raise click.BadParameter("only means something with --recipients-of", param_hint="--include-unknown")
    if options["recipients_of"] and segments:
        raise click.BadParameter("an errata goes to the earlier campaign's readers; leave out --segment", param_hint="--recipients-of")
    # The single segments only: the send adds the combinations its recipients need.
    composition = compose_bulletin(workspace, bulletin, segments=list(segments) or None, variants=())
    at = options.pop("at")
    if at is not None:
        _schedule(ctx, workspace, composition, bulletin, at, list(segments) or None, transport, yes, test_to, options)
        return
    summary = send_bulletin(
        workspace, composition, list(segments) or None, transport, yes=False, test_to=test_to,
        confirm=_confirmer(yes, "Send now?"), progress=RichProgress(), **options,
    )  # fmt: skip
    if summary.dry_run:
        print_plan(summary.plan, dry_run=True)
    elif summary.aborted:
        click.echo("Not sent.")
    else:
        print_summary(summary)
        if summary.failed or summary.unknown:
            ctx.exit(1)


def _confirmer(yes: bool, question: str) -> Callable[[SendPlan], bool]:
    """Show the plan, then ask (or not, with --yes; refuse when there is no terminal)."""

    def confirm(plan: SendPlan) -> bool:
        print_plan(plan, dry_run=False)
        if yes:
            return True
        if not sys.stdin.isatty():
            raise ConfirmationRefused(
                "not sending: there is no terminal to ask for confirmation on. Check the summary "
                "above (or run with --dry-run) and add --yes to send."
            )
        return click.confirm(question, default=False)

    return confirm


def _schedule(
    ctx: click.Context, workspace: Any, composition: Any, bulletin: Path, at: str,
    segments: list[str] | None, transport: str | None, yes: bool, test_to: str | None, options: dict[str, Any],
) -> None:  # fmt: skip
    """`send --at`: freeze now, send later (composer.signoff.schedules)."""
    from composer.signoff.schedules import schedule_send
    from composer.timestamps import parse_local

    if test_to or options["retry_unknown"] or options["rate"] or options["unknown_grace"] is not None:
        raise click.BadParameter("a scheduled send takes no --test-to, --retry-unknown, --unknown-grace or --rate", param_hint="--at")
    try:
        when = parse_local(at, workspace.sender.timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    done = schedule_send(
        workspace, composition, bulletin, when, segments, transport, dry_run=options["dry_run"],
        confirm=_confirmer(yes, f"Schedule for {_uk(workspace, when)}?"),
        recipients_of=options["recipients_of"], include_unknown=options["include_unknown"],
    )  # fmt: skip
    for warning in done.warnings:
        click.secho(f"Warning: {warning}", fg="yellow")
    if done.dry_run:
        print_plan(done.plan, dry_run=True)
        click.echo(f"  Would be scheduled for {_uk(workspace, when)}.")
    elif done.aborted:
        click.echo("Not scheduled.")
    else:
        click.secho(f"Scheduled send #{done.schedule_id}: {composition.key} at {_uk(workspace, when)}", bold=True)
        click.echo(f"  Campaign #{done.campaign_id}: {_n(done.frozen)} recipients frozen now; the content is frozen as approved.")
        if done.handed_over is not None:
            click.echo(f"  Handed to SendGrid, which holds them until then: {_n(done.handed_over.sent)} accepted, "
                       f"{_n(done.handed_over.failed)} failed, {_n(done.handed_over.unknown)} unknown.")  # fmt: skip
        else:
            click.echo("  'bulletin serve' sends it when it is due (it must be running then).")
        click.echo(f"  'bulletin schedule' lists it; 'bulletin schedule cancel {done.schedule_id}' cancels it.")


def _uk(workspace: Any, when: datetime) -> str:
    from zoneinfo import ZoneInfo

    return f"{when.astimezone(ZoneInfo(workspace.sender.timezone)):%a %d %b %Y %H:%M} UK time"


def _check_address(address: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="--test-to") from None


@click.command()
@click.option("--limit", default=50, show_default=True, help="Show at most this many campaigns, newest first.")
@click.pass_context
def campaigns(ctx: click.Context, limit: int) -> None:
    """List the campaigns: id, bulletin, status, counts by state, and delivered, bounced
    (or blocked) and unsubscribed from SendGrid's events and our unsubscribe routes."""
    from composer.send.reports import list_campaigns
    from composer.store.models import DeliveryState as State

    app = ctx.find_object(AppContext)
    assert app is not None
    rows = list_campaigns(app.workspace(), limit=limit)
    if not rows:
        click.echo("No campaigns yet.")
        return
    click.echo(
        f"{'ID':>4}  {'BULLETIN':<24} {'STATUS':<9} {'TRANSPORT':<9} {'SENT':>9} {'TOTAL':>9} {'FAILED':>7} {'UNKNOWN':>7} "
        f"{'DELIVERED':>9} {'BOUNCED':>7} {'UNSUBSCRIBED':>12}  STARTED"
    )
    for row in rows:
        click.echo(
            f"{row.id:>4}  {row.key:<24} {row.status:<9} {row.transport:<9} {_n(row.counts.get(State.SENT, 0)):>9} "
            f"{_n(row.total):>9} {_n(row.counts.get(State.FAILED, 0)):>7} {_n(row.counts.get(State.UNKNOWN, 0)):>7} "
            f"{_n(row.delivered):>9} {_n(row.bounced):>7} {_n(row.unsubscribed):>12}  "
            f"{row.created_at:%Y-%m-%d %H:%M}"
        )


@click.command()
@click.argument("campaign_id", metavar="ID")
@click.option("--limit", default=50, show_default=True, help="List at most this many failed and unknown recipients.")
@click.pass_context
def campaign(ctx: click.Context, campaign_id: str, limit: int) -> None:
    """Show campaign ID (or the latest campaign of a bulletin key): counts by state and failures."""
    from composer.identity import mask_email
    from composer.send.reports import campaign_detail
    from composer.store.models import DeliveryState as State

    app = ctx.find_object(AppContext)
    assert app is not None
    detail = campaign_detail(app.workspace(), campaign_id, limit=limit)
    c = detail.campaign
    click.secho(f"Campaign #{c.id}: {c.key}", bold=True)
    click.echo(f"  Subject:   {printable(c.subject)}")
    click.echo(f"  Content:   {c.content_hash[:16]}")
    click.echo(f"  Segments:  {', '.join(c.segments)}")
    click.echo(f"  Transport: {c.transport}")
    click.echo(f"  Operator:  {c.operator}")
    click.echo(f"  Started:   {c.created_at:%Y-%m-%d %H:%M:%S}")
    click.echo(f"  Status:    {c.status}" + (f" ({c.finished_at:%Y-%m-%d %H:%M:%S})" if c.finished_at else ""))
    click.echo("  By state:")
    for state in (State.SENT, State.PENDING, State.CLAIMED, State.IN_FLIGHT, State.FAILED, State.UNKNOWN):
        click.echo(f"    {state:<10} {_n(detail.counts.get(state, 0)):>9}")
    click.echo(f"    {'total':<10} {_n(sum(detail.counts.values())):>9}")
    segments = sorted({seg for seg, _ in detail.by_segment})
    if segments:
        click.echo("  By segment (sent / total):")
        for seg in segments:
            total = sum(n for (s, _), n in detail.by_segment.items() if s == seg)
            click.echo(f"    {seg:<12} {_n(detail.by_segment.get((seg, State.SENT), 0)):>9} / {_n(total)}")
    copies = sorted({copy for copy, _ in detail.by_copy}, key=lambda c: (c.count("+"), c))
    if any("+" in copy for copy in copies):
        click.echo("  By copy (sent / total):")
        for copy in copies:
            total = sum(n for (c, _), n in detail.by_copy.items() if c == copy)
            click.echo(f"    {copy:<24} {_n(detail.by_copy.get((copy, State.SENT), 0)):>9} / {_n(total)}")
    click.echo(f"  Results (delivered, bounced, unsubscribed, links): bulletin report {c.id}")
    if detail.failures:
        click.echo(f"  Failed and unknown (first {len(detail.failures)}):")
        for f in detail.failures:
            who = mask_email(f.email) if f.email else "(erased)"
            click.echo(f"    #{f.id} {f.state:<8} {f.segment:<10} {printable(who):<28} {printable(f.error or '')}")
