"""CSS inlining with premailer: network off, @media rules kept, one configured instance.

mjml-python leaves `<mj-style inline="inline">` CSS in a <style> tag; email clients that
strip <style> need it on each element. Like official MJML, we inline only that CSS:
MJML's own head styles (resets, column widths, @media) are for clients that read <style>,
and inlining them onto every table would add tens of KB towards Gmail's 102 KB clip.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import cache, lru_cache
from typing import Any

from premailer import Premailer

INLINE_MARKER = "/*bulletin:inline*/"
_MJ_STYLE_INLINE = re.compile(r'(<mj-style\b[^>]*\binline\s*=\s*"inline"[^>]*>)')
_STYLE_TAG = re.compile(r"<style\b([^>]*)>(.*?)</style>", re.S | re.I)
_IGNORE = ' data-premailer="ignore"'
_DOCTYPE = re.compile(r"\s*<!doctype\b", re.I)
DOCTYPE = "<!doctype html>"
_lock = threading.Lock()


def mark_inline_styles(mjml: str) -> str:
    """Tag the CSS of every `<mj-style inline="inline">` so it can be told apart after MJML."""
    return _MJ_STYLE_INLINE.sub(lambda m: m.group(1) + INLINE_MARKER, mjml)


class _CachingPremailer(Premailer):
    """Premailer that parses each stylesheet once per process.

    premailer caches cssutils' parse but re-serializes every rule on every call, which
    is most of its time; the same layout CSS is inlined for every segment and preview.
    `_parse_style_rules` is private, so pyproject.toml holds premailer below 3.11.
    """

    @lru_cache(maxsize=64)  # noqa: B019 - one long-lived instance; bounded
    def _parse_style_rules(self, css_body: str, ruleset_index: int) -> tuple[list[Any], list[Any]]:
        rules, leftover = super()._parse_style_rules(css_body, ruleset_index)
        return list(rules), list(leftover)


@cache
def _premailer() -> Premailer:
    return _CachingPremailer(
        allow_network=False,  # its default fetches external stylesheets
        keep_style_tags=False,  # leftover rules (@media, pseudo-classes) stay in <style>
        strip_important=False,  # MJML's responsive rules depend on !important
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,  # mso-* properties are noisy otherwise
        exclude_pseudoclasses=True,
    )


def _only_marked(html: str) -> str:
    def tag(match: re.Match[str]) -> str:
        attrs, body = match.group(1), match.group(2)
        if INLINE_MARKER in body:
            return f"<style{attrs}>{body.replace(INLINE_MARKER, '')}</style>"
        if "media=" in attrs:  # premailer skips these itself (and would keep our attribute)
            return match.group(0)
        return f"<style{attrs}{_IGNORE}>{body}</style>"

    return _STYLE_TAG.sub(tag, html)


def inline_css(html: str) -> str:
    """Inline the marked CSS into style attributes; keep everything else as it was."""
    prepared = _only_marked(html)
    with _lock:  # premailer keeps per-call state on the instance
        inlined = str(_premailer().transform(prepared, pretty_print=False))
    # Styles inside Outlook's conditional comments are not elements to premailer, so it
    # leaves our attribute on them.
    inlined = inlined.replace(_IGNORE, "")
    # premailer (lxml) drops the doctype it was given; without one every browser and
    # webmail client renders in quirks mode (document.compatMode == "BackCompat").
    return inlined if _DOCTYPE.match(inlined) else DOCTYPE + "\n" + inlined
