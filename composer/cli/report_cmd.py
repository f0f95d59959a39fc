"""`bulletin report CAMPAIGN`: thin over composer.results."""

from __future__ import annotations

import json
from pathlib import Path

import click

from composer.cli import AppContext


@click.command()
@click.argument("campaign_id", metavar="CAMPAIGN")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (the schema is in docs/REPORT.md).")
@click.option(
    "--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
    help="Also write one CSV file per table into DIR (cells safe to open in a spreadsheet).",
)  # fmt: skip
@click.option(
    "--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
    help="Also write the report as one self-contained, printable HTML page with charts.",
)  # fmt: skip
@click.pass_context
def report(ctx: click.Context, campaign_id: str, as_json: bool, csv_dir: Path | None, html_file: Path | None) -> None:
    """What happened after campaign CAMPAIGN (an id, or a bulletin key for its latest
    campaign): delivered, bounced, unsubscribed, spam reports, and opens and clicks per
    link when they are tracked, per copy and in total."""
    from composer.results.report import campaign_report

    app = ctx.find_object(AppContext)
    assert app is not None
    found = campaign_report(app.workspace(), campaign_id)
    if csv_dir is not None:
        from composer.results.tables import write_csv

        for path in write_csv(found, csv_dir):
            click.echo(f"Wrote {path}", err=as_json)
    if html_file is not None:
        from composer.results.page import write_html

        click.echo(f"Wrote {write_html(found, html_file)}", err=as_json)
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    from composer.results.terminal import show

    show(found)
