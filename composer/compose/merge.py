"""Per-recipient merge fields, left as tokens by compose and filled in at send time.

Each field has one token for the HTML part and one for the text part. The HTML value is
HTML-escaped, the text value is raw, so `Dr <b>O'Brien</b> & Partners` reads the same in
both. Tokens use only characters that survive MJML, premailer and lxml untouched, in text
and in attributes (href), and that SendGrid `substitutions` can replace literally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Part = Literal["html", "text"]

MERGE_FIELDS: tuple[str, ...] = ("first_name", "name", "organisation", "email", "unsubscribe_url")

# What a field reads when the contact has no value for it.
FALLBACKS: dict[str, str] = {"first_name": "colleague", "name": "colleague", "organisation": ""}

_TOKEN = re.compile(r"%%BT\.([a-z_]+)\.([ht])%%")

# How writers put a merge field in a text field of a bulletin: {{ first_name }}
WRITER_FIELD = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def token(field: str, part: Part) -> str:
    """The placeholder compose leaves for `field` in `part`."""
    return f"%%BT.{field}.{'h' if part == 'html' else 't'}%%"


def tokens_in(content: str) -> set[str]:
    """Names of the merge fields whose tokens appear in `content`."""
    return {m.group(1) for m in _TOKEN.finditer(content)}


@dataclass(frozen=True)
class Recipient:
    """The values one person's copy is filled with."""

    email: str
    unsubscribe_url: str
    first_name: str | None = None
    name: str | None = None
    organisation: str | None = None

    def value(self, field: str) -> str:
        raw = getattr(self, field, None)
        if raw is None or str(raw).strip() == "":
            return FALLBACKS.get(field, "")
        return str(raw)


_TOKEN_PAIRS = tuple((field, token(field, "html"), token(field, "text")) for field in MERGE_FIELDS)
# The same five replacements as html.escape(quote=True), in one pass (send makes these
# for every recipient, 100,000 at a time).
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def substitutions(recipient: Recipient) -> dict[str, str]:
    """Token → value for both parts: what SendGrid's `substitutions` carries."""
    return substitutions_for({field: getattr(recipient, field) for field in MERGE_FIELDS})


def substitutions_for(values: Mapping[str, str | None]) -> dict[str, str]:
    """`substitutions` from plain values (missing or blank → the field's fallback)."""
    subs: dict[str, str] = {}
    for field, html_token, text_token in _TOKEN_PAIRS:
        raw = values.get(field)
        value = FALLBACKS.get(field, "") if raw is None or str(raw).strip() == "" else str(raw)
        subs[html_token] = value.translate(_ESCAPE)
        subs[text_token] = value
    return subs


def fill(content: str, subs: Mapping[str, str]) -> str:
    """Replace every token in one pass (a value that looks like a token is not re-read)."""
    return _TOKEN.sub(lambda m: subs.get(m.group(0), m.group(0)), content)
