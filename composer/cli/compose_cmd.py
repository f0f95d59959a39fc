"""`bulletin compose` and `bulletin check`."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from composer.cli import AppContext
from composer.safetext import printable

BULLETIN_ARG = click.argument("bulletin", type=click.Path(dir_okay=False, path_type=Path))


def _print_report(report: object, *, quiet_ok: bool = False) -> None:
    from composer.compose.model import Report

    assert isinstance(report, Report)
    for name, size in report.sizes.items():
        click.echo(f"  {name}: HTML part {size / 1000:.1f} KB encoded (Gmail clips at 102 KB)")
    for finding in report.findings:
        where = []
        if finding.segment:
            where.append(finding.segment)
        if finding.section:
            where.append(f"section {finding.section} ({finding.block})")
        prefix = f"[{', '.join(where)}] " if where else ""
        colour = "red" if finding.severity == "error" else "yellow"
        # Messages quote link text and addresses from the bulletin: print them escaped.
        click.secho(f"  {finding.severity}: {prefix}{printable(finding.message)}", fg=colour)
    if not report.findings and not quiet_ok:
        click.echo("  no problems found")
    click.echo(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")


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
    click.echo(f"Composed {bulletin} for {', '.join(composition.renders)} into {target}/")
    _print_report(composition.report)
    if open_browser:
        first = next(iter(composition.renders))
        webbrowser.open((target / f"{first}.html").resolve().as_uri())


@click.command()
@BULLETIN_ARG
@click.option("--segment", "-s", "segments", multiple=True, help="Check only this segment (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def check(ctx: click.Context, bulletin: Path, segments: tuple[str, ...], as_json: bool) -> None:
    """Compose BULLETIN in memory and run the checks; exit 1 if there are errors."""
    import json

    from composer.compose.pipeline import compose_bulletin

    workspace = ctx.find_object(AppContext).workspace()  # type: ignore[union-attr]
    composition = compose_bulletin(workspace, bulletin, segments or None)
    if as_json:
        click.echo(json.dumps(composition.report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"Checked {bulletin}:")
        _print_report(composition.report)
    if composition.report.errors:
        ctx.exit(1)
