"""`bulletin report --html FILE`: the report as one self-contained, printable page.

No scripts, fonts, pictures or styles from elsewhere: the charts are inline SVG and the
styles inline, so the file can be attached to a committee paper and printed as it is.
The markup is written one element a line, so that a golden test reads as a diff.
"""

from __future__ import annotations

import os
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from composer.errors import InputError, Location
from composer.results.terminal import CLICK_ROWS, OPEN_ROWS, ROWS, _cell, _maybe, tracking_words

STYLE = """
body { font-family: Arial, Helvetica, sans-serif; color: #1a1a1a; margin: 2em; max-width: 60em; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.1em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e3e3e3; text-align: right; }
th:first-child, td:first-child, .text { text-align: left; }
.muted { color: #5c5c5c; font-size: 0.9em; }
.warning { border: 2px solid #b35900; padding: 0.5em; color: #7a3d00; }
svg text { font-family: Arial, Helvetica, sans-serif; font-size: 11px; }
@media print { body { margin: 0; } h2 { break-after: avoid; } table, svg { break-inside: avoid; } }
"""
BAR_COLOURS = ("#005eb8", "#41b6e6", "#768692")
OUTCOMES = (
    ("Delivered", "delivered"), ("Deferred", "deferred"), ("Bounced", "bounced"), ("Blocked", "blocked"),
    ("Dropped", "dropped"), ("Spam reports", "spam_reports"),
)  # fmt: skip


def render(report: dict[str, Any]) -> str:
    """The page, as text."""
    c = report["campaign"]
    title = f"Campaign #{c['id']}: {c['key']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        f'<p>{escape(c["subject"])}</p>',
        f'<p class="muted">Sent via {escape(c["transport"])}, started {escape(c["started_at"] or "")}. '
        f"Tracking: {escape(tracking_words(report['tracking']))}. Report made {escape(report['generated_at'])}.</p>",
    ]
    if report["webhook"]["warning"]:
        parts.append(f'<p class="warning">{escape(report["webhook"]["warning"])}</p>')
    parts += _figures(report)
    parts += ["<h2>Outcomes</h2>", *_bars([(label, report["total"][key]) for label, key in OUTCOMES])]
    parts += _reasons(report)
    parts += _links(report)
    parts += _hourly(report)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _figures(report: dict[str, Any]) -> list[str]:
    variants = report["variants"] if len(report["variants"]) > 1 else []
    rows = list(ROWS) + (list(OPEN_ROWS) if report["total"]["opens"] else []) + (list(CLICK_ROWS) if report["total"]["clicks"] else [])
    out = ["<h2>Figures</h2>", "<table>", "<tr><th></th>" + "".join(f"<th>{escape(v['variant'])}</th>" for v in variants) + "<th>Total</th></tr>"]
    for label, read in rows:
        cells = "".join(f"<td>{escape(_cell(read(v)))}</td>" for v in variants)
        out.append(f"<tr><td>{escape(label)}</td>{cells}<td><b>{escape(_cell(read(report['total'])))}</b></td></tr>")
    out.append("</table>")
    return out


def _reasons(report: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for kind, title in (("bounced", "Top bounce reasons"), ("blocked", "Top block reasons"), ("dropped", "Drop reasons")):
        if report["reasons"][kind]:
            out += [f"<h2>{title}</h2>", "<table>", "<tr><th>Reason</th><th>Events</th></tr>"]
            out += [f"<tr><td>{escape(r['reason'])}</td><td>{r['count']:,}</td></tr>" for r in report["reasons"][kind]]
            out.append("</table>")
    return out


def _links(report: dict[str, Any]) -> list[str]:
    if not report["links"]:
        return []
    out = ["<h2>Clicks per link</h2>", "<table>", '<tr><th>Section</th><th class="text">Link</th><th>Unique</th><th>All</th></tr>']
    for x in report["links"]:
        link = escape(x["text"] or x["url"]) + (f'<br><span class="muted">{escape(x["url"])}</span>' if x["text"] and x["url"] else "")
        out.append(f"<tr><td>{escape(x['section'])}</td><td class=\"text\">{link}</td><td>{escape(_maybe(x['unique']))}</td><td>{x['total']:,}</td></tr>")
    out.append("</table>")
    out += _bars([(x["text"] or x["url"], x["total"]) for x in report["links"][:10]])
    return out


def _bars(items: list[tuple[str, int]]) -> list[str]:
    """A horizontal bar chart in SVG: one labelled bar a line."""
    if not items or not any(n for _, n in items):
        return ['<p class="muted">Nothing to chart yet.</p>']
    top, row, left, width = max(n for _, n in items), 22, 200, 360
    height = row * len(items) + 4
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" role="img">']
    for i, (label, n) in enumerate(items):
        y = i * row + 2
        bar = round(width * n / top, 1) if top else 0
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(label[:34])}</text>')
        out.append(f'<rect x="{left}" y="{y + 3}" width="{bar}" height="14" fill="{BAR_COLOURS[0]}"/>')
        out.append(f'<text x="{left + bar + 4}" y="{y + 14}">{n:,}</text>')
    out.append("</svg>")
    return out


def _hourly(report: dict[str, Any]) -> list[str]:
    """Delivered, opens and clicks per hour for the first 72 hours, as lines."""
    hours = report["hourly"]
    series = [(name, [h[name] for h in hours]) for name in ("delivered", "opens", "clicks")]
    series = [(name, values) for name, values in series if any(values)]
    out = ["<h2>The first 72 hours</h2>"]
    if not series:
        return [*out, '<p class="muted">No delivery, open or click events yet.</p>']
    top = max(max(values) for _, values in series)
    left, width, height = 40, 576, 160
    out.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 100}" height="{height + 30}" role="img">')
    out.append(f'<line x1="{left}" y1="{height}" x2="{left + width}" y2="{height}" stroke="#999"/>')
    for h in range(0, 73, 12):
        out.append(f'<text x="{left + h * width / 72:.0f}" y="{height + 16}" text-anchor="middle">{h} h</text>')
    out.append(f'<text x="{left - 4}" y="12" text-anchor="end">{top:,}</text>')
    for i, (name, values) in enumerate(series):
        xy = [f"{left + (h + 0.5) * width / 72:.1f},{height - height * n / top:.1f}" for h, n in enumerate(values)]
        points = "\n".join(" ".join(xy[j:j + 12]) for j in range(0, len(xy), 12))  # 12 hours a line
        out.append(f'<polyline fill="none" stroke="{BAR_COLOURS[i]}" stroke-width="2" points="{points}"/>')
        out.append(f'<text x="{left + width + 8}" y="{16 + i * 16}" fill="{BAR_COLOURS[i]}">{name}</text>')
    out.append("</svg>")
    return out


def write_html(report: dict[str, Any], target: Path) -> Path:
    """Write the page to `target` through a temporary file and a rename."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InputError(f"cannot write beside this file: {exc.strerror}", Location(file=target)) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render(report))
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
