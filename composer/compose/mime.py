"""Build the MIME message for one recipient: multipart/alternative, UTF-8."""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid


@dataclass(frozen=True)
class Envelope:
    """The headers every copy of a segment shares."""

    subject: str
    from_name: str
    from_email: str
    reply_to: str | None = None
    list_id: str | None = None


def _address(name: str, email: str) -> Address:
    local, _, domain = email.partition("@")
    return Address(display_name=name, username=local, domain=domain)


def build_message(
    envelope: Envelope,
    *,
    to: str,
    html: str,
    text: str,
    headers: Mapping[str, str] | None = None,
    subject_prefix: str = "",
    date: datetime | None = None,
) -> EmailMessage:
    """One recipient's message. `html` and `text` are already filled in.

    Both parts are quoted-printable: the HTML part's encoded size is what Gmail's clip
    counts, and QP keeps mostly-ASCII bulletins close to their raw size.
    """
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = subject_prefix + envelope.subject
    msg["From"] = _address(envelope.from_name, envelope.from_email)
    msg["To"] = to
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=envelope.from_email.partition("@")[2] or None)
    if envelope.list_id:
        msg["List-Id"] = f"<{envelope.list_id}>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = "multipart/alternative"
    msg.attach(_qp_part(text, "plain"))
    msg.attach(_qp_part(html, "html"))
    return msg


def _qp_part(content: str, subtype: str) -> EmailMessage:
    """A UTF-8 quoted-printable text part, encoded by binascii (C) rather than the
    email package's pure-Python encoder, which costs milliseconds per 80 KB part."""
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(quoted_printable(content.encode("utf-8")).decode("ascii"))
    return part


QP_MAX_LINE = 76  # RFC 2045 6.7 rule 5, counting the "=" of a soft line break


def quoted_printable(data: bytes, *, room_after: bool = False) -> bytes:
    """QP-encode text with CRLF line ends and every line within 76 bytes.

    binascii.b2a_qp can overrun 76 when it encodes whitespace before a line break, so
    long lines are broken again here. `room_after` keeps the last line one byte short,
    so that a soft line break can follow it (send joins encoded pieces that way).
    """
    lines = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False).split(b"\n")
    out: list[bytes] = []
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        limit = QP_MAX_LINE - 1 if last and room_after else QP_MAX_LINE
        while len(line) > limit:
            cut = _qp_cut(line, QP_MAX_LINE - 1)
            out.append(line[:cut] + b"=")
            line = line[cut:]
        out.append(line)
    return b"\r\n".join(out)


def _qp_cut(line: bytes, limit: int) -> int:
    """Where to break `line` so the first part is at most `limit` bytes, never inside =XX."""
    cut = 0
    while cut < len(line):
        step = 3 if line[cut] == ord("=") else 1
        if cut + step > limit:
            break
        cut += step
    return cut


def encoded_size(html: str) -> int:
    """Bytes the HTML part's body takes in a message from `build_message`: the same
    encoding, without building the rest of the message (compose checks every segment)."""
    return len(quoted_printable(html.encode("utf-8")))


def encoded_html_size(message: EmailMessage) -> int:
    """Bytes of the HTML part as it travels (encoded), which is what Gmail clips on."""
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload()
            return len(payload.encode("ascii", "replace") if isinstance(payload, str) else b"")
    return 0
