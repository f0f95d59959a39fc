"""`bulletin approve`, `bulletin approvals`, `bulletin review` and `bulletin schedule`:
thin over composer.signoff."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from composer.cli import AppContext
from composer.safetext import printable

if TYPE_CHECKING:
    from composer.compose.model import Composition
    from composer.workspace import Workspace

BULLETIN = click.argument("bulletin", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def _workspace(ctx: click.Context) -> Workspace:
    app = ctx.find_object(AppContext)
    assert app is not None
    workspace: Workspace = app.workspace()
    return workspace


def _compose(workspace: Workspace, bulletin: Path) -> Composition:
    from composer.compose.pipeline import compose_bulletin

    # The single segments: the content hash covers every variant whichever are composed.
    return compose_bulletin(workspace, bulletin, variants=())


@click.command()
@BULLETIN
@click.option("--as", "name", required=True, metavar="NAME", help='Who approves, as it should stand in the record: "Dr Jane Smith, GPC England chair".')
@click.option("--note", metavar="TEXT", help="A note kept with the approval.")
@click.pass_context
def approve(ctx: click.Context, bulletin: Path, name: str, note: str | None) -> None:
    """Approve BULLETIN's exact current content (every copy's subject, preheader, HTML and text).

    Any later edit leaves this approval standing for the earlier version only.
    """
    from composer.signoff.approvals import record
    from composer.store.db import Store

    workspace = _workspace(ctx)
    composition = _compose(workspace, bulletin)
    store = Store(workspace.database_url())
    try:
        view = record(store, composition, name, note=note)
    finally:
        store.close()
    click.echo(
        f"Approved {composition.key} (content {view.content_hash[:12]}) as {printable(view.approver)}, "
        f"OS user {printable(view.os_user)}, {view.created_at:%Y-%m-%d %H:%M} UTC."
    )
    required = workspace.config.send.approvals_required
    if required:
        click.echo(
            f"bulletin.toml asks for {required} approval(s) by people other than the sender: this one "
            f"counts for a send by anyone but OS user {printable(view.os_user)} (and anyone named {printable(view.approver)})."
        )


@click.command()
@BULLETIN
@click.pass_context
def approvals(ctx: click.Context, bulletin: Path) -> None:
    """List BULLETIN's approvals and review comments, and whether each matches the current content."""
    from composer.signoff.approvals import APPROVAL, listing, sign_off
    from composer.store.db import Store

    workspace = _workspace(ctx)
    composition = _compose(workspace, bulletin)
    required = workspace.config.send.approvals_required
    store = Store(workspace.database_url())
    try:
        views = listing(store, composition)
        status = sign_off(store, composition, required)
    finally:
        store.close()
    click.secho(f"{composition.key}: content {composition.content_hash[:12]}", bold=True)
    if not views:
        click.echo("  No approvals or comments yet.")
    for view in views:
        what = "approved" if view.kind == APPROVAL else "commented"
        state = "matches the current content" if view.matches else f"an earlier version ({view.content_hash[:12]})"
        click.echo(
            f"  #{view.id} {view.created_at:%Y-%m-%d %H:%M} UTC  {printable(view.approver)} {what} "
            f"({view.source}, OS user {printable(view.os_user)}): {state}"
        )
        if view.note:
            click.echo(f"      {printable(view.note)}")
        for change in view.changes:
            click.echo(f"      since then: {change}")
    if required:
        verdict = "enough to send" if status.enough else "not enough to send"
        click.echo(
            f"  Approvals of this content by others than you: {len(status.counted)} of {required} needed ({verdict})."
        )


