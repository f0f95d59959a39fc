"""`bulletin inbox` (bounces and mailto unsubscribes back into the store) and `bulletin
dkim` (sign, verify and print the DNS record): thin over composer.inbox and composer.send."""

from __future__ import annotations

from pathlib import Path

import click

from composer.cli import AppContext


@click.command()
@click.argument("where", required=False, metavar="[PATH|URL]")
@click.option("--verbose", "-v", is_flag=True, help="List every handled message, not only the counts.")
@click.pass_context
def inbox(ctx: click.Context, where: str | None, verbose: bool) -> None:
    """Read the bounce mailbox once: a Maildir, an mbox file, or imaps://user@host/INBOX
    (password in BULLETIN_INBOX_PASSWORD, or [inbox] password_env). Default: [inbox] url.

    Permanent failures (5.x.x) suppress the address; temporary ones (4.x.x) are counted,
    and three in different campaigns suppress it; mailto unsubscribes unsubscribe as the
    one-click link does. Handled messages move to the 'processed' folder; everything
    else (auto-replies, people writing in, spam) is left where it is, unread.
    """
    from composer.inbox.run import read_inbox
    from composer.safetext import printable

    obj = ctx.find_object(AppContext)
    assert obj is not None
    report = read_inbox(obj.workspace(), where)
    click.echo(f"Read {report.read:,} message(s) from {printable(report.source)} in {report.elapsed:.1f} s.")
    for kind, n in sorted(report.kinds.items()):
        click.echo(f"  {kind:<34} {n:>7,}")
    if report.already:
        click.echo(f"  {'handled by an earlier run':<34} {report.already:>7,}")
    click.echo(
        f"Handled {report.handled:,} ({report.suppressed:,} address(es) suppressed for bouncing); "
        f"left alone {report.left_alone:,}."
    )
    for line in report.actions if verbose else report.actions[:20]:
        click.echo(f"  - {line}")
    if not verbose and len(report.actions) > 20:
        click.echo(f"  … and {len(report.actions) - 20:,} more (--verbose lists them all)")


@click.command()
@click.argument("bulletin", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Verify against this PEM public key instead of the one published in DNS.",
)  # fmt: skip
@click.pass_context
def dkim(ctx: click.Context, bulletin: Path, public_key: Path | None) -> None:
    """Sign a sample of BULLETIN with [dkim]'s key, verify the signature (against DNS, or
    --public-key), and print the TXT record to publish. Exit 1 if it does not verify."""
    from composer.compose.pipeline import compose_bulletin
    from composer.send.dkim_check import check_dkim

    obj = ctx.find_object(AppContext)
    assert obj is not None
    workspace = obj.workspace()
    result = check_dkim(workspace, compose_bulletin(workspace, bulletin), public_key)
    click.echo(f"Signed a sample of the {result.segment} copy over: {', '.join(result.signed_headers)}.")
    click.echo("Publish this TXT record in DNS:")
    click.echo(f"  {result.record.name}  TXT  \"{result.record.value}\"")
    click.echo(f"  (zone file: {result.record.zone_line()})")
    if result.verification.ok:
        click.secho(f"Verified against {result.verification.where}.", fg="green")
    else:
        click.secho(f"Not verified against {result.verification.where}: {result.verification.detail}", fg="red")
        ctx.exit(1)
