"""`bulletin report --csv DIR`: one CSV file per table of the report.

Cells are written by `lists.export` (formula-neutralised, atomic, owner-only), so a link
text or a bounce reason that starts with `=` opens in a spreadsheet as text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from composer.errors import InputError, Location
from composer.lists.export import write_csv_atomic


def figure_columns(figures: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """A row of figures flattened: `unsubscribes.one_click`, `opens.unique`, ..."""
    for name, value in figures.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                yield f"{name}.{inner}", v
        elif value is None and name in ("opens", "clicks"):
            yield f"{name}.total", None
        else:
            yield name, value


def tables(report: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The report's tables: name → (header, rows)."""
    rows = [
        ("total", "", report["total"]),
        *(("copy", v["variant"], v) for v in report["variants"]),
        *(("segment", v["segment"], v) for v in report.get("segments", [])),
    ]
    header = ["of", "name", *(name for name, _ in figure_columns(report["total"]))]
    figures = [
        [of, name, *(v for column, v in figure_columns(f) if column not in ("variant", "segment"))]
        for of, name, f in rows
    ]
    reasons = [[kind, r["reason"], r["count"]] for kind, found in report["reasons"].items() for r in found]
    links = [[x["section"], x["text"], x["url"], x["unique"], x["total"]] for x in report["links"]]
    hourly = [[h["hour"], h["start"], h["delivered"], h["opens"], h["machine_opens"], h["clicks"]] for h in report["hourly"]]
    return {
        "figures": (header, figures),
        "reasons": (["kind", "reason", "count"], reasons),
        "links": (["section", "text", "url", "unique_clicks", "total_clicks"], links),
        "hourly": (["hour", "start", "delivered", "opens", "machine_opens", "clicks"], hourly),
    }


def write_csv(report: dict[str, Any], folder: Path) -> list[Path]:
    """Write each table to `folder/<campaign id>-<table>.csv`. Returns the paths."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the folder: {exc.strerror}", Location(file=folder)) from None
    written = []
    for name, (header, rows) in tables(report).items():
        path = folder / f"campaign-{report['campaign']['id']}-{name}.csv"
        write_csv_atomic(path, header, rows)
        written.append(path)
    return written
