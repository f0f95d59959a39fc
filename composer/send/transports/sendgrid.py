"""SendGrid v3 `mail/send` through the official `sendgrid` client, one request per batch.

One request carries up to 1000 personalizations, one recipient each (SendGrid counts
every recipient against its limit of 1000), never the same address twice (the API
answers 400). Each personalization holds that person's `substitutions` (the compose merge
tokens), `headers` (List-Unsubscribe, RFC 8058) and `custom_args` (campaign and contact
ids, which come back on every Event Webhook event).

What an answer means for the ledger:
- 202 (or 200 in sandbox mode): accepted. The `X-Message-Id` is the request's id; SendGrid's
  per-recipient `sg_message_id` starts with it.
- 401/403: `TransportAuthError`; the run stops and nothing in the batch is marked sent.
- 429: wait until `X-RateLimit-Reset` (SendGrid sends no Retry-After), a bounded number
  of times.
- A 500 or 503 with SendGrid's own `{"errors": [...]}` body, a refused connection, or a
  failure while connecting or sending the request: SendGrid refused it or never had it
  whole, so retry with exponential backoff and jitter, bounded, then mark the batch failed.
- An answer that does not prove SendGrid refused the batch: 502 or 504 (a proxy or load
  balancer whose upstream may have taken the request), any 5xx without SendGrid's JSON
  error body, or a timeout or dropped connection after the whole request was sent.
  SendGrid may have accepted it, so the batch is `unknown`: never retried on its own
  (that gave people two copies), and resent only by --retry-unknown once the webhook's
  events have been checked.
- 400 and other 4xx: failed, with SendGrid's `errors[].message` and `field`.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import time
import urllib.error
from collections.abc import Callable
from typing import Any

from composer.errors import ConfigError, TransportAuthError, TransportError
from composer.identity import needs_smtputf8, wire_address
from composer.send.transports import SendGridSettings
from composer.send.transports.base import Batch, Outcome, PreparedRecipient, Transport
from composer.store.models import DeliveryState
from composer.workspace import Workspace

PROVIDER = "SendGrid"
DEFAULT_HOST = "https://api.sendgrid.com"
ENV_API_KEY = "SENDGRID_API_KEY"
ENV_API_HOST = "BULLETIN_SENDGRID_API_HOST"
MAX_PERSONALIZATIONS = 1000  # and 1000 recipients in all, per request
MAX_ARGS_BYTES = 10_000  # substitutions and custom_args, each, per personalization
NON_ASCII_LOCAL_PART = (
    "not sent: the part of the address before the @ has non-ASCII characters; SendGrid "
    "accepts such addresses and then drops the message, so it is not handed over"
)
_TOKEN = re.compile(r"%%BT\.[a-z_]+\.[ht]%%")


def _body_text(body: Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return "" if body is None else str(body)


def describe_errors(body: str) -> str:
    """SendGrid's `{"errors":[{"message","field"}]}` as one readable line."""
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return body.strip()[:500]
    parts = []
    for err in errors:
        if not isinstance(err, dict):
            continue
        text = str(err.get("message") or "").strip()
        if err.get("field"):
            text += f" (field {err['field']})"
        parts.append(text)
    return "; ".join(parts) or body.strip()[:500]


def is_sendgrid_refusal(status: int, body: str) -> bool:
    """Whether a 5xx answer is SendGrid's own refusal (its JSON error body), which proves
    the batch was not accepted. 502 and 504 come from a gateway that may have passed the
    request on, so they prove nothing, whatever their body."""
    if status in (502, 504):
        return False
    try:
        errors = json.loads(body).get("errors")
    except (ValueError, AttributeError):
        return False
    return isinstance(errors, list) and bool(errors)


def _json_size(mapping: dict[str, str]) -> int:
    """Bytes of `mapping` as compact JSON; a cheap upper bound first, exact only near the limit."""
    rough = 2 + sum(len(k) + 2 * len(v.encode("utf-8")) + 8 for k, v in mapping.items())
    if rough <= MAX_ARGS_BYTES:
        return rough
    return len(json.dumps(mapping, separators=(",", ":")).encode("utf-8"))


