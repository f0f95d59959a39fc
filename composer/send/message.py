"""Per-recipient MIME messages for the SMTP and outbox transports, built fast.

`composer.compose.mime.build_message` decides what a message looks like. Calling it for
every recipient costs about 5 ms (the email package's quoted-printable encoder is pure
Python), which caps SMTP near 200 messages/s. So `MessageFactory` calls it once per
segment with placeholders, keeps the serialized bytes as a template, and per recipient
only swaps in the To, Message-ID and List-Unsubscribe values and the two bodies, encoded
with the C quoted-printable encoder (`binascii.b2a_qp`). The result decodes to the same
parts and headers as `build_message` would produce; tests compare the two.
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Mapping
from datetime import datetime

from composer.compose.merge import fill
from composer.compose.mime import build_message
from composer.compose.model import SegmentRender

# Placeholders: letters only, so neither header folding nor quoted-printable touches them.
_TO = "BTXTOXBT"
_HTML = "BTXHTMLXBT"
_TEXT = "BTXTEXTXBT"
_LU = "BTXLUXBT"
_CRLF = b"\r\n"


def _is_ascii(value: str) -> bool:
    return value.isascii()


def encode_body(content: str) -> bytes:
    """Quoted-printable body as the email package lays it out: CRLF line ends, and a final
    line break only if the content ends with one."""
    raw = content.encode("utf-8")
    data = b"\n".join(raw.splitlines())
    if raw.endswith((b"\n", b"\r")):
        data += b"\n"
    return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False).replace(b"\n", _CRLF)


def fold_list_unsubscribe(value: str) -> str:
    """Fold between the URIs (RFC 5322 2.2.3), keeping each URI whole."""
    return value.replace(">, <", ">,\r\n <")


class MessageFactory:
    """Builds one segment's per-recipient messages from a template made once."""

    def __init__(
        self,
        render: SegmentRender,
        *,
        subject_prefix: str = "",
        date: datetime | None = None,
    ) -> None:
        self.render = render
        self.subject_prefix = subject_prefix
        self.date = date
        self._domain = render.envelope.from_email.partition("@")[2] or "localhost"
        template = build_message(
            render.envelope,
            to=_TO,
            html=_HTML,
            text=_TEXT,
            headers={"List-Unsubscribe": _LU, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            subject_prefix=subject_prefix,
            date=date,
        )
        raw = template.as_bytes()
        msgid_start = raw.index(b"\r\nMessage-ID: ") + 2
        msgid_end = raw.index(_CRLF, msgid_start) + 2
        raw = raw[:msgid_start] + b"Message-ID: BTXMIDXBT\r\n" + raw[msgid_end:]
        self._parts, self._order = self._split(raw)

    @staticmethod
    def _split(raw: bytes) -> tuple[list[bytes], list[str]]:
        """The template cut at each placeholder, and the placeholders' names in order."""
        markers = {
            "msgid": b"BTXMIDXBT\r\n",
            "to": _TO.encode() + _CRLF,
            "lu": _LU.encode() + _CRLF,
            "text": _TEXT.encode(),
            "html": _HTML.encode(),
        }
        found: list[tuple[int, str]] = []
        for name, marker in markers.items():
            at = raw.find(marker)
            if at < 0 or raw.count(marker) != 1:
                raise RuntimeError(f"message template lost its placeholder {marker!r}")
            found.append((at, name))
        found.sort()
        parts: list[bytes] = []
        start = 0
        for at, name in found:
            parts.append(raw[start:at])
            start = at + len(markers[name])
        parts.append(raw[start:])
        return parts, [name for _, name in found]

    def message_id(self) -> str:
        return f"<{secrets.token_hex(16)}@{self._domain}>"

    def build(self, to: str, substitutions: Mapping[str, str], headers: Mapping[str, str]) -> tuple[bytes, str]:
        """(message bytes with CRLF line ends, Message-ID) for one recipient."""
        list_unsubscribe = headers.get("List-Unsubscribe", "")
        extra = {k: v for k, v in headers.items() if k not in ("List-Unsubscribe", "List-Unsubscribe-Post")}
        html = fill(self.render.html, substitutions)
        text = fill(self.render.text, substitutions)
        if extra or not (_is_ascii(to) and _is_ascii(list_unsubscribe)) or "\n" in to:
            return self._slow(to, html, text, headers)
        msgid = self.message_id()
        values = {
            "msgid": msgid.encode() + _CRLF,
            "to": to.encode() + _CRLF,
            "lu": fold_list_unsubscribe(list_unsubscribe).encode() + _CRLF,
            "text": encode_body(text),
            "html": encode_body(html),
        }
        pieces: list[bytes] = []
        for part, name in zip(self._parts, self._order, strict=False):
            pieces.append(part)
            pieces.append(values[name])
        pieces.append(self._parts[-1])
        data = b"".join(pieces)
        return data, msgid

    def _slow(self, to: str, html: str, text: str, headers: Mapping[str, str]) -> tuple[bytes, str]:
        """The plain path through build_message, for anything the template cannot hold."""
        msg = build_message(
            self.render.envelope,
            to=to,
            html=html,
            text=text,
            headers=headers,
            subject_prefix=self.subject_prefix,
            date=self.date,
        )
        return msg.as_bytes(), str(msg["Message-ID"])
