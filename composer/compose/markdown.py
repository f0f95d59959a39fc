"""Markdown in text fields, rendered twice: to HTML for the email and to plain text.

The plain text is written from the Markdown itself, not scraped from the HTML, so links
come out as `text (url)` and lists keep their bullets.
"""

from __future__ import annotations

import re
import textwrap
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from composer.compose.merge import MERGE_FIELDS, WRITER_FIELD, Part

_PLACEHOLDER = re.compile(r"(?:%%|%25%25)BT\.([a-z_]+)\.X(?:%%|%25%25)")


@cache
def _parser() -> MarkdownIt:
    # Raw HTML is off: staff paste from Word, and we want what they wrote, not markup.
    return MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


@cache
def _inspecting_parser() -> MarkdownIt:
    # The same grammar, but keeping every link: the renderer quietly drops file:,
    # javascript: and most data: URLs, and the checks must see what staff wrote.
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


def image_sources(source: str) -> list[str]:
    """The src of every image written in the Markdown `source`, as written."""
    sources: list[str] = []
    stack = list(_inspecting_parser().parse(source))
    while stack:
        token = stack.pop(0)
        if token.type == "image":
            sources.append(str(token.attrGet("src") or ""))
        stack[:0] = token.children or []
    return sources


def protect_merge_fields(source: str) -> str:
    """Turn `{{ first_name }}` into a placeholder that Markdown leaves alone.

    Unknown names are left as written; the checks report them.
    """

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"%%BT.{name}.X%%" if name in MERGE_FIELDS else match.group(0)

    return WRITER_FIELD.sub(repl, source)


def finish_merge_fields(rendered: str, part: Part) -> str:
    """Placeholders → the token for `part` (also undoing Markdown's URL-encoding of them)."""
    suffix = "h" if part == "html" else "t"
    return _PLACEHOLDER.sub(lambda m: f"%%BT.{m.group(1)}.{suffix}%%", rendered)


def plain_with_merge(source: str, part: Part) -> str:
    """A plain string field with merge fields turned into tokens (no Markdown)."""
    return finish_merge_fields(protect_merge_fields(source), part)


@cache
def to_html(source: str) -> str:
    """Markdown → HTML fragment, merge fields as HTML tokens."""
    html = _parser().render(protect_merge_fields(source))
    return finish_merge_fields(html, "html").strip()


def to_inline_html(source: str) -> str:
    """Markdown for one line (no wrapping <p>)."""
    html = _parser().renderInline(protect_merge_fields(source))
    return finish_merge_fields(html, "html").strip()


# Plain-text lines stay within 78 characters (RFC 5322 2.1.1's SHOULD). Only a URL too
# long to fit may run past it, on a line of its own, so it is never broken.
TEXT_WIDTH = 78


@cache
def to_text(source: str, width: int = TEXT_WIDTH) -> str:
    """Markdown → plain text with links written out, wrapped at `width`."""
    tokens = _parser().parse(protect_merge_fields(source))
    text = _TextWriter(width).render(tokens)
    return finish_merge_fields(text, "text")


