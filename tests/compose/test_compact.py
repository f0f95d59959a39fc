"""compact_html: fewer bytes, the same document. Checked on the June sample's largest copy,
by what it removes and by Chromium drawing it pixel for pixel as before, at 600 and 375 px."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from composer.compose.compact import compact_html
from composer.compose.inline import inline_css
from composer.compose.mime import encoded_size
from composer.compose.render import SegmentRenderer, finish_html
from composer.compose.source import load_bulletin
from tests.browser import NEEDS_CHROMIUM, chromium

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
LARGEST = ("lmc", "practice", "registrar")


@pytest.fixture
def before_and_after(workspace, workspace_dir: Path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The largest copy as finish_html leaves it, and compacted."""
    renderer = SegmentRenderer(workspace, load_bulletin(workspace, workspace_dir / SAMPLE))
    mjml, _ = renderer._render_document(renderer.bulletin.sections_for_audience(LARGEST), LARGEST)
    before = finish_html(inline_css(renderer._mjml_to_html(mjml, "largest")), renderer.theme)
    assert compact_html(before) == renderer.render_variant(LARGEST).html
    return before, compact_html(before)


def test_adjacent_outlook_blocks_are_joined_as_official_mjml_does(before_and_after: tuple[str, str]) -> None:
    before, after = before_and_after
    assert "<![endif]--><!--[if mso | IE]>" in before
    assert not re.search(r"<!\[endif\]-->\s*<!--\[if mso \| IE\]>", after)
    inside = re.compile(r"<!--\[if mso \| IE\]>(.*?)<!\[endif\]-->", re.S)
    assert "".join(inside.findall(after)) == "".join(inside.findall(before))  # Outlook reads the same


def test_only_spaces_in_style_and_head_css_go(before_and_after: tuple[str, str]) -> None:
    before, after = before_and_after
    assert "; " in "\n".join(re.findall(r' style="([^"]*)"', before))
    assert "; " not in "\n".join(re.findall(r' style="([^"]*)"', after))
    unstyled = re.compile(r' style="[^"]*"|<style\b.*?</style>|<!\[endif\]--><!--\[if mso \| IE\]>', re.S)
    assert unstyled.sub("", after) == unstyled.sub("", before)  # text and every other attribute as they were
    assert encoded_size(before) - encoded_size(after) > 1000


def test_words_that_look_like_css_are_left_alone() -> None:
    html = '<p style="margin: 0; color: #1a1a1a">Write style="a; b" and a, b: c</p><p>{ x ; }</p>'
    assert compact_html(html) == '<p style="margin:0;color:#1a1a1a">Write style="a; b" and a, b: c</p><p>{ x ; }</p>'


@pytest.mark.browser
@NEEDS_CHROMIUM
def test_chromium_draws_the_compacted_copy_pixel_for_pixel(before_and_after: tuple[str, str], tmp_path: Path) -> None:
    shots: dict[tuple[str, int], bytes] = {}
    with chromium() as browser:
        for width in (600, 375):
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.route("**/*", lambda route: _local_only(route))
            page = context.new_page()
            for label, html in zip(("before", "after"), before_and_after, strict=True):
                path = tmp_path / f"{label}.html"
                path.write_text(html, encoding="utf-8")
                page.goto(path.as_uri())
                shots[label, width] = page.screenshot(full_page=True)
            context.close()
    for width in (600, 375):
        before, after = (Image.open(io.BytesIO(shots[label, width])).convert("RGB") for label in ("before", "after"))
        assert before.size == after.size and before.tobytes() == after.tobytes(), f"compact_html changed the drawing at {width} px"


def _local_only(route: Any) -> None:
    if route.request.url.startswith("file://"):
        route.continue_()
    else:
        route.abort()
