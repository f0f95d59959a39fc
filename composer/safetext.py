"""Control characters in text from users: find them (to refuse) and escape them (to print).

One owner for both, so a header validator, an address check and the terminal output agree
on what a control character is: Unicode category Cc (C0, DEL, C1 such as U+0085) and the
line and paragraph separators U+2028/U+2029, which Python's str.splitlines() and the email
package treat as line breaks.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = {"\u2028", "\u2029"}
# The same set as a pattern, for scanning many values fast (a 100,000-row import):
# Unicode category Cc is exactly U+0000–U+001F and U+007F–U+009F.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_TAB = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def is_control(char: str, *, allow_tab: bool = False) -> bool:
    """True for a character that breaks a header line or drives a terminal."""
    if char == "\t" and allow_tab:
        return False
    return char in _SEPARATORS or unicodedata.category(char) == "Cc"


def first_control(value: str, *, allow_tab: bool = False) -> str | None:
    """The first control character in `value`, or None."""
    found = (_CONTROL_BUT_TAB if allow_tab else _CONTROL).search(value)
    return found.group() if found else None


def describe_control(char: str) -> str:
    """`U+000D` with its Unicode name where it has one, for messages."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name.lower()})" if name else "")


def printable(value: object, *, keep_newlines: bool = False) -> str:
    """`value` as text that is safe to print on a terminal: control characters escaped.

    A CSV cell holding ESC ] 0 ; … BEL would otherwise retitle or clear the operator's
    terminal. `keep_newlines` keeps LF for messages that are several lines by design.
    """
    text = str(value)
    if not any(is_control(c) for c in text):
        return text
    return "".join(
        c if (c == "\n" and keep_newlines) or not is_control(c) else _escape(c) for c in text
    )


def printable_json(text: str) -> str:
    """JSON text with the control characters json.dumps leaves raw (C1, U+2028) as \\u escapes.

    json.dumps escapes U+0000–U+001F itself, so a raw LF left in `text` is layout.
    """
    return "".join(f"\\u{ord(c):04x}" if c != "\n" and is_control(c) else c for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
