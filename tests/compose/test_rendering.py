"""The June sample as mail clients see it: doctype, Outlook widths, preheader, images, size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from composer.compose.model import Composition
from composer.compose.pipeline import compose_bulletin
from tests.compose.mso import mso_widths

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
OFFICIAL_MSO = json.loads((Path(__file__).parent / "data" / "official_mso_widths.json").read_text(encoding="utf-8"))


@pytest.fixture
def june(workspace, workspace_dir: Path) -> Composition:  # type: ignore[no-untyped-def]
    return compose_bulletin(workspace, workspace_dir / SAMPLE)


def _documents(comp: Composition) -> dict[str, str]:
    return {**{name: r.html for name, r in comp.renders.items()}, "archive": comp.archive_html}


def test_every_segment_and_the_archive_start_with_a_doctype(june: Composition) -> None:
    for name, html in _documents(june).items():
        assert html.lower().startswith("<!doctype html>"), f"{name} has no doctype: quirks mode"


def test_outlook_widths_equal_official_mjml_for_every_block(june: Composition) -> None:
    """bench/official_mso_widths.py recorded these from official MJML 4 on node."""
    documents = _documents(june)
    assert set(documents) == set(OFFICIAL_MSO)
    for name, html in documents.items():
        ours = mso_widths(html)
        assert set(ours) == set(OFFICIAL_MSO[name]), name
        for anchor, widths in OFFICIAL_MSO[name].items():
            assert ours[anchor] == widths, f"{name} {anchor}: Outlook widths {ours[anchor]}, official MJML {widths}"


def _preheader_div(html: str) -> str:
    body = html[html.find("<body") :]
    start = body.find('<div style="display:none')
    return body[start : body.find("</div>", start)]


def test_preheader_is_hidden_in_body_colour_with_filler(june: Composition) -> None:
    for name, render in june.renders.items():
        div = _preheader_div(render.html)
        assert render.preheader in div, name
        assert "color:#4a5566" in div and "#ffffff" not in div, f"{name}: low-contrast preheader (HTML_FONT_LOW_CONTRAST)"
        filler = div.split(render.preheader, 1)[1]
        assert filler.count("\u034f\u200c\u00a0") >= 50, f"{name}: no filler after the preheader"
