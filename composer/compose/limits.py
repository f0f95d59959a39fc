"""Size limits on what staff write: one place, so the loader and every field type agree.

Beyond them the output breaks quietly rather than loudly: RFC 5322 §2.1.1 caps a header
line at 998 characters, lxml (under premailer) drops a text node over 10,000,000 bytes
from the HTML part while the text part keeps it, and Gmail clips an HTML part over about
102 KB anyway, so no real Markdown field comes near 100 KB.
"""

from __future__ import annotations

HEADER_MAX_CHARS = 998
MARKDOWN_MAX_BYTES = 100_000
SOURCE_FILE_MAX_BYTES = 2_000_000


def check_one_line_length(value: str) -> str:
    """A subject, header or other one-line field fits on one header line."""
    if len(value) > HEADER_MAX_CHARS:
        raise ValueError(
            f"this text is {len(value):,} characters; a one-line field may have at most {HEADER_MAX_CHARS} "
            "(the limit of an email header line)"
        )
    return value


def check_markdown_size(value: str) -> str:
    """A Markdown field is at most MARKDOWN_MAX_BYTES as UTF-8."""
    size = len(value.encode("utf-8"))
    if size > MARKDOWN_MAX_BYTES:
        raise ValueError(
            f"this text is {size:,} bytes; a Markdown field may have at most {MARKDOWN_MAX_BYTES:,} "
            "(split it into several sections or link to the full text)"
        )
    return value


def source_too_large(size: int) -> str | None:
    """Why a source file of `size` bytes is refused before it is parsed, or None."""
    if size > SOURCE_FILE_MAX_BYTES:
        return (
            f"the file is {size:,} bytes; a bulletin or block file may have at most "
            f"{SOURCE_FILE_MAX_BYTES:,}"
        )
    return None
