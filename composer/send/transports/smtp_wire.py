"""The SMTP conversation of one message on an open smtplib connection: login, MAIL/RCPT/
DATA (pipelined where the server offers it), and what a broken connection means for the
message (failed if the server never had it all, unknown if it did)."""

from __future__ import annotations

import contextlib
import re
import smtplib

from composer.send.transports.base import Outcome
from composer.store.models import DeliveryState


def login(conn: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH with the server's strongest mechanism, once.

    `SMTP.login` tries every mechanism in turn after a refusal; a wrong password is wrong in
    all of them, and repeated failures can lock an account (and some servers stall on the
    second attempt).
    """
    conn.ehlo_or_helo_if_needed()
    if not conn.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("the server does not offer AUTH")
    advertised = conn.esmtp_features["auth"].upper().split()
    conn.user, conn.password = username, password
    for mechanism in ("CRAM-MD5", "PLAIN", "LOGIN"):
        if mechanism in advertised:
            method = getattr(conn, "auth_" + mechanism.lower().replace("-", "_"))
            conn.auth(mechanism, method)
            return
    raise smtplib.SMTPNotSupportedError(f"no AUTH mechanism we support (offered: {' '.join(advertised)})")


NON_ASCII_ERROR = (
    "not sent: the part of the address before the @ has non-ASCII characters, which SMTP "
    "carries only when the server offers SMTPUTF8 (RFC 6531), and this server does not"
)


class MessageNotHandedOver(smtplib.SMTPException):
    """The connection broke before the server had the whole message (before the final
    `.` of DATA went out): it cannot have accepted it."""


def lost(key: int, exc: BaseException) -> Outcome:
    """The outcome of a connection that broke mid-transaction: failed (and sent again by a
    re-run) if the server never had the whole message, unknown if it had it and its
    answer was lost, since it may have queued the message."""
    if isinstance(exc, MessageNotHandedOver):
        return Outcome(key, DeliveryState.FAILED, error=f"SMTP connection lost before the message was sent: {exc}")
    return Outcome(
        key,
        DeliveryState.UNKNOWN,
        error=f"SMTP connection lost after the message was sent, before the server answered ({exc.__class__.__name__}: {exc})",
    )


def offers_smtputf8(conn: smtplib.SMTP) -> bool:
    conn.ehlo_or_helo_if_needed()
    return bool(conn.has_extn("smtputf8"))


def send_one(conn: smtplib.SMTP, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False) -> None:
    """One SMTP transaction (MAIL, RCPT, DATA), raising smtplib's exceptions as `sendmail`
    does, and `MessageNotHandedOver` when the connection breaks before the message's end.

    When the server offers PIPELINING (RFC 2920), MAIL, RCPT and DATA go in one write and
    their three replies are read after: two round trips per message instead of four.
    `data` has CRLF line ends, so dot-stuffing (RFC 5321 4.5.2) is one replace; smtplib's
    multiline regex for it costs more than the rest of the transaction.
    """
    try:
        _envelope(conn, sender, recipient, smtputf8=smtputf8)
        body = data.replace(b"\r\n.", b"\r\n..")
        if body.startswith(b"."):
            body = b"." + body
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        conn.send(body + b".\r\n")
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
        raise  # the server's own refusal, with its reply
    except OSError as exc:  # smtplib's other errors are OSErrors too
        raise MessageNotHandedOver(f"{exc.__class__.__name__}: {exc}") from exc
    code, reply = conn.getreply()
    if code != 250:
        _reset(conn)
        raise smtplib.SMTPDataError(code, reply)


def _envelope(conn: smtplib.SMTP, sender: str, recipient: str, *, smtputf8: bool) -> None:
    """MAIL FROM, RCPT TO and DATA, up to the server's 354 (or the refusal's exception)."""
    conn.ehlo_or_helo_if_needed()
    option = " SMTPUTF8" if smtputf8 else ""
    if conn.has_extn("pipelining"):
        conn.send(
            f"MAIL FROM:{_path(sender)}{option}\r\n"
            f"RCPT TO:{_path(recipient)}\r\n"
            "DATA\r\n".encode()
        )
        replies = [conn.getreply() for _ in range(3)]
    else:
        replies = [conn.mail(sender, ["SMTPUTF8"] if smtputf8 else [])]
        if replies[0][0] == 250:
            replies.append(conn.rcpt(recipient))
            if replies[1][0] in (250, 251):
                replies.append(conn.docmd("data"))
    (mail_code, mail_reply), *rest = replies
    if mail_code != 250:
        _abandon(conn, replies)
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, sender)
    rcpt_code, rcpt_reply = rest[0]
    if rcpt_code not in (250, 251):
        _abandon(conn, replies)
        raise smtplib.SMTPRecipientsRefused({recipient: (rcpt_code, rcpt_reply)})
    data_code, data_reply = rest[1]
    if data_code != 354:
        _abandon(conn, replies)
        raise smtplib.SMTPDataError(data_code, data_reply)


# An address with nothing that needs quoting or parsing is its own path; smtplib.quoteaddr
# parses every address with email.utils (a tenth of a millisecond a message, twice).
_PLAIN = re.compile(r"[^\s<>()\[\],;:\\\"@]+@[^\s<>()\[\],;:\\\"@]+")


def _path(address: str) -> str:
    """The <path> of MAIL FROM or RCPT TO, as smtplib.quoteaddr would write it."""
    return f"<{address}>" if _PLAIN.fullmatch(address) else smtplib.quoteaddr(address)


def _abandon(conn: smtplib.SMTP, replies: list[tuple[int, bytes]]) -> None:
    """End a refused transaction. A server that accepted DATA although the transaction had
    already failed (RFC 2920 says it must not) gets an empty message ended, then RSET."""
    if len(replies) == 3 and replies[2][0] == 354:
        conn.send(b".\r\n")
        conn.getreply()
    _reset(conn)


def _reset(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        conn.rset()


def discard(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


def reply_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
