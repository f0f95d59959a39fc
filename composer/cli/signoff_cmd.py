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
        click.echo(f"bulletin.toml asks for {required} approval(s) by people other than the sender.")


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
