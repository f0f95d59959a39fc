"""What one message in the bounce mailbox is, read from its bytes and changing nothing.

A bounce names its delivery by the VERP token in the address it came back to (see
composer.tokens), found anywhere in the message (the envelope recipient headers, or the
original's Return-Path in the returned headers). Whether it is permanent or temporary
comes from the RFC 3464 report (`Action: failed` with `Status: 5.x.x`, or
`Action: delayed` / `4.x.x`), else from flufl.bounce, GNU Mailman's detectors for the
non-standard shapes (Exim's text bounces, old Exchange, qmail...). Without a valid token
nothing is acted on: a forged or foreign bounce cannot suppress anyone.

Auto-replies (RFC 3834 `Auto-Submitted`, and the headers Exchange and vacation programs
add) are left alone, and so is anything else. A mailto unsubscribe is a message whose
subject carries a valid unsubscribe token (what `mailto:...?subject=unsubscribe TOKEN`
makes), or one sent to the unsubscribe address whose body carries one; a reply quoting
the footer link to any other address is not an unsubscribe.
"""

from __future__ import annotations

import email
import email.message
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.header import decode_header, make_header
from enum import StrEnum

from flufl.bounce import all_failures

from composer.tokens import DeliveryClaim, InvalidToken, TokenSigner, UnsubscribeClaim, verp_tokens


class Kind(StrEnum):
    PERMANENT = "permanent failure"
    TEMPORARY = "temporary failure"
    UNSUBSCRIBE = "mailto unsubscribe"
    UNTOKENED = "bounce without a delivery token"  # left alone
    AUTO_REPLY = "auto-reply"  # left alone
    OTHER = "other"  # left alone


HANDLED = (Kind.PERMANENT, Kind.TEMPORARY, Kind.UNSUBSCRIBE)


@dataclass(frozen=True)
class Finding:
    """What a message is, with what the store needs to act on it."""

    kind: Kind
    key: str  # the message's identity for the store: a hash of its bytes
    subject: str
    delivery: DeliveryClaim | None = None
    unsubscribe: UnsubscribeClaim | None = None
    status: str | None = None  # the enhanced status code, e.g. 5.1.1
    diagnostic: str | None = None

    @property
    def handled(self) -> bool:
        return self.kind in HANDLED


_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY = re.compile(r"(?m)^\s*([45])[0-9][0-9][ -]")  # an SMTP reply line quoted by the daemon
# An unsubscribe token (composer.tokens): base64url of "[contact,campaign]", a dot, a signature.
_UNSUB_TOKEN = re.compile(r"(Wz[A-Za-z0-9_-]{4,40}\.[A-Za-z0-9_-]{20,100})")
_DAEMONS = ("mailer-daemon", "postmaster", "mail delivery", "mail.delivery", "microsoftexchange")
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress-never")
_AUTO_SUBJECTS = re.compile(r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response)|out of (the )?office|auto:)", re.I)


class Classifier:
    """Classifies raw messages for one workspace's keys and unsubscribe address."""

    def __init__(self, signer: TokenSigner, unsubscribe_address: str) -> None:
        self.signer = signer
        self.unsubscribe_address = unsubscribe_address.lower()

    def classify(self, raw: bytes) -> Finding:
        msg = email.message_from_bytes(raw)
        key = "inbox:" + hashlib.sha256(raw).hexdigest()[:40]
        subject = _text(msg.get("Subject", ""))
        delivery = self._delivery(raw)
        report = _delivery_status(msg)
        if report is not None:
            return self._from_report(report, key, subject, delivery)
        if _is_auto_reply(msg, subject) and not _from_daemon(msg):
            return Finding(Kind.AUTO_REPLY, key, subject)
        if delivery is not None:
            found = _heuristic(msg, raw)
            if found is not None:
                kind, status = found
                return Finding(kind, key, subject, delivery=delivery, status=status)
        unsubscribe = self._unsubscribe(msg, subject)
        if unsubscribe is not None:
            return Finding(Kind.UNSUBSCRIBE, key, subject, unsubscribe=unsubscribe)
        if _is_auto_reply(msg, subject):
            return Finding(Kind.AUTO_REPLY, key, subject)
        return Finding(Kind.OTHER, key, subject)

    def _delivery(self, raw: bytes) -> DeliveryClaim | None:
        for token in verp_tokens(raw):
            try:
                return self.signer.read_delivery_token(token)
            except InvalidToken:
                continue
        return None

    def _from_report(
        self, report: list[dict[str, str]], key: str, subject: str, delivery: DeliveryClaim | None
    ) -> Finding:
        failed = [r for r in report if r.get("action", "").lower() == "failed" or r.get("status", "").startswith("5")]
        delayed = [r for r in report if r.get("action", "").lower() == "delayed" or r.get("status", "").startswith("4")]
        worst = next((r for r in failed if r.get("status", "5").startswith("5")), None)
        kind = Kind.PERMANENT if worst is not None else (Kind.TEMPORARY if failed or delayed else None)
        chosen = worst or next(iter(failed + delayed), None)
        if kind is None or chosen is None:
            return Finding(Kind.OTHER, key, subject)  # a success report (delivered, relayed)
        if delivery is None:
            return Finding(Kind.UNTOKENED, key, subject, status=chosen.get("status"))
        status = _STATUS.search(chosen.get("status", ""))
        return Finding(
            kind, key, subject, delivery=delivery,
            status=status.group(0) if status else ("5.0.0" if kind is Kind.PERMANENT else "4.0.0"),
            diagnostic=chosen.get("diagnostic-code", "")[:300] or None,
        )  # fmt: skip

    def _unsubscribe(self, msg: email.message.Message, subject: str) -> UnsubscribeClaim | None:
        claim = self._token_in(_UNSUB_TOKEN.findall(subject))
        if claim is not None:
            return claim
        to = " ".join(_text(v) for v in msg.get_all("To", []) + msg.get_all("Delivered-To", []))
        if self.unsubscribe_address and self.unsubscribe_address in to.lower():
            return self._token_in(_UNSUB_TOKEN.findall(_first_text(msg)))
        return None

    def _token_in(self, tokens: Iterable[str]) -> UnsubscribeClaim | None:
        for token in tokens:
            try:
                return self.signer.read(token)
            except InvalidToken:
                continue
        return None


