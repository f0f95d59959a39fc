"""Signed tokens: unsubscribe links and review links, the one place they are made and read.

An unsubscribe token signs (contact id, campaign id) with itsdangerous under
BULLETIN_SECRET_KEY. It has no expiry, because people unsubscribe from old emails. Keys in
BULLETIN_OLD_SECRET_KEYS still verify, so a key can be rotated without breaking links
already sent. A review token (`ReviewSigner`) signs a bulletin key, its content hash and
an expiry, under another salt, so neither kind of token is ever taken for the other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import urlsafe_b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer

SALT = "bulletin.unsubscribe.v1"
DELIVERY_SALT = "bulletin.delivery.v1"
# A delivery token in a VERP address: campaign-delivery-mac, lower-case hex and digits, so
# that it survives relays that fold the case of local parts and stays well inside the
# 64 octets RFC 5321 4.5.3.1.1 allows a local part (80 bits of HMAC: a forger must guess).
_DELIVERY = re.compile(r"([0-9]{1,12})-([0-9]{1,15})-([0-9a-f]{20})", re.IGNORECASE)
VERP_PREFIX = "bounces+"
_VERP = re.compile(rb"bounces\+([0-9]{1,12}-[0-9]{1,15}-[0-9a-f]{20})@", re.IGNORECASE)
_URL_SAFE = re.compile(r"[A-Za-z0-9._-]+")  # what urllib.parse.quote leaves as it is


@dataclass(frozen=True)
class UnsubscribeClaim:
    """What a valid token says: who, and from which campaign (0 for a test or sample)."""

    contact_id: int
    campaign_id: int


@dataclass(frozen=True)
class DeliveryClaim:
    """What a valid delivery token says: which ledger row of which campaign (0, 0 for a
    test copy)."""

    campaign_id: int
    delivery_id: int


class InvalidToken(Exception):
    """The token is malformed, tampered with, or signed by a key we no longer hold."""


class TokenSigner:
    """Makes and verifies unsubscribe tokens. `keys` is newest first."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        # itsdangerous signs with the last key and verifies with any of them.
        self._serializer = URLSafeSerializer(
            list(reversed(keys)), salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )
        signer = self._serializer.make_signer(SALT)
        self._key = signer.derive_key()  # derived once, not per token
        self._sep = signer.sep.encode() if isinstance(signer.sep, str) else signer.sep
        probes = ((0, 0), (1, 0), (123_456_789, 42), (7, 2**40))
        self._fast = all(self._make_fast(c, k) == self._make_slow(c, k) for c, k in probes)
        # Delivery tokens: every key verifies, the newest signs (as for unsubscribe tokens).
        self._delivery_keys = [
            URLSafeSerializer(key, salt=DELIVERY_SALT).make_signer(DELIVERY_SALT).derive_key() for key in keys
        ]

    def make(self, contact_id: int, campaign_id: int) -> str:
        """The token for one person in one campaign (campaign 0 for a test or sample).

        Send makes 100,000 of these in a run, so the signature is computed here with the
        key derived once; the result is itsdangerous's own URL-safe format, checked
        against `dumps` when the signer is made (and `dumps` is used if they differ).
        """
        if self._fast:
            return self._make_fast(contact_id, campaign_id)
        return self._make_slow(contact_id, campaign_id)

    def _make_slow(self, contact_id: int, campaign_id: int) -> str:
        return str(self._serializer.dumps([contact_id, campaign_id]))

    def _make_fast(self, contact_id: int, campaign_id: int) -> str:
        # The JSON itsdangerous writes for two integers; zlib never shortens it, so
        # itsdangerous does not compress it either.
        payload = urlsafe_b64encode(f"[{int(contact_id)},{int(campaign_id)}]".encode()).rstrip(b"=")
        signature = urlsafe_b64encode(hmac.digest(self._key, payload, "sha256")).rstrip(b"=")
        return (payload + self._sep + signature).decode("ascii")

    def read(self, token: str) -> UnsubscribeClaim:
        try:
            data = self._serializer.loads(token)
        except (BadData, UnicodeError, ValueError) as exc:
            raise InvalidToken("bad token") from exc
        if (
            not isinstance(data, list)
            or len(data) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in data)
        ):
            raise InvalidToken("bad token payload")
        return UnsubscribeClaim(contact_id=data[0], campaign_id=data[1])


    def delivery_token(self, campaign_id: int, delivery_id: int) -> str:
        """The token a VERP envelope sender carries, naming one delivery of one campaign."""
        return f"{int(campaign_id)}-{int(delivery_id)}-{self._delivery_mac(self._delivery_keys[0], campaign_id, delivery_id)}"

    def read_delivery_token(self, token: str) -> DeliveryClaim:
        match = _DELIVERY.fullmatch(token)
        if match is None:
            raise InvalidToken("bad delivery token")
        campaign_id, delivery_id, mac = int(match[1]), int(match[2]), match[3].lower()
        for key in self._delivery_keys:
            if hmac.compare_digest(mac, self._delivery_mac(key, campaign_id, delivery_id)):
                return DeliveryClaim(campaign_id=campaign_id, delivery_id=delivery_id)
        raise InvalidToken("bad delivery token signature")

    @staticmethod
    def _delivery_mac(key: bytes, campaign_id: int, delivery_id: int) -> str:
        return hmac.digest(key, f"{int(campaign_id)}-{int(delivery_id)}".encode(), "sha256").hex()[:20]


