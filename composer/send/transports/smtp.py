"""SMTP through one reused connection (smtplib), with STARTTLS or implicit TLS and auth.

Settings come from `BULLETIN_SMTP_URL` when set (`smtp://user:pass@host:port`,
`smtps://...` for implicit TLS, `?starttls=true` to upgrade), else from `[smtp]` in
bulletin.toml with the password in the environment variable named by `password_env`.
Each recipient's message is the composed MIME with that person's merge values and
List-Unsubscribe headers (see `composer.send.message`), DKIM-signed when `[dkim]` is set
(`composer.send.dkim`). `per_domain_rate` caps messages per second to a domain and its
subdomains, because many practices share nhs.net; the cap holds across connections.

`connections = N` sends N batches at once, each worker on its own reused connection
(reconnecting after a drop); each message's own reply still decides its ledger state.
With `bounce_domain`, each message's envelope sender is `bounces+TOKEN@bounce_domain`
(VERP), TOKEN a signed delivery token (composer.tokens), so `bulletin inbox` knows from a
bounce which delivery failed, and a forged bounce cannot name one.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from composer.errors import ConfigError, TransportAuthError, TransportError
from composer.identity import wire_address
from composer.send.dkim import DkimSigner
from composer.send.message import FactoryCache
from composer.send.pacing import DomainThrottle
from composer.send.transports import SmtpSettings
from composer.send.transports.base import Batch, Outcome, PreparedRecipient, Transport
from composer.send.transports.smtp_wire import (
    NON_ASCII_ERROR,
    MessageNotHandedOver,
    discard,
    login,
    lost,
    offers_smtputf8,
    reply_text,
    send_one,
)
from composer.store.models import DeliveryState
from composer.tokens import TokenSigner, verp_address
from composer.workspace import Workspace

__all__ = ["NON_ASCII_ERROR", "DomainThrottle", "MessageNotHandedOver", "SmtpConfig", "SmtpTransport"]

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
    connections: int = 1
    bounce_domain: str | None = None


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
        if settings is None:
            return config
        return replace(
            config, per_domain_rate=rates, connections=settings.connections, bounce_domain=settings.bounce_domain
        )
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
        connections=settings.connections,
        bounce_domain=settings.bounce_domain,
    )


class SmtpTransport(Transport):
    name = "smtp"
    max_batch = 1000

    def __init__(
        self,
        config: SmtpConfig,
        *,
        throttle: DomainThrottle | None = None,
        dkim: DkimSigner | None = None,
        tokens: TokenSigner | None = None,
    ) -> None:
        super().__init__()
        if config.bounce_domain and tokens is None:
            raise ConfigError("[smtp] bounce_domain needs the workspace's secret key to sign delivery tokens")
        self.config = config
        self.throttle = throttle or DomainThrottle(config.per_domain_rate)
        self.dkim = dkim
        self.tokens = tokens
        self.max_in_flight = config.connections
        # Batches small enough that every connection has one early in a send, and that
        # the last ones, when some connections are already idle, are short.
        self.max_batch = 1000 if config.connections == 1 else max(50, 400 // config.connections)
        self._idle: list[smtplib.SMTP] = []  # open connections no worker is using
        self._lock = threading.Lock()
        self._messages = FactoryCache()

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> SmtpTransport:
        config = smtp_config(workspace)
        tokens = TokenSigner(workspace.secret_keys()) if config.bounce_domain else None
        return cls(config, dkim=DkimSigner.from_workspace(workspace), tokens=tokens)

    def describe(self) -> str:
        c = self.config
        extras: list[str] = [c.security]
        if c.connections > 1:
            extras.append(f"{c.connections} connections")
        if self.dkim is not None:
            extras.append(f"DKIM {self.dkim.selector}._domainkey.{self.dkim.domain}")
        if c.bounce_domain:
            extras.append(f"bounces to {c.bounce_domain}")
        return f"smtp ({c.host}:{c.port}, {', '.join(extras)})"

    def open(self) -> None:
        # One connection at once, so that a wrong password or a server that is down stops
        # the send before anything is claimed; the others are opened as workers need them.
        self._give(self._connect())

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _take(self) -> smtplib.SMTP:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give(self, conn: smtplib.SMTP) -> None:
        with self._lock:
            self._idle.append(conn)

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
                login(conn, c.username, c.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            discard(conn)
            raise TransportAuthError(
                f"the SMTP server at {where} refused the username and password; check "
                f"{ENV_SMTP_URL} or [smtp] username/password_env",
                provider=PROVIDER,
                status=exc.smtp_code,
                body=reply_text(exc.smtp_error),
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            discard(conn)
            raise TransportError(f"the server at {where} does not support this: {exc}", provider=PROVIDER) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            discard(conn)
            raise TransportError(
                f"cannot connect to {where}: {exc.__class__.__name__}: {exc}", provider=PROVIDER
            ) from None
        return conn

    def envelope_sender(self, batch: Batch, recipient: PreparedRecipient) -> str:
        """The MAIL FROM of one message: its VERP address, or the From address."""
        if self.config.bounce_domain and self.tokens is not None:
            token = self.tokens.delivery_token(batch.campaign_id, recipient.key)
            return verp_address(self.config.bounce_domain, token)
        return batch.render.envelope.from_email

    def _send_batch(self, batch: Batch) -> list[Outcome]:
        """Every message of the batch on one connection of this worker's own."""
        factory = self._messages.get(batch.render, batch.campaign_key, batch.subject_prefix)
        outcomes: list[Outcome] = []
        broken: str | None = None
        conn: smtplib.SMTP | None = self._take()
        requests = 0
        try:
            for recipient in batch.recipients:
                if broken is not None:
                    outcomes.append(Outcome(recipient.key, DeliveryState.FAILED, error=broken))
                    continue
                address = wire_address(recipient.email)
                conn = conn or self._connect()
                utf8 = not address.isascii()
                if utf8 and not offers_smtputf8(conn):
                    # MAIL/RCPT and the To: header carry a non-ASCII local part only where the
                    # server offers SMTPUTF8 (RFC 6531); smtplib would raise mid-batch.
                    outcomes.append(Outcome(recipient.key, DeliveryState.FAILED, error=NON_ASCII_ERROR))
                    continue
                self.throttle.wait(address)
                data, message_id = factory.build(address, recipient.substitutions, recipient.headers)
                if self.dkim is not None:
                    data = self.dkim.sign(data)
                requests += 1
                outcome, conn, broken = self._one(conn, self.envelope_sender(batch, recipient), address, data, utf8)
                sent = outcome.status is DeliveryState.SENT
                outcomes.append(replace(outcome, key=recipient.key, message_id=message_id if sent else None))
        finally:
            with self._lock:
                self.stats.requests += requests
            if conn is not None:
                self._give(conn)
        return outcomes

    def _one(
        self, conn: smtplib.SMTP, sender: str, address: str, data: bytes, utf8: bool
    ) -> tuple[Outcome, smtplib.SMTP | None, str | None]:
        """One message: its outcome (key 0: the caller's), the connection to go on with
        (None if it broke and could not be reopened) and, then, why the rest are not sent."""
        try:
            send_one(conn, sender, address, data, smtputf8=utf8)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            return Outcome(0, DeliveryState.FAILED, error=f"SMTP {code}: {reply_text(reply)}"), conn, None
        except smtplib.SMTPResponseException as exc:
            # Refused at MAIL FROM or DATA with a reply code: not accepted.
            error = f"SMTP {exc.smtp_code}: {reply_text(exc.smtp_error)}"
            return Outcome(0, DeliveryState.FAILED, error=error), conn, None
        except (smtplib.SMTPException, OSError) as exc:
            discard(conn)
            try:
                fresh = self._connect()
            except TransportAuthError:
                raise
            except TransportError as reconnect:
                return lost(0, exc), None, f"not sent: {reconnect}"
            return lost(0, exc), fresh, None
        return Outcome(0, DeliveryState.SENT), conn, None
