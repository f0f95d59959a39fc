"""Per-recipient MIME messages for the SMTP and outbox transports, built fast.

`composer.compose.mime.build_message` decides what a message looks like. Calling it for
every recipient costs about 5 ms (the email package's quoted-printable encoder is pure
Python), which caps SMTP near 200 messages/s. So `MessageFactory` calls it once per
segment with placeholders and keeps the serialized bytes as a template. Each body is
split at its merge tokens and the fixed pieces are quoted-printable encoded once; per
recipient only the token values are encoded and the pieces joined with soft line breaks
(`=` CRLF, RFC 2045 6.7 rule 5), which decode to nothing. The result decodes to the same
parts and headers as `build_message` would produce; tests compare the two.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime

from composer.compose.merge import fill
from composer.compose.mime import build_message, quoted_printable
from composer.compose.model import SegmentRender

# Placeholders: letters only, so neither header folding nor quoted-printable touches them.
_TO = "BTXTOXBT"
_HTML = "BTXHTMLXBT"
_TEXT = "BTXTEXTXBT"
_LU = "BTXLUXBT"
_CRLF = b"\r\n"


def _is_ascii(value: str) -> bool:
    return value.isascii()


_TOKEN_BYTES = re.compile(rb"(%%BT\.[a-z_]+\.[ht]%%)")


def _normalize(raw: bytes) -> bytes:
    """Lines joined with LF, and a final line break only if the content has one."""
    data = b"\n".join(raw.splitlines())
    if raw.endswith((b"\n", b"\r")):
        data += b"\n"
    return data


def _qp_piece(data: bytes) -> bytes:
    """One piece, QP-encoded, short enough at its end for a soft line break to follow."""
    return quoted_printable(data, room_after=True)


class QPBody:
    """A body with merge tokens, encoded once; `render(subs)` fills and encodes per person."""

    def __init__(self, content: str) -> None:
        pieces = _TOKEN_BYTES.split(_normalize(content.encode("utf-8")))
        self._fixed = [_qp_piece(p) for p in pieces[0::2]]
        self._tokens = [t.decode("ascii") for t in pieces[1::2]]

    def render(self, substitutions: Mapping[str, str]) -> bytes:
        out: list[bytes] = []
        soft = b"=" + _CRLF
        for i, fixed in enumerate(self._fixed):
            if fixed:
                if out:
                    out.append(soft)
                out.append(fixed)
            if i < len(self._tokens):
                name = self._tokens[i]
                value = substitutions.get(name, name)
                if value:
                    if out:
                        out.append(soft)
                    out.append(_qp_piece(_normalize(value.encode("utf-8"))))
        return b"".join(out)


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
        self._html = QPBody(render.html)
        self._text = QPBody(render.text)

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
        if extra or not _is_ascii(list_unsubscribe) or "\n" in to or "\r" in to:
            html = fill(self.render.html, substitutions)
            text = fill(self.render.text, substitutions)
            return self._slow(to, html, text, headers)
        msgid = self.message_id()
        values = {
            "msgid": msgid.encode() + _CRLF,
            # `to` is the wire form (composer.identity.wire_address): ASCII, or a non-ASCII
            # local part for an SMTPUTF8 server, written as UTF-8 (RFC 6532), never as
            # RFC 2047 encoded-words, which RFC 2047 section 5 forbids inside an address.
            "to": to.encode("utf-8") + _CRLF,
            "lu": fold_list_unsubscribe(list_unsubscribe).encode() + _CRLF,
            "text": self._text.render(substitutions),
            "html": self._html.render(substitutions),
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


class FactoryCache:
    """One `MessageFactory` per campaign, segment and subject prefix, for the transports
    that build whole messages (SMTP, outbox); rebuilt if the segment's render changes."""

    def __init__(self) -> None:
        self._factories: dict[tuple[str, str, str], MessageFactory] = {}

    def get(self, render: SegmentRender, campaign_key: str, subject_prefix: str) -> MessageFactory:
        key = (campaign_key, render.segment, subject_prefix)
        factory = self._factories.get(key)
        if factory is None or factory.render is not render:
            factory = MessageFactory(render, subject_prefix=subject_prefix)
            self._factories[key] = factory
        return factory
