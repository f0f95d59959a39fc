"""`bulletin import`: a Word draft into a bulletin source."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from composer.cli import AppContext


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


@click.command(name="import")
@click.argument("draft", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The bulletin to write. Default: bulletins/<draft name>.yaml.")
@click.option("--accept-changes", is_flag=True, help="Accept the draft's tracked changes: insertions kept, deletions removed.")
@click.option("--ignore-comments", is_flag=True, help="Leave the draft's review comments out (audience comments still count).")
@click.option("--force", is_flag=True, help="Replace the bulletin (and its pictures) if they exist.")
@click.pass_context
def import_(ctx: click.Context, draft: Path, out: Path | None, accept_changes: bool, ignore_comments: bool, force: bool) -> None:
    """Turn the Word draft DRAFT (.docx) into a bulletin source built from blocks.

    Each Heading 1/2 starts a section; its block is chosen by the `import:` rules in
    sections/*/block.yaml. A heading ending "[practice, lmc]" or a Word comment
    "audiences: registrar" says who gets the section. A draft with tracked changes or
    comments is refused until they are resolved or the flags say what to do.
    """
    from composer.authoring.importer import import_draft

    workspace = ctx.find_object(AppContext).workspace()  # type: ignore[union-attr]
    result = import_draft(workspace, draft, out, accept_changes, ignore_comments, force)
    if result.accepted:
        click.secho(f"Accepted {result.accepted} tracked change(s): insertions kept, deletions removed.", fg="yellow")
    if ignore_comments:
        click.echo("Review comments were left out (--ignore-comments).")
    click.echo(f"Imported {_shown(draft)} into {_shown(result.out)}:")
    click.echo(_table(result.rows))
    for image in result.images:
        click.echo(f"  picture written to {_shown(image)}")
    for item in result.unplaced:
        click.secho(f"  could not place {item}: add it by hand in the YAML or simplify it in Word", fg="yellow")
    for note in result.notes:
        click.secho(f"  note: {note}", fg="yellow")
    click.echo(f"Next: bulletin preview {_shown(result.out)}")


def _table(rows: Sequence[object]) -> str:
    from composer.authoring.importer import SectionRow

    header = ("#", "heading", "block", "why", "audiences")
    cells = [header] + [
        (str(i), r.heading[:50], r.block, r.why, r.audiences)
        for i, r in enumerate(rows, start=1)
        if isinstance(r, SectionRow)
    ]
    widths = [max(len(c[k]) for c in cells) for k in range(len(header))]
    lines = ["  " + "  ".join(c[k].ljust(widths[k]) for k in range(len(header))).rstrip() for c in cells]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)
