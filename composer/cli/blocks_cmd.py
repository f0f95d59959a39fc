"""`bulletin blocks` (the catalogue) and `bulletin new` (the next issue)."""

from __future__ import annotations

from pathlib import Path

import click

from composer.cli import AppContext


@click.command()
@click.argument("name", required=False)
@click.pass_context
def blocks(ctx: click.Context, name: str | None) -> None:
    """List the blocks a bulletin can use; with NAME, its fields and an example."""
    from composer.authoring.catalogue import describe, load_all, one_line
    from composer.compose.blocks import load_block

    workspace = ctx.find_object(AppContext).workspace()  # type: ignore[union-attr]
    if name:
        click.echo(describe(load_block(workspace.sections_dir, name, workspace.sender.timezone)))
        return
    specs = load_all(workspace.sections_dir)
    width = max(len(s.name) for s in specs)
    for spec in specs:
        click.echo(f"{spec.name.ljust(width)}  {one_line(spec)}")
    click.echo("\n`bulletin blocks NAME` shows a block's fields and an example.")


@click.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "source", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path), help="The issue to copy the structure of.")
@click.option("--force", is_flag=True, help="Replace TARGET if it exists.")
@click.pass_context
def new(ctx: click.Context, target: Path, source: Path, force: bool) -> None:
    """Start the next issue TARGET from the last one: same sections, standing ones kept.

    Every other section's text, dates and links become FILL IN placeholders that
    `bulletin check` reports as errors until they are filled in.
    """
    from composer.authoring.next_issue import new_issue

    workspace = ctx.find_object(AppContext).workspace()  # type: ignore[union-attr]
    written = new_issue(workspace, target, source, force)
    click.echo(f"Wrote {written} from {source}: fill in every FILL IN, then `bulletin check {written}`.")
