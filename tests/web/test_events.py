"""Normalization: SendGrid's vocabulary becomes ours before anything is stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from composer.web.events import (
    EventKind,
    MalformedEvents,
    NormalizedEvent,
    RejectReason,
    normalize,
    normalize_batch,
)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ({"event": "processed"}, EventKind.PROCESSED),
        ({"event": "delivered"}, EventKind.DELIVERED),
        ({"event": "deferred"}, EventKind.DEFERRED),
        ({"event": "bounce", "type": "bounce"}, EventKind.BOUNCED),
        ({"event": "bounce"}, EventKind.BOUNCED),
        ({"event": "bounce", "type": "blocked"}, EventKind.BLOCKED),
        ({"event": "dropped", "reason": "Bounced Address"}, EventKind.DROPPED),
        ({"event": "open"}, EventKind.OPENED),
        ({"event": "click"}, EventKind.CLICKED),
        ({"event": "spamreport"}, EventKind.COMPLAINED),
        ({"event": "unsubscribe"}, EventKind.UNSUBSCRIBED),
        ({"event": "group_unsubscribe"}, EventKind.GROUP_UNSUBSCRIBED),
        ({"event": "group_resubscribe"}, EventKind.GROUP_RESUBSCRIBED),
        ({"event": "account_status_change"}, EventKind.UNKNOWN),
        ({}, EventKind.UNKNOWN),
        ({"event": ["not", "a", "string"]}, EventKind.UNKNOWN),
    ],
)
def test_kinds(raw: dict[str, object], kind: EventKind) -> None:
    assert normalize(raw).kind is kind


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Bounced Address", RejectReason.BOUNCED),
        ("Invalid", RejectReason.INVALID),
        ("Unsubscribed Address", RejectReason.UNSUBSCRIBED),
        ("Spam Reporting Address", RejectReason.COMPLAINED),
        ("Invalid SMTPAPI header", RejectReason.OTHER),
        (None, RejectReason.OTHER),
    ],
)
def test_dropped_reasons(reason: str | None, expected: RejectReason) -> None:
    assert normalize({"event": "dropped", "reason": reason}).reject_reason is expected


def test_fields_and_custom_args() -> None:
    got = normalize(
        {
            "event": "group_unsubscribe",
            "email": " Dana@Example.org ",
            "timestamp": 1781000000,
            "sg_event_id": "abc",
            "asm_group_id": 42,
            "campaign_id": "12",
            "contact_id": "34",
            "smtp-id": "<x@y>",
            "category": ["a"],
            "useragent": "Mozilla",
        }
    )
    assert got == NormalizedEvent(
        kind=EventKind.GROUP_UNSUBSCRIBED,
        raw_type="group_unsubscribe",
        event_id="abc",
        email="Dana@Example.org",
        occurred_at=datetime.fromtimestamp(1781000000, tz=UTC),
        campaign_id=12,
        contact_id=34,
        group_id=42,
        detail={"asm_group_id": 42},
    )


@pytest.mark.parametrize("value", ["abc", "-3", "0", True, 1.5, None, "99999999999999999999", [1]])
def test_bad_custom_args_become_none(value: object) -> None:
    got = normalize({"event": "open", "campaign_id": value, "contact_id": value, "timestamp": "x"})
    assert got.campaign_id is None and got.contact_id is None and got.occurred_at is None


def test_batch_shape() -> None:
    assert [e.kind for e in normalize_batch([{"event": "open"}, {"event": "click"}])] == [
        EventKind.OPENED,
        EventKind.CLICKED,
    ]
    with pytest.raises(MalformedEvents):
        normalize_batch({"event": "open"})
    with pytest.raises(MalformedEvents):
        normalize_batch([{"event": "open"}, "click"])


def test_normalized_events_are_frozen() -> None:
    event = normalize({"event": "open"})
    with pytest.raises(AttributeError):
        event.kind = EventKind.CLICKED  # type: ignore[misc]
