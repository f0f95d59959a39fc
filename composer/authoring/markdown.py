"""A draft paragraph as the bulletin's Markdown: bold, italic and links kept."""

from __future__ import annotations

import re

from composer.authoring.docx_read import Para, Span

_SPECIAL = re.compile(r"([\\`*\[\]<>])")
_LEADING = re.compile(r"^(#+\s|[-+]\s|\d+[.)]\s|>)")


def escape(text: str) -> str:
    """Text that Markdown shows as written."""
    text = _SPECIAL.sub(r"\\\1", text)
    return _LEADING.sub(lambda m: "\\" + m[0], text)


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in spans:
        if merged and (merged[-1].bold, merged[-1].italic, merged[-1].href) == (span.bold, span.italic, span.href):
            last = merged[-1]
            merged[-1] = Span(last.text + span.text, last.bold, last.italic, last.href)
        else:
            merged.append(span)
    return merged


def _emphasis(text: str, bold: bool, italic: bool) -> str:
    core = text.strip()
    if not core or not (bold or italic):
        return text
    mark = ("**" if bold else "") + ("*" if italic else "")
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{mark}{core}{mark[::-1]}{trail}"


def _link(text: str, url: str) -> str:
    label = text.strip()
    bare = url[7:] if url.lower().startswith("mailto:") else url
    if label in (url, bare):
        return f"<{bare}>"
    return f"[{escape(label)}]({url.replace(' ', '%20').replace(')', '%29')})"


def to_markdown(para: Para) -> str:
    """The paragraph's words as Markdown, on one line."""
    out: list[str] = []
    for span in _merge(para.spans):
        if span.href:
            lead = span.text[: len(span.text) - len(span.text.lstrip())]
            trail = span.text[len(span.text.rstrip()) :]
            out.append(lead + _emphasis(_link(span.text, span.href), span.bold, span.italic) + trail)
        else:
            out.append(_emphasis(escape(span.text), span.bold, span.italic))
    return re.sub(r"\s+", " ", "".join(out)).strip()
