"""`bulletin report` in the terminal: rich tables drawn from the report dict."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from composer.safetext import printable

# (label, how to read it from a row of figures)
ROWS: tuple[tuple[str, Any], ...] = (
    ("Frozen (recipients)", lambda f: f["frozen"]),
    ("Sent", lambda f: f["sent"]),
    ("Failed", lambda f: f["failed"]),
    ("Unknown", lambda f: f["unknown"]),
    ("Processed", lambda f: f["processed"]),
    ("Delivered", lambda f: f["delivered"]),
    ("Deferred, still trying", lambda f: f["deferred"]),
    ("Deferred > 72 h (failed)", lambda f: f["deferred_failed"]),
    ("Bounced", lambda f: f["bounced"]),
    ("Blocked", lambda f: f["blocked"]),
    ("Dropped", lambda f: f["dropped"]),
    ("Spam reports", lambda f: f["spam_reports"]),
    ("Spam rate (Gmail: < 0.3%)", lambda f: _pct(f["spam_rate"]) + (" ⚠" if f["spam_over_gmail_line"] else "")),
    ("Unsub: one-click", lambda f: f["unsubscribes"]["one_click"]),
    ("Unsub: footer page", lambda f: f["unsubscribes"]["page"]),
    ("Unsub: SendGrid", lambda f: f["unsubscribes"]["sendgrid"]),
    ("Unsubscribe rate", lambda f: _pct(f["unsubscribe_rate"])),
)
OPEN_ROWS: tuple[tuple[str, Any], ...] = (
    ("Unique opens", lambda f: _maybe(f["opens"]["unique"])),
    ("Open rate (no machine)", lambda f: _pct(f["opens"]["rate"])),
    ("Opens (all)", lambda f: f["opens"]["total"]),
    ("Apple machine opens", lambda f: f["opens"]["machine"]),
)
CLICK_ROWS: tuple[tuple[str, Any], ...] = (
    ("Unique clickers", lambda f: _maybe(f["clicks"]["unique"])),
    ("Click rate", lambda f: _pct(f["clicks"]["rate"])),
    ("Clicks (all)", lambda f: f["clicks"]["total"]),
)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}%"


def _maybe(value: int | None) -> str:
    return "not kept" if value is None else f"{value:,}"


def _cell(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def show(report: dict[str, Any], console: Console | None = None) -> None:
    """Print the report: the figures per copy, reasons, links, the first 72 h, the webhook."""
    console = console or Console(highlight=False)
    c = report["campaign"]
    console.print(f"[bold]Campaign #{c['id']}: {printable(c['key'])}[/bold]  {printable(c['subject'])}")
    console.print(f"  Sent via {c['transport']}, started {c['started_at']}; tracking: {tracking_words(report['tracking'])}")
    console.print(figures_table(report))
    if c["transport"] != "sendgrid":
        console.print(
            f"[dim]Sent via {c['transport']}: no provider reports delivery, bounces or spam for it; "
            "those figures come from SendGrid's Event Webhook.[/dim]"
        )
    for kind, title in (("bounced", "Top bounce reasons"), ("blocked", "Top block reasons"), ("dropped", "Drop reasons")):
        reasons = report["reasons"][kind]
        if reasons:
            console.print(f"[bold]{title}[/bold]")
            for r in reasons:
                console.print(f"  {r['count']:>6,}  {printable(r['reason'])}")
    if report["links"]:
        console.print(links_table(report))
    console.print(hourly_line(report))
    hook = report["webhook"]
    console.print(f"Webhook: last event received {hook['last_event_at'] or 'never'}; for this campaign {hook['last_campaign_event_at'] or 'none yet'}")
    if hook["warning"]:
        console.print(f"[yellow]Warning: {hook['warning']}[/yellow]")


def tracking_words(tracking: dict[str, bool]) -> str:
    """What was tracked, in words."""
    on = [name for name in ("opens", "clicks") if tracking[name]]
    if not on:
        return "no opens or clicks (no pixel, links go straight to their sites)"
    who = "per person" if tracking["per_person"] else "counted only, not who"
    return " and ".join(on) + f" ({who})"


def figures_table(report: dict[str, Any]) -> Table:
    table = Table(title="Results", title_justify="left")
    table.add_column("", no_wrap=True)
    columns = [(v["variant"], v) for v in report["variants"]] if len(report["variants"]) > 1 else []
    for name, _ in columns:
        table.add_column(printable(name), justify="right", overflow="fold")
    table.add_column("Total", justify="right", style="bold")
    rows = list(ROWS)
    if report["total"]["opens"] is not None:
        rows += OPEN_ROWS
    if report["total"]["clicks"] is not None:
        rows += CLICK_ROWS
    for label, read in rows:
        table.add_row(label, *(_cell(read(f)) for _, f in columns), _cell(read(report["total"])))
    return table


def links_table(report: dict[str, Any]) -> Table:
    table = Table(title="Clicks per link", title_justify="left")
    for name, justify in (("Section", "left"), ("Link", "left"), ("Unique", "right"), ("All", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for link in report["links"]:
        label = printable(link["text"] or link["url"])
        if link["text"] and link["url"]:
            label += f"\n[dim]{printable(link['url'])}[/dim]"
        table.add_row(printable(link["section"]), label, _maybe(link["unique"]), f"{link['total']:,}")
    return table


def hourly_line(report: dict[str, Any]) -> str:
    """The first 72 hours in one line per measure, 6-hour steps."""
    hours = report["hourly"]
    lines = ["First 72 hours (per 6 hours from the send):"]
    for name in ("delivered", "opens", "clicks"):
        steps = [sum(h[name] for h in hours[i:i + 6]) for i in range(0, len(hours), 6)]
        if any(steps):
            lines.append(f"  {name:<10}" + " ".join(f"{n:>6,}" for n in steps))
    if len(lines) == 1:
        lines.append("  no delivery, open or click events yet")
    return "\n".join(lines)
