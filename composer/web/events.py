"""SendGrid Event Webhook events, normalized into our own kinds before anything else sees them.

Like anymail's webhooks, the provider's vocabulary stops here: the store and every rule
about suppressions or the ledger deal only in `NormalizedEvent`. A field SendGrid sends
in an unexpected shape becomes None rather than an error, because one odd event must not
make SendGrid retry a whole batch for 24 hours.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from composer.safetext import first_control

PROVIDER = "sendgrid"
MAX_ADDRESS_CHARS = 320  # RFC 3696's 64 + 1 + 255; the events.email column's size

log = logging.getLogger("bulletin.web")


class EventKind(StrEnum):
    """Our event kinds (stored in `events.kind`)."""

    PROCESSED = "processed"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    BLOCKED = "blocked"
    DROPPED = "dropped"
    OPENED = "opened"
    CLICKED = "clicked"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"
    GROUP_UNSUBSCRIBED = "group_unsubscribed"
    GROUP_RESUBSCRIBED = "group_resubscribed"
    UNKNOWN = "unknown"


class RejectReason(StrEnum):
    """Why SendGrid dropped a message without trying to deliver it."""

    BOUNCED = "bounced"  # "Bounced Address": on SendGrid's bounce list
    INVALID = "invalid"  # "Invalid": not a deliverable address
    UNSUBSCRIBED = "unsubscribed"  # "Unsubscribed Address"
    COMPLAINED = "complained"  # "Spam Reporting Address"
    OTHER = "other"


# SendGrid `event` → our kind. `bounce` is split by its `type` below.
_KINDS: dict[str, EventKind] = {
    "processed": EventKind.PROCESSED,
    "delivered": EventKind.DELIVERED,
    "deferred": EventKind.DEFERRED,
    "bounce": EventKind.BOUNCED,
    "blocked": EventKind.BLOCKED,
    "dropped": EventKind.DROPPED,
    "open": EventKind.OPENED,
    "click": EventKind.CLICKED,
    "spamreport": EventKind.COMPLAINED,
    "unsubscribe": EventKind.UNSUBSCRIBED,
    "group_unsubscribe": EventKind.GROUP_UNSUBSCRIBED,
    "group_resubscribe": EventKind.GROUP_RESUBSCRIBED,
}

# The `reason` of a dropped event (lower-cased) → why. SendGrid's documented values.
_DROP_REASONS: dict[str, RejectReason] = {
    "bounced address": RejectReason.BOUNCED,
    "invalid": RejectReason.INVALID,
    "invalid address": RejectReason.INVALID,
    "unsubscribed address": RejectReason.UNSUBSCRIBED,
    "spam reporting address": RejectReason.COMPLAINED,
}

# Fields worth keeping with the stored event (the address itself has its own column).
_DETAIL_KEYS = (
    "sg_message_id",
    "reason",
    "response",
    "status",
    "type",
    "bounce_classification",
    "attempt",
    "url",
    "asm_group_id",
    "sg_machine_open",  # Apple Mail Privacy Protection fetched the pixel, not the reader
)


@dataclass(frozen=True)
class NormalizedEvent:
    """One provider event in our terms: the only thing that reaches the store."""

    kind: EventKind
    raw_type: str
    provider: str = PROVIDER
    event_id: str | None = None
    email: str | None = None
    occurred_at: datetime | None = None
    campaign_id: int | None = None
    contact_id: int | None = None
    group_id: int | None = None
    reject_reason: RejectReason | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


class MalformedEvents(ValueError):
    """The body is JSON but not a list of event objects."""


def normalize_batch(payload: Any) -> list[NormalizedEvent]:
    """A parsed webhook body (a JSON array of objects) → normalized events, in order."""
    if not isinstance(payload, list):
        raise MalformedEvents("expected a JSON array of events")
    events: list[NormalizedEvent] = []
    for position, item in enumerate(payload):
        if not isinstance(item, dict):
            raise MalformedEvents(f"event {position} is not a JSON object")
        refused = _refused_address(item.get("email"))
        if refused is not None:
            # Skipped, not mended: "nul\u0000x@…" with the NUL dropped would suppress
            # nulx@…, someone else. The rest of the batch is still stored. No address
            # in the log.
            log.warning("webhook: skipped event %d (%s): its email %s", position, _text(item.get("event"), 40), refused)
            continue
        events.append(normalize(item))
    return events


def _refused_address(value: Any) -> str | None:
    """Why an event's address cannot be trusted to name one person, or None."""
    if not isinstance(value, str):
        return None  # no address: stored as an event without one
    if first_control(value) is not None:
        return "holds a control character"
    if len(value.strip()) > MAX_ADDRESS_CHARS:
        return f"is longer than {MAX_ADDRESS_CHARS} characters"
    return None


def event_key(raw: Mapping[str, Any]) -> str:
    """The event's `sg_event_id`, or a stable key derived from the event itself.

    SendGrid documents `sg_event_id` as unique per event but not every event carries
    one; without a key a replayed batch would be stored again on every post. The
    derived key is a hash of the event's canonical JSON (sorted keys, no spacing), so
    the same event posted again, however re-serialized, gets the same key.
    """
    given = _text(raw.get("sg_event_id"), 100)
    if given is not None:
        return given
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def normalize(raw: Mapping[str, Any]) -> NormalizedEvent:
    """One SendGrid event → a `NormalizedEvent`."""
    raw_type = _text(raw.get("event"), 40) or ""
    kind = _KINDS.get(raw_type, EventKind.UNKNOWN)
    reject_reason: RejectReason | None = None
    if kind is EventKind.BOUNCED and str(raw.get("type", "")).lower() == "blocked":
        # A bounce of type "blocked" is a temporary refusal by the receiving server.
        kind = EventKind.BLOCKED
    elif kind is EventKind.DROPPED:
        cause = str(raw.get("reason") or raw.get("type") or "").strip().lower()
        reject_reason = _DROP_REASONS.get(cause, RejectReason.OTHER)
    group_id = _int(raw.get("asm_group_id"))
    detail = {
        key: _clean(raw[key]) if isinstance(raw[key], str) else raw[key]
        for key in _DETAIL_KEYS
        if key in raw and _plain(raw[key])
    }
    return NormalizedEvent(
        kind=kind,
        raw_type=raw_type,
        event_id=event_key(raw),
        email=_text(raw.get("email"), MAX_ADDRESS_CHARS),
        occurred_at=_time(raw.get("timestamp")),
        # Our custom_args come back as top-level keys of each event (as strings).
        campaign_id=_int(raw.get("campaign_id")),
        contact_id=_int(raw.get("contact_id")),
        group_id=group_id,
        reject_reason=reject_reason,
        detail=detail,
    )


def _clean(value: str) -> str:
    """Text every store accepts: no NUL (PostgreSQL refuses it), no lone surrogates.

    One event the database cannot take would fail its whole batch again on every retry
    for 24 hours, so odd text is mended here rather than refused there.
    """
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = _clean(value).strip()
    return text[:limit] or None


# Our ids and SendGrid's group ids live in 32-bit integer columns.
_MAX_ID = 2**31 - 1


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= _MAX_ID else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 10:
        number = int(value.strip())
        return number if 0 < number <= _MAX_ID else None
    return None


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _plain(value: Any) -> bool:
    """Keep scalars and short strings only; the detail column is not a dump of the event."""
    if isinstance(value, str):
        return len(value) <= 2000
    if isinstance(value, float):
        return math.isfinite(value)  # NaN and Infinity are not JSON
    return value is None or (isinstance(value, int) and abs(value) < 2**53)