class SendGridTransport(Transport):
    name = "sendgrid"
    max_batch = MAX_PERSONALIZATIONS
    # Each batch is its own HTTP request (urllib opens a connection per request), so two
    # can be in flight: one waits for SendGrid while the next is encoded.
    max_in_flight = 2

    def __init__(
        self,
        api_key: str,
        *,
        host: str = DEFAULT_HOST,
        timeout: float = 30.0,
        max_retries: int = 5,
        asm_group_id: int | None = None,
        sandbox_mode: bool = False,
        track_opens: bool = False,
        track_clicks: bool = False,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_rate_limit_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        if not api_key:
            raise ConfigError(f"{ENV_API_KEY} is not set; the sendgrid transport needs an API key")
        if not host.startswith(("https://", "http://")):
            raise ConfigError(f"{ENV_API_HOST}: '{host}' is not an http(s) URL")
        from sendgrid import SendGridAPIClient

        self.host = host.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.asm_group_id = asm_group_id
        self.sandbox_mode = sandbox_mode
        self.track_opens = track_opens
        self.track_clicks = track_clicks
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._clock = clock
        self._client = SendGridAPIClient(api_key=api_key, host=self.host)
        self._token_cache: tuple[Any, frozenset[str]] | None = None
        self.send_at: int | None = None  # see schedule()
        self.batch_id: str | None = None

    @classmethod
    def from_workspace(cls, workspace: Workspace, **overrides: Any) -> SendGridTransport:
        settings = workspace.transport_settings("sendgrid", SendGridSettings) or SendGridSettings()
        options: dict[str, Any] = {
            "host": workspace.env.get(ENV_API_HOST) or DEFAULT_HOST,
            "timeout": settings.timeout,
            "max_retries": settings.max_retries,
            "asm_group_id": settings.asm_group_id,
            "sandbox_mode": settings.sandbox_mode,
            "track_opens": workspace.config.tracking.opens,
            "track_clicks": workspace.config.tracking.clicks,
        }
        options.update(overrides)
        return cls(workspace.env.get(ENV_API_KEY, ""), **options)

    def describe(self) -> str:
        extra = " (sandbox mode: nothing is delivered)" if self.sandbox_mode else ""
        return f"sendgrid ({self.host}){extra}"

    # -- build payload -------------------------------------------------------------------

    def build_payload(self, batch: Batch, recipients: list[PreparedRecipient]) -> dict[str, Any]:
        """The v3 mail/send body. Built as plain JSON data: the `Mail` helper's
        `add_personalization` inserts at index 0 and does not enforce the limits."""
        envelope = batch.render.envelope
        campaign = str(batch.campaign_id)
        used = self._used_tokens(batch)
        payload: dict[str, Any] = {
            "personalizations": [
                {
                    "to": [{"email": wire_address(r.email)}],
                    "substitutions": {k: v for k, v in r.substitutions.items() if k in used},
                    "headers": r.headers,
                    "custom_args": {"campaign_id": campaign, "contact_id": str(r.contact_id)},
                }
                for r in recipients
            ],
            "from": {"email": envelope.from_email, "name": envelope.from_name},
            "subject": batch.subject_prefix + envelope.subject,
            # text/plain must come before text/html (SendGrid rejects the other order).
            "content": [
                {"type": "text/plain", "value": batch.render.text},
                {"type": "text/html", "value": batch.render.html},
            ],
        }
        payload["tracking_settings"] = self.tracking_settings()
        if envelope.reply_to:
            payload["reply_to"] = {"email": envelope.reply_to}
        if envelope.list_id:
            payload["headers"] = {"List-Id": f"<{envelope.list_id}>"}
        if self.asm_group_id is not None:
            payload["asm"] = {"group_id": self.asm_group_id}
        if self.sandbox_mode:
            payload["mail_settings"] = {"sandbox_mode": {"enable": True}}
        if self.send_at is not None and self.batch_id is not None:
            payload["send_at"] = self.send_at
            payload["batch_id"] = self.batch_id
        return payload

    def tracking_settings(self) -> dict[str, Any]:
        """Explicit on every request: otherwise the account's defaults decide whether
        links are rewritten and a pixel added. Subscription tracking is always off: every
        message carries our own unsubscribe link and List-Unsubscribe headers."""
        return {
            "click_tracking": {"enable": self.track_clicks, "enable_text": self.track_clicks},
            "open_tracking": {"enable": self.track_opens},
            "subscription_tracking": {"enable": False},
        }

    def _used_tokens(self, batch: Batch) -> frozenset[str]:
        """The merge tokens this segment's email contains: only those need substitutions,
        which keeps each request (and SendGrid's work) small."""
        render = batch.render
        cached = self._token_cache
        if cached is None or cached[0] is not render:
            found = _TOKEN.findall(render.html + render.text + render.envelope.subject)
            cached = self._token_cache = (render, frozenset(found))
        return cached[1]

    # -- send ----------------------------------------------------------------------------

    def _send_batch(self, batch: Batch) -> list[Outcome]:
        outcomes: list[Outcome] = []
        sendable: list[PreparedRecipient] = []
        used = self._used_tokens(batch)
        for r in batch.recipients:
            if needs_smtputf8(r.email):
                outcomes.append(Outcome(r.key, DeliveryState.FAILED, error=NON_ASCII_LOCAL_PART))
            elif _json_size({k: v for k, v in r.substitutions.items() if k in used}) > MAX_ARGS_BYTES:
                outcomes.append(
                    Outcome(r.key, DeliveryState.FAILED, error="merge values over SendGrid's 10,000-byte substitutions limit")
                )
            else:
                sendable.append(r)
        if not sendable:
            return outcomes
        status, message_id, error = self._post(self.build_payload(batch, sendable))
        if status is DeliveryState.SENT and self.sandbox_mode:
            note = "SendGrid sandbox mode: the request was valid and nothing was delivered"
            if note not in self.stats.notes:
                self.stats.notes.append(note)
            outcomes.extend(Outcome(r.key, DeliveryState.FAILED, error=note) for r in sendable)
        else:
            outcomes.extend(Outcome(r.key, status, message_id=message_id, error=error) for r in sendable)
        return outcomes

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: between half the ceiling and the ceiling (AWS
        architecture blog, 'Exponential Backoff and Jitter'), so no retry comes sooner than half."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security

    def _rate_limit_wait(self, headers: Any) -> float:
        reset = None
        if headers is not None:
            try:
                reset = float(headers.get("X-RateLimit-Reset"))
            except (TypeError, ValueError):
                reset = None
        wait = (reset - self._clock()) if reset is not None else self.backoff_base
        return min(max(wait, 0.05), self.max_rate_limit_wait)

    def _post(self, payload: dict[str, Any]) -> tuple[DeliveryState, str | None, str | None]:
        """POST with the retry policy above: (status, message id, error)."""
        from python_http_client.exceptions import HTTPError

        attempt = 0
        rate_waits = 0
        while True:
            self.stats.requests += 1
            try:
                response = self._client.client.mail.send.post(request_body=payload, timeout=self.timeout)
            except HTTPError as exc:
                verdict = self._refused(exc, rate_waits)
                if verdict is None:  # rate limited, and waited
                    rate_waits += 1
                    continue
                if not isinstance(verdict, str):
                    return verdict
                reason = verdict
            except urllib.error.URLError as exc:
                # urllib wraps only errors raised while connecting and sending the request:
                # SendGrid cannot have accepted a request it did not receive whole.
                reason = f"{PROVIDER}: could not send the request to {self.host}: {exc.reason}"
            except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
                # The request went out and the answer did not come back.
                return (
                    DeliveryState.UNKNOWN,
                    None,
                    f"{PROVIDER}: no answer after the request was sent ({exc.__class__.__name__}: {exc}); "
                    "SendGrid may or may not have accepted it",
                )
            else:
                status = int(response.status_code)
                if status in (200, 202):
                    message_id = response.headers.get("X-Message-Id") if response.headers else None
                    return DeliveryState.SENT, message_id, None
                raise TransportError("unexpected answer", provider=PROVIDER, status=status, body=_body_text(response.body))
            if attempt >= self.max_retries:
                return DeliveryState.FAILED, None, f"{reason} (gave up after {attempt + 1} attempts)"
            self.stats.retries += 1
            self._sleep(self._backoff(attempt))
            attempt += 1

    def _refused(self, exc: Any, rate_waits: int) -> tuple[DeliveryState, str | None, str | None] | str | None:
        """What an HTTP error answer means: a final (status, id, error); a reason to retry
        after backoff (a str); or None once a 429's reset time has been waited for."""
        status = int(exc.status_code)
        body = _body_text(exc.body)
        if status in (401, 403):
            raise TransportAuthError(
                "the SendGrid API key was refused; check SENDGRID_API_KEY (it needs the "
                "Mail Send permission). Nothing in this batch was marked sent",
                provider=PROVIDER,
                status=status,
                body=body,
            ) from None
        if status == 429:
            self.stats.rate_limited += 1
            if rate_waits >= self.max_retries:
                return DeliveryState.FAILED, None, f"{PROVIDER} HTTP 429: still rate limited after {rate_waits} waits"
            self._sleep(self._rate_limit_wait(getattr(exc, "headers", None)))
            return None
        reason = f"{PROVIDER} HTTP {status}: {describe_errors(body)}"
        if status < 500:
            return DeliveryState.FAILED, None, reason
        if not is_sendgrid_refusal(status, body):
            return (
                DeliveryState.UNKNOWN,
                None,
                f"{PROVIDER}: HTTP {status} from a gateway, not SendGrid's own refusal; "
                "SendGrid may or may not have accepted the batch",
            )
        return reason

    # -- scheduled sends (SendGrid's "Cancel Scheduled Sends" API) ------------------------

    def schedule(self, send_at: int, batch_id: str) -> None:
        """Make every later request a scheduled send: SendGrid holds the messages until
        `send_at` (a Unix time, at most 72 hours ahead), under `batch_id`, which a cancel
        names."""
        self.send_at, self.batch_id = send_at, batch_id

    def new_batch_id(self) -> str:
        """POST /v3/mail/batch: a new batch id (201 {"batch_id": ...})."""
        body = self._call(lambda c: c.mail.batch.post(timeout=self.timeout), "create a batch id")
        batch_id = body.get("batch_id") if isinstance(body, dict) else None
        if not isinstance(batch_id, str) or not batch_id:
            raise TransportError("no batch_id in the answer to POST /v3/mail/batch", provider=PROVIDER, body=str(body))
        return batch_id

    def cancel_batch(self, batch_id: str) -> None:
        """POST /v3/user/scheduled_sends {"batch_id", "status": "cancel"}: SendGrid discards
        the batch's messages at their send time. It refuses within 10 minutes of it, and
        then raises TransportError with its answer."""
        self._call(
            lambda c: c.user.scheduled_sends.post(request_body={"batch_id": batch_id, "status": "cancel"}, timeout=self.timeout),
            f"cancel batch {batch_id}",
        )

    def _call(self, request: Callable[[Any], Any], what: str) -> Any:
        from python_http_client.exceptions import HTTPError

        self.stats.requests += 1
        try:
            response = request(self._client.client)
        except HTTPError as exc:
            status, body = int(exc.status_code), _body_text(exc.body)
            error = TransportAuthError if status in (401, 403) else TransportError
            raise error(f"could not {what}: {describe_errors(body)}", provider=PROVIDER, status=status, body=body) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise TransportError(f"could not {what}: no answer from {self.host} ({exc})", provider=PROVIDER) from None
        text = _body_text(response.body)
        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            return {}
