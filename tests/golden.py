"""Golden files a person can review: each segment's MJML, HTML and text, one idea a line.

The HTML that premailer writes is a few lines of 50,000 characters, so a changed word
would show as a whole page changed. `pretty_html` puts a line break before every
block-level tag and changes nothing else: the break is the only thing added, so two
different HTML documents never pretty-print the same, and the test compares the pretty
form of the fresh render with the stored pretty form.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from composer.compose.pipeline import compose_bulletin
from composer.compose.render import SegmentRenderer
from composer.compose.source import load_bulletin
from composer.workspace import load_workspace

SAMPLE = "bulletins/2026-06-gpce.yaml"
SEGMENTS = ("lmc", "practice", "registrar")
PARTS = ("mjml", "html", "txt")
MAX_DIFF_LINES = 80

_BLOCK_TAGS = (
    "html|head|body|title|meta|link|style|table|thead|tbody|tfoot|tr|td|th|div|p|h[1-6]|"
    "ul|ol|li|center|blockquote|hr|br|img|noscript|xml|v:[a-z]+|o:[a-z]+"
)
# Before an opening or closing block tag, an HTML comment or the end of an MSO conditional.
_BREAK = re.compile(rf"(?=<(?:/?(?:{_BLOCK_TAGS})\b|!--|!\[endif\]))", re.IGNORECASE)


def pretty_html(html: str) -> str:
    """`html` with a line break before each block-level tag; nothing removed or reordered."""
    return _BREAK.sub("\n", html)


def golden_parts(root: Path) -> dict[str, str]:
    """File name → reviewable text for every segment of the sample composed in `root`."""
    workspace = load_workspace(root)
    composition = compose_bulletin(workspace, root / SAMPLE)
    renderer = SegmentRenderer(workspace, load_bulletin(workspace, root / SAMPLE))
    parts: dict[str, str] = {}
    for segment in SEGMENTS:
        render = composition.renders[segment]
        parts[f"{segment}.mjml"] = renderer.render_mjml(segment)
        parts[f"{segment}.html"] = pretty_html(render.html)
        parts[f"{segment}.txt"] = render.text
    return parts


def golden_diff(actual: str, path: Path) -> str | None:
    """None when `path` holds `actual`; otherwise a unified diff a person can read."""
    if not path.exists():
        return f"no golden file {path}; run `make golden` and review the diff"
    expected = path.read_text(encoding="utf-8")
    if actual == expected:
        return None
    lines = list(
        difflib.unified_diff(
            expected.splitlines(),
            actual.splitlines(),
            fromfile=f"{path.name} (golden)",
            tofile=f"{path.name} (this render)",
            n=2,
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more diff lines"]
    return (
        f"{path} differs from this render; if the change is intended, run `make golden` and "
        "review `git diff tests/golden`:\n" + "\n".join(lines)
    )