@click.command()
@BULLETIN
@click.option(
    "--expires", default="72h", show_default=True, metavar="DURATION",
    help="How long the link works: hours or days, e.g. 72h, 7d (at most 30d).",
)  # fmt: skip
@click.pass_context
def review(ctx: click.Context, bulletin: Path, expires: str) -> None:
    """Print a private link to BULLETIN's current version for reviewers without the tool.

    'bulletin serve' answers it with every copy side by side; a reviewer can approve by
    name or leave a comment. Any change to the bulletin ends the link.
    """
    import time

    from composer.errors import InputError, Location
    from composer.tokens import ReviewSigner, review_url

    seconds = _duration(expires)
    workspace = _workspace(ctx)
    if bulletin.resolve().parent != workspace.bulletins_dir or bulletin.suffix not in (".yaml", ".yml"):
        raise InputError(
            f"'bulletin serve' shows review pages of the bulletins in {workspace.bulletins_dir}; "
            "put the bulletin there first", Location(file=bulletin),
        )  # fmt: skip
    composition = _compose(workspace, bulletin)
    until = int(time.time()) + seconds
    token = ReviewSigner(workspace.secret_keys()).make(composition.key, composition.content_hash, until)
    click.echo(review_url(workspace.sender.base_url, token))
    click.echo(
        f"For {composition.key} as it is now (content {composition.content_hash[:12]}), until "
        f"{time.strftime('%d %B %Y %H:%M UTC', time.gmtime(until))}. Anyone with the link can see the "
        "bulletin and approve it by name: send it only to the reviewers.",
        err=True,
    )


def _duration(text: str) -> int:
    import re

    match = re.fullmatch(r"\s*(\d+)\s*([hd])\s*", text.lower())
    if not match:
        raise click.BadParameter(f"'{text}' is not a duration like 72h or 7d", param_hint="--expires")
    seconds = int(match.group(1)) * (3600 if match.group(2) == "h" else 86400)
    if not 0 < seconds <= 30 * 86400:
        raise click.BadParameter("must be more than 0 and at most 30 days", param_hint="--expires")
    return seconds


@click.group(invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Also list schedules that are done or cancelled.")
@click.pass_context
def schedule(ctx: click.Context, show_all: bool) -> None:
    """List scheduled sends (bulletin send BULLETIN --at WHEN makes one)."""
    if ctx.invoked_subcommand is not None:
        return
    from zoneinfo import ZoneInfo

    from composer.identity import AddressHasher
    from composer.signoff.schedules import list_schedules
    from composer.store.db import Store

    workspace = _workspace(ctx)
    store = Store(workspace.database_url())
    try:
        views = list_schedules(store, AddressHasher(workspace.secret_keys()), include_finished=show_all)
    finally:
        store.close()
    if not views:
        click.echo("No scheduled sends.")
        return
    zone = ZoneInfo(workspace.sender.timezone)
    click.echo(f"{'ID':>4}  {'BULLETIN':<24} {'WHEN (UK time)':<17} {'STATUS':<12} {'VIA':<9} {'CAMPAIGN':>8} {'FROZEN':>8} {'SENT':>8}")
    for v in views:
        click.echo(
            f"{v.id:>4}  {v.key:<24} {v.send_at.astimezone(zone):%Y-%m-%d %H:%M}  {v.status:<12} {v.transport:<9} "
            f"{v.campaign_id:>8} {sum(v.counts.values()):>8,} {v.counts.get('sent', 0):>8,}"
        )
        if v.outcome:
            click.echo(f"      {printable(v.outcome)}")
        if v.suppressed_since:
            click.secho(
                f"      {v.suppressed_since:,} of them are suppressed now (unsubscribed since the hand-over), but "
                f"SendGrid holds their copy and will send it: cancel (#{v.id}) and schedule again to leave them out",
                fg="yellow",
            )


@schedule.command("cancel")
@click.argument("schedule_id", metavar="ID", type=int)
@click.pass_context
def schedule_cancel(ctx: click.Context, schedule_id: int) -> None:
    """Cancel scheduled send ID if it has not started (one handed to SendGrid: SendGrid cancels its batch)."""
    from composer.signoff.schedules import cancel
    from composer.store.db import Store

    workspace = _workspace(ctx)
    store = Store(workspace.database_url())
    try:
        click.echo(cancel(workspace, store, schedule_id))
    finally:
        store.close()


@schedule.command("run")
@click.pass_context
def schedule_run(ctx: click.Context) -> None:
    """Run every scheduled send that is due, once, then stop (what 'bulletin serve' does every 15 seconds; for cron)."""
    from composer.signoff.running import run_due
    from composer.store.db import Store

    workspace = _workspace(ctx)
    store = Store(workspace.database_url())
    try:
        ran = run_due(workspace, store)
    finally:
        store.close()
    click.echo(f"Ran {len(ran)} scheduled send(s)" + (f": #{', #'.join(map(str, ran))}" if ran else "") + ".")
