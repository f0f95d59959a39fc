"""SMTP through one reused connection (smtplib), with STARTTLS or implicit TLS and auth.

Settings come from `BULLETIN_SMTP_URL` when set (`smtp://user:pass@host:port`,
`smtps://...` for implicit TLS, `?starttls=true` to upgrade), else from `[smtp]` in
bulletin.toml with the password in the environment variable named by `password_env`.
Each recipient's message is the composed MIME with that person's merge values and
List-Unsubscribe headers (see `composer.send.message`). `per_domain_rate` caps messages
per second to a domain and its subdomains, because many practices share nhs.net.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from composer.errors import ConfigError, TransportAuthError, TransportError
from composer.identity import wire_address
from composer.send.message import FactoryCache
from composer.send.pacing import DomainThrottle
from composer.send.transports import SmtpSettings
from composer.send.transports.base import Batch, Outcome, Transport
from composer.store.models import DeliveryState
from composer.workspace import Workspace

PROVIDER = "SMTP"
ENV_SMTP_URL = "BULLETIN_SMTP_URL"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    per_domain_rate: dict[str, float] = field(default_factory=dict)


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://user:pass@host:port?starttls=true` or `smtps://user:pass@host:port`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(
            f"{ENV_SMTP_URL} must look like smtp://user:pass@host:port, smtps://... or "
            "smtp://host:587?starttls=true"
        )
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in _TRUE
    security: Literal["none", "starttls", "ssl"]
    if parts.scheme == "smtps":
        security = "ssl"
    elif starttls:
        security = "starttls"
    else:
        security = "none"
    try:
        port = parts.port or (465 if security == "ssl" else 25)
    except ValueError:
        raise ConfigError(f"{ENV_SMTP_URL}: the port is not a number") from None
    timeout = float(query.get("timeout", ["30"])[0])
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


def smtp_config(workspace: Workspace) -> SmtpConfig:
    """The SMTP settings: the environment URL first, then `[smtp]` in bulletin.toml."""
    settings = workspace.transport_settings("smtp", SmtpSettings)
    rates = dict(settings.per_domain_rate) if settings else {}
    url = workspace.env.get(ENV_SMTP_URL)
    if url:
        config = parse_smtp_url(url)
        return SmtpConfig(**{**config.__dict__, "per_domain_rate": rates})
    if settings is None:
        raise ConfigError(f"the smtp transport needs [smtp] in bulletin.toml or {ENV_SMTP_URL}")
    password = None
    if settings.password_env:
        password = workspace.env.get(settings.password_env)
        if password is None:
            raise ConfigError(
                f"[smtp] password_env names {settings.password_env}, which is not set in the environment"
            )
    return SmtpConfig(
        host=settings.host,
        port=settings.port,
        security=settings.security,
        username=settings.username,
        password=password,
        timeout=settings.timeout,
        per_domain_rate=rates,
    )


class SmtpTransport(Transport):
    name = "smtp"
    max_batch = 1000

    def __init__(self, config: SmtpConfig, *, throttle: DomainThrottle | None = None) -> None:
        super().__init__()
        self.config = config
        self.throttle = throttle or DomainThrottle(config.per_domain_rate)
        self._conn: smtplib.SMTP | None = None
        self._messages = FactoryCache()

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> SmtpTransport:
        return cls(smtp_config(workspace))

    def describe(self) -> str:
        c = self.config
        return f"smtp ({c.host}:{c.port}, {c.security})"

    def open(self) -> None:
        self._connect()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        where = f"{c.host}:{c.port}"
        conn: smtplib.SMTP | None = None
        try:
            if c.security == "ssl":
                conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.security == "starttls":
                    conn.ehlo()
                    conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
            if c.username:
                _login(conn, c.username, c.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            _discard(conn)
            raise TransportAuthError(
                f"the SMTP server at {where} refused the username and password; check "
                f"{ENV_SMTP_URL} or [smtp] username/password_env",
                provider=PROVIDER,
                status=exc.smtp_code,
                body=_reply(exc.smtp_error),
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            _discard(conn)
            raise TransportError(f"the server at {where} does not support this: {exc}", provider=PROVIDER) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            _discard(conn)
            raise TransportError(
                f"cannot connect to {where}: {exc.__class__.__name__}: {exc}", provider=PROVIDER
            ) from None
        self._conn = conn
        return conn

    def _send_batch(self, batch: Batch) -> list[Outcome]:
        factory = self._messages.get(batch.render, batch.campaign_key, batch.subject_prefix)
        sender = batch.render.envelope.from_email
        outcomes: list[Outcome] = []
        broken: str | None = None
        for recipient in batch.recipients:
            if broken is not None:
                outcomes.append(Outcome(recipient.key, DeliveryState.FAILED, error=broken))
                continue
            address = wire_address(recipient.email)
            conn = self._conn or self._connect()
            utf8 = not address.isascii()
            if utf8 and not _offers_smtputf8(conn):
                # MAIL/RCPT and the To: header carry a non-ASCII local part only where the
                # server offers SMTPUTF8 (RFC 6531); smtplib would raise mid-batch.
                outcomes.append(Outcome(recipient.key, DeliveryState.FAILED, error=NON_ASCII_ERROR))
                continue
            self.throttle.wait(address)
            data, message_id = factory.build(address, recipient.substitutions, recipient.headers)
            self.stats.requests += 1
            try:
                _send_one(conn, sender, address, data, smtputf8=utf8)
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()), (0, b""))
                outcomes.append(Outcome(recipient.key, DeliveryState.FAILED, error=f"SMTP {code}: {_reply(reply)}"))
            except smtplib.SMTPResponseException as exc:
                # Refused at MAIL FROM or DATA with a reply code: not accepted.
                outcomes.append(
                    Outcome(recipient.key, DeliveryState.FAILED, error=f"SMTP {exc.smtp_code}: {_reply(exc.smtp_error)}")
                )
            except (smtplib.SMTPException, OSError) as exc:
                self._conn = None
                outcomes.append(_lost(recipient.key, exc))
                try:
                    self._connect()
                except TransportAuthError:
                    raise
                except TransportError as reconnect:
                    broken = f"not sent: {reconnect}"
            else:
                outcomes.append(Outcome(recipient.key, DeliveryState.SENT, message_id=message_id))
        return outcomes


def _login(conn: smtplib.SMTP, username: str, password: str) -> None:
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


def _lost(key: int, exc: BaseException) -> Outcome:
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


def _offers_smtputf8(conn: smtplib.SMTP) -> bool:
    conn.ehlo_or_helo_if_needed()
    return bool(conn.has_extn("smtputf8"))


def _send_one(conn: smtplib.SMTP, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False) -> None:
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
            f"MAIL FROM:{smtplib.quoteaddr(sender)}{option}\r\n"
            f"RCPT TO:{smtplib.quoteaddr(recipient)}\r\n"
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


def _discard(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


def _reply(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
