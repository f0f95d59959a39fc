"""POST /webhooks/sendgrid: the signed Event Webhook.

Order matters: check the signature over the bytes exactly as received, then parse, then
normalize, then store. Anything wrong with the signature, the key or the headers is a
403 and never a 500, so a probe learns nothing and SendGrid is told plainly.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import re
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from composer.errors import StoreError
from composer.identity import AddressHasher
from composer.store.db import Store
from composer.web.events import MalformedEvents, normalize_batch
from composer.web.ingest import ingest
from composer.web.limits import BodyTooLarge, read_body

log = logging.getLogger("bulletin.web")

ENV_PUBLIC_KEY = "SENDGRID_WEBHOOK_PUBLIC_KEY"
SIGNATURE_HEADER = EventWebhookHeader.SIGNATURE
TIMESTAMP_HEADER = EventWebhookHeader.TIMESTAMP
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024  # SendGrid batches up to ~768 KB; leave room

# How old a signed timestamp may be. SendGrid does not document whether a retry is signed
# again with a new timestamp, and it retries a batch for 24 hours after any non-2xx
# answer, so a retry may carry the first attempt's timestamp: allow 24 h plus an hour.
# Replays inside the window are harmless (events are deduplicated by their key). A
# timestamp from the future is a forgery or a wrong clock: allow a few minutes of skew.
MAX_TIMESTAMP_AGE = 25 * 3600
MAX_TIMESTAMP_AHEAD = 5 * 60
_DIGITS = re.compile(r"[0-9]{1,12}")


def timestamp_problem(value: str, now: float) -> str | None:
    """Why the signed timestamp header (unix seconds) is refused, or None."""
    if not _DIGITS.fullmatch(value):
        return "the timestamp is not a number of seconds"
    age = now - int(value)
    if age > MAX_TIMESTAMP_AGE:
        return f"the timestamp is {age / 3600:,.0f} hours old"
    if -age > MAX_TIMESTAMP_AHEAD:
        return f"the timestamp is {-age / 60:,.0f} minutes in the future"
    return None


class PublicKeyError(ValueError):
    """The configured public key cannot be used."""


def load_public_key(value: str | None) -> ec.EllipticCurvePublicKey | None:
    """SENDGRID_WEBHOOK_PUBLIC_KEY (base64 SubjectPublicKeyInfo DER, no PEM armour).

    Returns None when unset; raises PublicKeyError when set but unusable.
    """
    if value is None or not value.strip():
        return None
    text = "".join(value.split())
    try:
        der = base64.b64decode(text, validate=True)
        key = load_der_public_key(der)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise PublicKeyError(f"{ENV_PUBLIC_KEY} is not a base64 DER public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise PublicKeyError(f"{ENV_PUBLIC_KEY} is not an elliptic-curve (ECDSA) key")
    return key


class SignatureVerifier:
    """Checks SendGrid's ECDSA P-256/SHA-256 signature over timestamp + raw body."""

    def __init__(self, key: ec.EllipticCurvePublicKey | None) -> None:
        self._key = key

    @property
    def configured(self) -> bool:
        return self._key is not None

    def verify(self, signature: str | None, timestamp: str | None, body: bytes) -> bool:
        if self._key is None or not signature or not timestamp:
            return False
        try:
            decoded = base64.b64decode(signature.strip(), validate=True)
            # Header values arrive as latin-1 text; encode back to the bytes that were signed.
            signed = timestamp.encode("latin-1") + body
            self._key.verify(decoded, signed, ec.ECDSA(hashes.SHA256()))
        except (binascii.Error, ValueError, UnicodeError, InvalidSignature):
            return False
        return True


class SendGridWebhook:
    """The endpoint: verify, parse, normalize, ingest."""

    def __init__(
        self,
        store: Store,
        hasher: AddressHasher,
        verifier: SignatureVerifier,
        max_bytes: int = MAX_WEBHOOK_BYTES,
        *,
        per_person: bool = False,
    ) -> None:
        self.per_person = per_person  # [tracking] per_person: keep who opened and clicked
        self.store = store
        self.hasher = hasher
        self.verifier = verifier
        self.max_bytes = max_bytes

    async def handle(self, request: Request) -> Response:
        signature = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not self.verifier.configured or not signature or not timestamp:
            # Refuse before reading the body: nothing unsigned is worth receiving.
            return _forbidden()
        try:
            body = await read_body(request, self.max_bytes)
        except BodyTooLarge:
            return PlainTextResponse("request body too large\n", status_code=413)
        if not self.verifier.verify(signature, timestamp, body):
            log.warning("webhook: refused a request with a bad signature")
            return _forbidden()
        if (stale := timestamp_problem(timestamp, time.time())) is not None:
            # Checked after the signature, so a forger cannot learn our clock from it.
            log.warning("webhook: refused a signed request: %s", stale)
            return _forbidden()
        try:
            events = normalize_batch(json.loads(body))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # json.JSONDecodeError and MalformedEvents are both ValueErrors.
            what = str(exc) if isinstance(exc, MalformedEvents) else "body is not valid JSON"
            return PlainTextResponse(f"bad request: {what}\n", status_code=400)
        try:
            result = await run_in_threadpool(
                functools.partial(ingest, per_person=self.per_person), self.store, self.hasher, events
            )
        except StoreError as exc:
            # 5xx makes SendGrid retry the batch (for up to 24 hours).
            log.error("webhook: store error, asking SendGrid to retry: %s", exc)
            return PlainTextResponse("store unavailable, retry later\n", status_code=503)
        return JSONResponse(
            {
                "received": result.received,
                "stored": result.stored,
                "duplicates": result.duplicates,
            }
        )


def _forbidden() -> Response:
    return PlainTextResponse("forbidden\n", status_code=403)
