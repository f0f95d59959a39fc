"""`bulletin preview`: a local page that shows the bulletin as it is edited."""

from __future__ import annotations

from pathlib import Path

import click

from composer.cli import AppContext


@click.command()
@click.argument("bulletin", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8025,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback lets other machines see the preview.",
)
@click.option("--no-open", is_flag=True, help="Do not open the preview in a web browser.")
@click.pass_context
def preview(ctx: click.Context, bulletin: Path, port: int, host: str, no_open: bool) -> None:
    """Show BULLETIN in the browser, every segment, recomposed each time a file is saved.

    Press Edit on the page to change the bulletin in forms and save it (on loopback
    only; see docs/EDITOR.md). Watches the bulletin file, the blocks in sections/, the
    layouts, the segments and bulletin.toml. A compose error shows as a banner on the
    page while the last good version stays visible. Stop with Ctrl+C.
    """
    import webbrowser

    from composer.preview.server import build_preview, is_loopback

    app_ctx = ctx.find_object(AppContext)
    assert app_ctx is not None
    workspace = app_ctx.workspace()
    if not is_loopback(host):
        click.secho(
            f"Warning: listening on {host}, not loopback. Anyone who can reach this machine "
            "can open the preview, and a preview can show contact data. The editor is off.",
            fg="yellow",
            err=True,
        )
    server = build_preview(workspace, bulletin, host=host, port=port)
    snapshot = server.state.snapshot()
    click.echo(f"Previewing {server.state.source.label} at {server.url}  (Ctrl+C to stop)")
    if is_loopback(host):
        click.echo("Press Edit on the page to change the bulletin; Save writes the file.")
    if snapshot.error is not None:
        from composer.safetext import printable

        click.secho(f"Compose failed: {printable(snapshot.error.message, keep_newlines=True)}", fg="red", err=True)
        click.echo("The page shows the error; fix it and save, and the preview updates.", err=True)
    if not no_open:
        webbrowser.open(server.url)
    server.serve_forever()
