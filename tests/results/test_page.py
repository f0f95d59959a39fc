"""The printable HTML report: a golden file, self-contained, and escaped."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

from composer.results.page import render, write_html

GOLDEN = Path(__file__).parent.parent / "golden" / "report"


def _report() -> dict:  # type: ignore[type-arg]
    return json.loads((GOLDEN / "report.json").read_text(encoding="utf-8"))


def test_the_page_matches_its_golden_file(update_golden: bool) -> None:
    page = render(_report())
    target = GOLDEN / "report.html"
    if update_golden:
        target.write_text(page, encoding="utf-8")
    expected = target.read_text(encoding="utf-8")
    diff = "\n".join(difflib.unified_diff(expected.splitlines(), page.splitlines(), "golden", "now", lineterm="", n=1))
    assert page == expected, f"the report page changed (make golden rewrites it after review):\n{diff[:6000]}"


def test_the_page_loads_nothing_from_elsewhere_and_prints() -> None:
    page = render(_report())
    assert not re.search(r"<script|<link|<img|@import|url\(", page)
    assert not re.search(r'(src|href)="https?:', page)  # links are shown as text, not loaded
    assert page.count("<svg") == 3  # outcomes, links, the first 72 hours
    assert "@media print" in page
    assert "Invalid Address · 5.1.1" in page


def test_text_from_the_bulletin_and_providers_is_escaped(tmp_path: Path) -> None:
    report = _report()
    report["links"][0]["text"] = '<script>alert("x")</script>'
    report["reasons"]["bounced"][0]["reason"] = "550 <b>bold</b>"
    written = write_html(report, tmp_path / "report.html")
    page = written.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;bold" in page
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