def verp_address(domain: str, token: str) -> str:
    """The envelope sender (Return-Path) of one delivery: bounces+TOKEN@domain."""
    return f"{VERP_PREFIX}{token}@{domain}"


def verp_tokens(raw: bytes) -> list[str]:
    """Every delivery token in VERP addresses found in a message, first seen first."""
    return list(dict.fromkeys(m.decode("ascii").lower() for m in _VERP.findall(raw)))


def unsubscribe_url(base_url: str, token: str) -> str:
    """The https link for the footer and List-Unsubscribe."""
    return f"{base_url.rstrip('/')}/u/{token}"


def unsubscribe_mailto(address: str, token: str) -> str:
    """The mailto: alternative in List-Unsubscribe (RFC 2369)."""
    # Our tokens are URL-safe already; quote() costs more than the rest of the header.
    subject = "unsubscribe%20" + token if _URL_SAFE.fullmatch(token) else quote("unsubscribe " + token)
    return f"mailto:{address}?subject={subject}"


def list_unsubscribe_headers(base_url: str, mailto: str, token: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers for one recipient."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(base_url, token)}>, <{unsubscribe_mailto(mailto, token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


# -- review links ----------------------------------------------------------------------

REVIEW_SALT = "bulletin.review.v1"
REVIEW_FORM_SALT = "bulletin.review-form.v1"


@dataclass(frozen=True)
class ReviewClaim:
    """What a review link says: which bulletin, which exact content, until when (Unix time)."""

    key: str
    content_hash: str
    expires: int


class ExpiredToken(InvalidToken):
    """A genuine token whose time is up."""


class ReviewSigner:
    """Review links and their forms' CSRF tokens, signed with the secret key (older keys
    verify). A review token names the bulletin key and the content hash and carries its
    own expiry; a form token is bound to one review token and lives `form_max_age` seconds."""

    def __init__(self, keys: Sequence[str], form_max_age: int = 2 * 3600) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        signer = {"digest_method": hashlib.sha256}
        self._review = URLSafeSerializer(list(reversed(keys)), salt=REVIEW_SALT, signer_kwargs=signer)
        self._form = URLSafeTimedSerializer(list(reversed(keys)), salt=REVIEW_FORM_SALT, signer_kwargs=signer)
        self.form_max_age = form_max_age

    def make(self, key: str, content_hash: str, expires: int) -> str:
        return str(self._review.dumps({"k": key, "h": content_hash, "e": int(expires)}))

    def read(self, token: str, now: float) -> ReviewClaim:
        """The claim, or InvalidToken (tampered, malformed, unknown key) / ExpiredToken."""
        try:
            data = self._review.loads(token)
        except (BadData, UnicodeError, ValueError) as exc:
            raise InvalidToken("bad review token") from exc
        if not (
            isinstance(data, dict)
            and isinstance(data.get("k"), str)
            and isinstance(data.get("h"), str)
            and isinstance(data.get("e"), int)
        ):
            raise InvalidToken("bad review token payload")
        claim = ReviewClaim(key=data["k"], content_hash=data["h"], expires=data["e"])
        if now >= claim.expires:
            raise ExpiredToken("review link expired")
        return claim

    def form_token(self, review_token: str) -> str:
        return str(self._form.dumps(hashlib.sha256(review_token.encode()).hexdigest()))

    def check_form(self, review_token: str, form_token: str) -> bool:
        """Whether `form_token` was made for this review link's page, recently."""
        try:
            bound = self._form.loads(form_token, max_age=self.form_max_age)
        except (BadData, UnicodeError, ValueError):
            return False
        return isinstance(bound, str) and hmac.compare_digest(bound, hashlib.sha256(review_token.encode()).hexdigest())


def review_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/review/{token}"