def wrap(text: str, width: int = TEXT_WIDTH, prefix: str = "", subsequent: str | None = None) -> str:
    """Wrap one paragraph without breaking URLs or tokens."""
    return textwrap.fill(
        " ".join(text.split()),
        width=width,
        initial_indent=prefix,
        subsequent_indent=prefix if subsequent is None else subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def heading(text: str, rule: str = "-") -> str:
    """A headline wrapped to the width, underlined as far as its longest line."""
    lines = wrap(text).split("\n")
    return "\n".join(lines) + "\n" + rule * max(len(line) for line in lines)


def link_text(label: str, url: str, marker: str = "") -> str:
    """A link's words (after `marker`, hanging under it), then its URL on a line of its own."""
    hang = " " * len(marker)
    return wrap(label, TEXT_WIDTH, marker, hang) + "\n" + hang + url


def indent_text(text: str, prefix: str, first: str | None = None) -> str:
    """Indent plain text by `prefix` (the first line by `first`), re-wrapping any paragraph
    that the indent pushes past the width; list paragraphs and short ones keep their lines."""
    out: list[str] = []
    lead = prefix if first is None else first
    for para in text.split("\n\n"):
        lines = para.split("\n")
        listed = lines[0].lstrip().startswith(("• ", "> ")) or re.match(r"\s*\d+\. ", lines[0])
        if listed or all(len(prefix) + len(line) <= TEXT_WIDTH for line in lines):
            out.append("\n".join((lead if not out and i == 0 else prefix) + line if line else "" for i, line in enumerate(lines)))
        else:
            out.append(wrap(para, TEXT_WIDTH, lead if not out else prefix, prefix))
    return "\n\n".join(out)


class _TextWriter:
    """Walks markdown-it's block tokens and writes plain text."""

    def __init__(self, width: int) -> None:
        self.width = width

    def render(self, tokens: list[Token]) -> str:
        blocks: list[str] = []
        list_stack: list[list[int]] = []  # per open list: [next number or -1 for bullets]
        quote_depth = 0
        item_prefix: str | None = None
        table_row: list[str] | None = None
        for tok in tokens:
            kind = tok.type
            if kind == "bullet_list_open":
                list_stack.append([-1])
            elif kind == "ordered_list_open":
                list_stack.append([int(tok.attrGet("start") or 1)])
            elif kind in ("bullet_list_close", "ordered_list_close"):
                list_stack.pop()
            elif kind == "list_item_open":
                counter = list_stack[-1]
                indent = "  " * (len(list_stack) - 1)
                if counter[0] < 0:
                    item_prefix = f"{indent}• "
                else:
                    item_prefix = f"{indent}{counter[0]}. "
                    counter[0] += 1
            elif kind == "blockquote_open":
                quote_depth += 1
            elif kind == "blockquote_close":
                quote_depth -= 1
            elif kind == "inline" and table_row is not None:
                table_row.append(self._inline(tok))
            elif kind == "inline":
                text = self._inline(tok)
                quote = "> " * quote_depth
                if item_prefix is not None:
                    hang = quote + " " * len(item_prefix)
                    blocks.append(self._wrap_lines(text, quote + item_prefix, hang, tight=bool(list_stack)))
                    item_prefix = None
                else:
                    blocks.append(self._wrap_lines(text, quote, quote, tight=False))
            elif kind in ("fence", "code_block"):
                blocks.append(tok.content.rstrip("\n"))
            elif kind == "hr":
                blocks.append("-" * 20)
            elif kind == "tr_open":
                table_row = []
            elif kind == "tr_close" and table_row is not None:
                blocks.append("\x00" + " | ".join(table_row))
                table_row = None
        return self._join(blocks)

    def _wrap_lines(self, text: str, first: str, rest: str, *, tight: bool) -> str:
        lines = text.split("\n")  # hard breaks stay
        out = [wrap(lines[0], self.width, first, rest)]
        out += [wrap(line, self.width, rest, rest) for line in lines[1:]]
        joined = "\n".join(out)
        return ("\x00" + joined) if tight else joined

    @staticmethod
    def _join(blocks: list[str]) -> str:
        """Paragraphs apart by a blank line; list items and table rows (marked) tight."""
        out = ""
        out_tight = False
        for block in blocks:
            tight = block.startswith("\x00")
            block = block.lstrip("\x00")
            if out:
                out += "\n" if tight and out_tight else "\n\n"
            out += block
            out_tight = tight
        return out

    def _inline(self, token: Token) -> str:
        parts: list[str] = []
        link_stack: list[tuple[str, int]] = []
        for child in token.children or []:
            kind = child.type
            if kind in ("text", "code_inline"):
                parts.append(child.content)
            elif kind == "softbreak":
                parts.append(" ")
            elif kind == "hardbreak":
                parts.append("\n")
            elif kind == "link_open":
                link_stack.append((str(child.attrGet("href") or ""), len(parts)))
            elif kind == "link_close" and link_stack:
                href, start = link_stack.pop()
                label = "".join(parts[start:]).strip()
                target = href.removeprefix("mailto:")
                if label not in (href, target):
                    parts.append(f" ({target})")
            elif kind == "image":
                alt = child.content or str(child.attrGet("alt") or "")
                if alt:
                    parts.append(f"[{alt}]")
        return "".join(parts)
