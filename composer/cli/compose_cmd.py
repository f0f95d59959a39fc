"""`bulletin compose` and `bulletin check`."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from composer.cli import AppContext, output
from composer.errors import display_path
from composer.safetext import printable

BULLETIN_ARG = click.argument("bulletin", type=click.Path(dir_okay=False, path_type=Path))


def _print_report(report: object, *, quiet_ok: bool = False) -> None:
    from composer.compose.model import Report, group_findings

    assert isinstance(report, Report)
    for name, size in report.sizes.items():
        click.echo(f"  {name}: HTML part {size / 1000:.1f} KB encoded (Gmail clips at 102 KB)")
    # Each problem once, with the segments it is in: the same link in a section every
    # segment gets is one line, as the preview and `send` show it.
    grouped = group_findings([*report.errors, *report.warnings])
    for group in grouped:
        finding = group.finding
        colour = "red" if finding.severity == "error" else "yellow"
        # Messages quote link text and addresses from the bulletin: print them escaped.
        click.secho(f"  {finding.severity}: {printable(group.label())}", fg=colour)
    if not report.findings and not quiet_ok:
        click.echo("  no problems found")
    errors = sum(1 for g in grouped if g.finding.severity == "error")
    click.echo(f"{output.count(errors, 'error')}, {output.count(len(grouped) - errors, 'warning')}")


@click.command()
@BULLETIN_ARG
@click.option("--segment", "-s", "segments", multiple=True, help="Compose only this segment (repeatable). Default: every segment of the bulletin.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output folder. Default: out/<bulletin file stem>/.")
@click.option("--open", "open_browser", is_flag=True, help="Open the first segment's HTML in a browser afterwards.")
@click.pass_context
def compose(ctx: click.Context, bulletin: Path, segments: tuple[str, ...], out_dir: Path | None, open_browser: bool) -> None:
    """Compose BULLETIN into HTML, text and .eml per segment, plus archive.html and report.json."""
    from composer.compose.pipeline import compose_bulletin, default_out_dir, write_outputs

    workspace = ctx.find_object(AppContext).workspace()  # type: ignore[union-attr]
    composition = compose_bulletin(workspace, bulletin, segments or None)
    target = out_dir or default_out_dir(workspace, bulletin)
    write_outputs(workspace, composition, target)
    shown = display_path(target, Path(workspace.root))
    click.echo(f"Composed {display_path(bulletin, Path(workspace.root))} for {', '.join(composition.renders)} into {shown}/")
    _print_report(composition.report)
    if open_browser:
        first = next(iter(composition.renders))
        webbrowser.open((target / f"{first}.html").resolve().as_uri())
    if composition.report.errors:
        # The files are there to look at, but this bulletin must not go out as it is.
        click.secho(
            f"The outputs in {shown}/ are written for inspection only: fix the errors above "
            "before sending (send refuses a bulletin with errors).",
            fg="red", err=True,
        )
        ctx.exit(1)


@click.command()
@BULLETIN_ARG
@click.option("--segment", "-s", "segments", multiple=True, help="Check only this segment (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (or, when the bulletin cannot be read, every problem as JSON, exit 2).")
@click.pass_context
def check(ctx: click.Context, bulletin: Path, segments: tuple[str, ...], as_json: bool) -> None:
    """Compose BULLETIN in memory and run the checks; exit 1 if there are errors."""
    import json

    from composer.compose.pipeline import compose_bulletin
    from composer.errors import InputError, InputErrors

    workspace = ctx.find_object(AppContext).workspace()  # type: ignore[union-attr]
    try:
        composition = compose_bulletin(workspace, bulletin, segments or None)
    except InputError as exc:
        if not as_json:
            raise
        # A tool (the editor, CI) reads every problem as data: message, file, line, field.
        problems = exc.errors if isinstance(exc, InputErrors) else (exc,)
        root = Path(workspace.root)
        click.echo(json.dumps({"problems": [e.as_data(root) for e in problems]}, indent=2, ensure_ascii=False))
        ctx.exit(exc.exit_code)
    if as_json:
        click.echo(json.dumps(composition.report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"Checked {display_path(bulletin, Path(workspace.root))}:")
        _print_report(composition.report)
    if composition.report.errors:
        ctx.exit(1)
