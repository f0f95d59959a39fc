"""CSS inlining with premailer: network off, @media rules kept, one configured instance.

mjml-python leaves `<mj-style inline="inline">` CSS in a <style> tag; email clients that
strip <style> (Gmail in some views, many webmail clients) need it on each element.
"""

from __future__ import annotations

import logging
import threading
from functools import cache

from premailer import Premailer

_lock = threading.Lock()


@cache
def _premailer() -> Premailer:
    return Premailer(
        allow_network=False,  # its default fetches external stylesheets
        keep_style_tags=False,  # leftover rules (MJML's responsive @media) stay in <style>
        strip_important=False,
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,  # mso-* properties are noisy otherwise
        disable_leftover_css=False,
        exclude_pseudoclasses=True,
    )


def inline_css(html: str) -> str:
    """Inline the document's CSS into style attributes; keep what cannot be inlined."""
    with _lock:  # premailer keeps per-call state on the instance
        return str(_premailer().transform(html, pretty_print=False))
