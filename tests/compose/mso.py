"""The widths Outlook for Windows sees: those in MJML's `<!--[if mso | IE]>` tables, per section."""

from __future__ import annotations

import re

_MARKER = re.compile(r'<a id="([^"]+)" data-section="\d+"')
_MSO = re.compile(r"<!--\[if mso \| IE\]>(.*?)<!\[endif\]-->", re.S)
_WIDTH = re.compile(r'(?:\bwidth:|\bwidth=")(\d+)(?:px)?')


def mso_widths(html: str) -> dict[str, list[int]]:
    """{section anchor (or "frame" for the masthead before the first section): widths in order}."""
    body = html[html.find("<body") :]
    parts = _MARKER.split(body)
    chunks = {"frame": parts[0]} | dict(zip(parts[1::2], parts[2::2], strict=True))
    return {
        anchor: [int(w) for block in _MSO.findall(chunk) for w in _WIDTH.findall(block)]
        for anchor, chunk in chunks.items()
    }
