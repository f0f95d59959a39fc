"""The widths Outlook for Windows lays out by, per section: those in MJML's
`<!--[if mso | IE]>` tables, then each picture's cell width and `width` attribute (Word
sizes an image by its attribute, not by CSS)."""

from __future__ import annotations

import re

_MARKER = re.compile(r'<a id="([^"]+)" data-section="\d+"')
_MSO = re.compile(r"<!--\[if mso \| IE\]>(.*?)<!\[endif\]-->", re.S)
_WIDTH = re.compile(r'(?:\bwidth:|\bwidth=")(\d+)(?:px)?')
_PICTURE = re.compile(r'<td\b[^>]*\bstyle="\s*width:\s*(\d+)px;?\s*"[^>]*>\s*(?:<a\b[^>]*>\s*)?<img\b[^>]*?\bwidth="(\d+)"')


def mso_widths(html: str) -> dict[str, list[int]]:
    """{section anchor (or "frame" for the masthead before the first section): widths in order}."""
    body = html[html.find("<body") :]
    parts = _MARKER.split(body)
    chunks = {"frame": parts[0]} | dict(zip(parts[1::2], parts[2::2], strict=True))
    return {anchor: _widths(chunk) for anchor, chunk in chunks.items()}


def _widths(chunk: str) -> list[int]:
    outlook = [int(w) for block in _MSO.findall(chunk) for w in _WIDTH.findall(block)]
    pictures = [int(w) for cell in _PICTURE.findall(_MSO.sub("", chunk)) for w in cell]
    return outlook + pictures
