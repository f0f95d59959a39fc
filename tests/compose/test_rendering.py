"""The June sample as mail clients see it: doctype, Outlook widths, preheader, images, size."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from composer.compose.model import Composition
from composer.compose.pipeline import compose_bulletin
from tests.compose.mso import mso_widths

SAMPLE = Path("bulletins/2026-06-gpce.yaml")
DATA = Path(__file__).parent / "data"
OFFICIAL_MSO = json.loads((DATA / "official_mso_widths.json").read_text(encoding="utf-8"))
EVERY_BLOCK = DATA / "every_block.yaml"


@pytest.fixture
def june(workspace, workspace_dir: Path) -> Composition:  # type: ignore[no-untyped-def]
    return compose_bulletin(workspace, workspace_dir / SAMPLE)


def _documents(comp: Composition) -> dict[str, str]:
    return {**{name: r.html for name, r in comp.renders.items()}, "archive": comp.archive_html}


def test_every_segment_and_the_archive_start_with_a_doctype(june: Composition) -> None:
    for name, html in _documents(june).items():
        assert html.lower().startswith("<!doctype html>"), f"{name} has no doctype: quirks mode"


def _assert_outlook_widths(documents: dict[str, str], official: dict[str, dict[str, list[int]]]) -> None:
    singles = {name for name in documents if "+" not in name}
    assert singles == set(official)
    # A combination (lmc+practice) holds its segments' sections: each block's widths are
    # the ones official MJML gave that block in a single segment's copy.
    by_anchor = {anchor: widths for recorded in official.values() for anchor, widths in recorded.items()}
    for name, html in documents.items():
        ours = mso_widths(html)
        expected = official[name] if name in official else {a: by_anchor[a] for a in ours}
        assert set(ours) == set(expected), name
        for anchor, widths in expected.items():
            assert ours[anchor] == widths, f"{name} {anchor}: Outlook widths {ours[anchor]}, official MJML {widths}"


def test_outlook_widths_equal_official_mjml_for_every_block(june: Composition) -> None:
    """bench/official_mso_widths.py recorded these from official MJML 4.18 on node."""
    _assert_outlook_widths(_documents(june), OFFICIAL_MSO["2026-06-gpce"])


def test_outlook_widths_of_the_shapes_the_sample_lacks(workspace, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Pictures narrow and full width, a petition's demands without a closing, ...
    (tests/compose/data/every_block.yaml), against official MJML's widths."""
    path = workspace_dir / "bulletins" / EVERY_BLOCK.name
    shutil.copy2(EVERY_BLOCK, path)
    comp = compose_bulletin(workspace, path)
    assert [w for widths in mso_widths(comp.renders["lmc"].html).values() for w in widths].count(300) == 2
    _assert_outlook_widths(_documents(comp), OFFICIAL_MSO["every_block"])


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


def _contrast(a: str, b: str) -> float:
    def lum(hex_colour: str) -> float:
        rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_light_scheme_declared_and_masthead_and_buttons_outlined(june: Composition) -> None:
    """Forced dark mode darkens the page but keeps navy: an outline keeps them apart."""
    import re

    for name, html in _documents(june).items():
        head = html[: html.find("<body")]
        assert '<meta name="color-scheme" content="light"' in head, name
        assert '<meta name="supported-color-schemes" content="light"' in head, name
        buttons = re.findall(r'bgcolor="#1b2a4a" role="presentation" valign="middle" style="border:2px solid (#[0-9a-f]{6})', html)
        masthead = re.findall(r'border-bottom:4px solid #f0b323;border-top:2px solid (#[0-9a-f]{6})', html)
        assert masthead, f"{name}: masthead has no outline"
        assert buttons, f"{name}: buttons have no outline"
        for outline in {*buttons, *masthead}:
            assert _contrast(outline, "#1b2a4a") >= 3 and _contrast(outline, "#121212") >= 3, outline


def test_images_and_buttons_carry_only_valid_attributes(june: Composition) -> None:
    import re

    documents = _documents(june)
    assert re.search(r"<img\b", documents["lmc"]), "the sample's lmc copy has a picture"
    for name, html in documents.items():
        for img in re.findall(r"<img\b[^>]*>", html):
            assert 'height="auto"' not in img, img
            style = re.search(r'style="([^"]*)"', img).group(1)  # type: ignore[union-attr]
            assert "font-family:-apple-system" in style and "color:#4a5566" in style, f"unstyled alt text: {img}"
            assert "height:auto" in style, img
        assert not re.search(r'<td\b[^>]* vertical-align="', html), f"{name}: vertical-align attribute on a cell"


BARE_URL = r"\s*(?:>>|•)?\s*[(<]?(?:https?://|mailto:)\S+[)>]?[.,;:]?"


def test_plain_text_lines_fit_78_characters_except_bare_urls(june: Composition) -> None:
    import re

    for name, render in june.renders.items():
        long = [line for line in render.text.splitlines() if len(line) > 78 and not re.fullmatch(BARE_URL, line)]
        assert long == [], f"{name}: lines over 78 characters: {long}"
        for line in render.text.splitlines():
            assert not re.search(r"\S: https?://", line), f"{name}: URL not on its own line: {line!r}"
        assert not re.search(r"^[-=]{79,}$", render.text, re.M), f"{name}: a headline's underline runs past 78"


# Under CI (.ci/run installs it from Debian) a missing spamassassin fails rather than skips.
@pytest.mark.skipif(
    not Path("/usr/bin/spamassassin").exists() and not os.environ.get("CI"),
    reason="needs spamassassin (apt-get install spamassassin; .ci/run does)",
)
def test_spamassassin_scores_every_segment_zero(june: Composition, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import re
    import subprocess

    from composer.compose.pipeline import write_outputs

    write_outputs(workspace, june, tmp_path / "out")
    assert len(june.renders) == 7  # every single segment and combination
    for name in june.renders:
        eml = (tmp_path / "out" / f"{name}.eml").read_bytes()
        report = subprocess.run(["spamassassin", "-L", "-t"], input=eml, capture_output=True, timeout=120, check=False).stdout
        score = re.search(rb"Content analysis details:\s+\((-?[\d.]+) points", report)
        assert score and float(score.group(1)) <= 0.0, report.decode(errors="replace")[-1500:]


HTML_PART_AIM = 60_000  # bytes as encoded; Gmail clips at about 102 KB


def test_every_copy_html_part_is_within_60_kb_as_sent(june: Composition, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The largest copy is a reader's in every segment (lmc+practice+registrar)."""
    import email
    from email import policy

    from composer.compose.mime import encoded_html_size
    from composer.compose.pipeline import write_outputs

    write_outputs(workspace, june, tmp_path / "out")
    sizes = {}
    for name in june.renders:
        message = email.message_from_bytes((tmp_path / "out" / f"{name}.eml").read_bytes(), policy=policy.SMTP)
        sizes[name] = encoded_html_size(message)  # type: ignore[arg-type]
        assert sizes[name] == june.report.sizes[name], name
    assert len(sizes) == 7 and "lmc+practice+registrar" in sizes
    over = {name: size for name, size in sizes.items() if size > HTML_PART_AIM}
    assert over == {}, f"HTML parts over {HTML_PART_AIM:,} bytes encoded: {over}"