def _text(value: object) -> str:
    """A header as text, RFC 2047 encoded-words decoded."""
    try:
        return str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError):
        return str(value)


def _delivery_status(msg: email.message.Message) -> list[dict[str, str]] | None:
    """The per-recipient fields of an RFC 3464 report, or None if it is not one."""
    if msg.get_content_type() != "multipart/report":
        return None
    if str(msg.get_param("report-type", "")).lower() != "delivery-status":
        return None
    for part in msg.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            return _status_fields(part)
    return None


def _status_fields(part: email.message.Message) -> list[dict[str, str]]:
    payload = part.get_payload()
    blocks: list[email.message.Message]
    if isinstance(payload, list):
        blocks = [b for b in payload if isinstance(b, email.message.Message)]
    else:  # some senders' parts do not parse as header blocks: read them as text
        text = payload if isinstance(payload, str) else ""
        blocks = [email.message_from_string(b) for b in re.split(r"\r?\n\r?\n", text) if b.strip()]
    found = []
    for block in blocks[1:] if len(blocks) > 1 else blocks:  # the first is per-message
        fields = {k.lower(): " ".join(str(v).split()) for k, v in block.items()}
        if "status" in fields or "action" in fields:
            found.append(fields)
    return found


def _from_daemon(msg: email.message.Message) -> bool:
    sender = (str(msg.get("From", "")) + " " + str(msg.get("Return-Path", ""))).lower()
    return any(d in sender for d in _DAEMONS) or msg.get("X-Failed-Recipients") is not None or msg.get("Return-Path", "").strip() == "<>"


def _is_auto_reply(msg: email.message.Message, subject: str) -> bool:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True
    if any(msg.get(h) is not None for h in _AUTO_HEADERS):
        return True
    precedence = str(msg.get("Precedence", "")).lower()
    return precedence in ("auto_reply", "auto-reply") or bool(_AUTO_SUBJECTS.match(subject))


def _heuristic(msg: email.message.Message, raw: bytes) -> tuple[Kind, str] | None:
    """A non-standard bounce by flufl.bounce's detectors: (kind, status) or None.

    flufl stops at the first detector that finds an address, and its generic pattern
    matcher runs before its warning matcher, so an Exim "delayed 24 hours" warning comes
    back permanent. The status codes the daemon wrote decide where there are any: a
    5.x.x (or a 5yz reply) anywhere is permanent, 4.x.x only is temporary.
    """
    failed_header = msg.get("X-Failed-Recipients") is not None
    if not (_from_daemon(msg) or msg.get_content_type() == "multipart/report"):
        return None
    temporary, permanent = all_failures(msg)
    if not temporary and not permanent and not failed_header:
        return None
    text = _first_text(msg) or raw[:20_000].decode("ascii", "replace")
    codes = [m.group(0) for m in _STATUS.finditer(text)] or [f"{m[0]}.0.0" for m in _REPLY.findall(text)]
    permanent_code = next((c for c in codes if c.startswith("5")), None)
    temporary_code = next((c for c in codes if c.startswith("4")), None)
    if permanent_code:
        return Kind.PERMANENT, permanent_code
    if temporary_code:
        return Kind.TEMPORARY, temporary_code
    if permanent or (failed_header and not temporary):
        return Kind.PERMANENT, "5.0.0"
    return Kind.TEMPORARY, "4.0.0"


def _first_text(msg: email.message.Message) -> str:
    """The first text/plain part, decoded (what a person or a bounce daemon wrote)."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                return data.decode(part.get_content_charset() or "utf-8", "replace")
    return ""
