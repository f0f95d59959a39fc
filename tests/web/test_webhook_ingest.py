"""What a verified webhook batch does to the store: dedupe, suppress, ledger, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from composer.identity import AddressHasher
from composer.store import suppressions
from composer.store.db import Store
from composer.store.models import AuditEntry, Delivery, Event, Suppression
from composer.web.app import create_app
from tests.web.conftest import (
    WebhookKeys,
    add_campaign,
    add_contact,
    add_delivery,
    body_of,
    event,
)

URL = "/webhooks/sendgrid"


def post(client: TestClient, keys: WebhookKeys, events: list[dict[str, Any]]) -> Any:
    body = body_of(events)
    return client.post(URL, content=body, headers=keys.headers(body))


def suppression(store: Store, hasher: AddressHasher, email: str) -> Suppression | None:
    with store.session() as s:
        return suppressions.find(s, hasher, email)


@pytest.fixture
def hasher(serve_workspace) -> AddressHasher:  # type: ignore[no-untyped-def]
    return AddressHasher(serve_workspace.secret_keys())


def test_event_replayed_twice_is_stored_once(client: TestClient, webhook_keys: WebhookKeys, store: Store) -> None:
    batch = [event("delivered", "a@example.org", "ev-1"), event("open", "a@example.org", "ev-2")]
    first = post(client, webhook_keys, batch)
    again = post(client, webhook_keys, batch)
    assert first.status_code == again.status_code == 200
    assert first.json()["stored"] == 2
    assert again.json() == {"received": 2, "stored": 0, "duplicates": 2}
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 2


def test_repeat_within_one_batch_is_stored_once(client: TestClient, webhook_keys: WebhookKeys, store: Store) -> None:
    batch = [event("delivered", "a@example.org", "ev-1")] * 3
    assert post(client, webhook_keys, batch).json()["stored"] == 1
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 1


def test_replayed_resubscribe_does_not_undo_a_later_unsubscribe(
    client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher
) -> None:
    email = "g@example.org"
    post(client, webhook_keys, [event("group_unsubscribe", email, "u1", asm_group_id=7)])
    post(client, webhook_keys, [event("group_resubscribe", email, "r1", asm_group_id=7)])
    post(client, webhook_keys, [event("group_unsubscribe", email, "u2", asm_group_id=7)])
    # SendGrid retries r1: it must not lift the newer unsubscribe.
    post(client, webhook_keys, [event("group_resubscribe", email, "r1", asm_group_id=7)])
    assert suppression(store, hasher, email) is not None


@pytest.mark.parametrize(
    ("raw", "extra", "reason"),
    [
        ("unsubscribe", {}, "unsubscribed"),
        ("group_unsubscribe", {"asm_group_id": 42}, "unsubscribed"),
        ("spamreport", {}, "complained"),
        ("bounce", {"type": "bounce", "reason": "550 5.1.1 no such user"}, "bounced"),
        ("dropped", {"reason": "Bounced Address"}, "bounced"),
        ("dropped", {"reason": "Invalid"}, "bounced"),
    ],
)
def test_suppressing_events(
    client: TestClient,
    webhook_keys: WebhookKeys,
    store: Store,
    hasher: AddressHasher,
    raw: str,
    extra: dict[str, Any],
    reason: str,
) -> None:
    email = "Person@Example.org"
    assert post(client, webhook_keys, [event(raw, email, "ev-" + raw, **extra)]).status_code == 200
    row = suppression(store, hasher, email)
    assert row is not None
    assert row.reason == reason
    assert row.source == "sendgrid-webhook"
    assert row.group_id == extra.get("asm_group_id")
    with store.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "suppress")).one()
        assert entry.actor == "sendgrid-webhook"
        assert "example.org" not in json.dumps(entry.detail).lower()


@pytest.mark.parametrize(
    ("raw", "extra", "kind"),
    [
        ("bounce", {"type": "blocked", "reason": "421 try later"}, "blocked"),
        ("blocked", {}, "blocked"),
        ("deferred", {"response": "400 try again later", "attempt": "5"}, "deferred"),
        ("dropped", {"reason": "Unsubscribed Address"}, "dropped"),
        ("dropped", {"reason": "Invalid SMTPAPI header"}, "dropped"),
        ("processed", {}, "processed"),
        ("some_new_event", {}, "unknown"),
    ],
)
def test_record_only_events(
    client: TestClient,
    webhook_keys: WebhookKeys,
    store: Store,
    hasher: AddressHasher,
    raw: str,
    extra: dict[str, Any],
    kind: str,
) -> None:
    email = "kept@example.org"
    assert post(client, webhook_keys, [event(raw, email, "ev-x", **extra)]).status_code == 200
    assert suppression(store, hasher, email) is None
    with store.session() as s:
        stored = s.scalars(select(Event)).one()
        assert stored.kind == kind
        assert stored.raw_type == raw
        assert stored.email_hash == hasher.hash(email)


def test_group_resubscribe_lifts_only_that_groups_unsubscribe(
    client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher
) -> None:
    post(
        client,
        webhook_keys,
        [
            event("group_unsubscribe", "same@example.org", "u1", asm_group_id=7),
            event("group_unsubscribe", "other@example.org", "u2", asm_group_id=8),
            event("spamreport", "complainer@example.org", "u3"),
            event("unsubscribe", "global@example.org", "u4"),
        ],
    )
    post(
        client,
        webhook_keys,
        [
            event("group_resubscribe", "same@example.org", "r1", asm_group_id=7),
            event("group_resubscribe", "other@example.org", "r2", asm_group_id=7),
            event("group_resubscribe", "complainer@example.org", "r3", asm_group_id=7),
            event("group_resubscribe", "global@example.org", "r4", asm_group_id=7),
        ],
    )
    assert suppression(store, hasher, "same@example.org") is None
    assert suppression(store, hasher, "other@example.org") is not None  # group 8, not 7
    assert suppression(store, hasher, "complainer@example.org") is not None
    assert suppression(store, hasher, "global@example.org") is not None  # not a group unsubscribe


def test_group_resubscribe_never_lifts_an_erasure(
    client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher
) -> None:
    with store.session() as s:
        suppressions.suppress(s, hasher, "gone@example.org", reason="erased", source="cli", group_id=7)
    post(client, webhook_keys, [event("group_resubscribe", "gone@example.org", "r1", asm_group_id=7)])
    row = suppression(store, hasher, "gone@example.org")
    assert row is not None and row.reason == "erased"


def test_ledger_is_updated_and_state_kept(
    per_person_client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher
) -> None:
    client = per_person_client
    email = "reader@example.org"
    contact = add_contact(store, email, first_name="Rita")
    campaign = add_campaign(store)
    delivery_id = add_delivery(store, hasher, campaign, contact, email)
    args = {"campaign_id": str(campaign), "contact_id": str(contact)}
    post(
        client,
        webhook_keys,
        [
            event("delivered", email, "d1", **args),
            event("open", email, "o1", **args) | {"timestamp": 1781000100},
            event("click", email, "c1", url="https://bulletin.example/x", **args)
            | {"timestamp": 1781000200},
            # A later open does not move the first one.
            event("open", email, "o2", **args) | {"timestamp": 1781009999},
        ],
    )
    with store.session() as s:
        delivery = s.get(Delivery, delivery_id)
        assert delivery is not None
        assert delivery.state == "sent"
        assert delivery.delivered_at is not None
        assert delivery.opened_at is not None and delivery.clicked_at is not None
        assert int(delivery.delivered_at.timestamp()) == 1781000000
        assert int(delivery.opened_at.timestamp()) == 1781000100
        assert int(delivery.clicked_at.timestamp()) == 1781000200
        events = s.scalars(select(Event).order_by(Event.id)).all()
        assert {(e.campaign_id, e.contact_id) for e in events} == {(campaign, contact)}


def test_without_per_person_opens_and_clicks_are_counted_not_kept(
    client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher
) -> None:
    from composer.store import tallies

    email = "reader@example.org"
    contact = add_contact(store, email)
    campaign = add_campaign(store)
    delivery_id = add_delivery(store, hasher, campaign, contact, email)
    args = {"campaign_id": str(campaign), "contact_id": str(contact)}
    url = "https://bulletin.example/x?who=reader@example.org"
    post(
        client,
        webhook_keys,
        [
            event("delivered", email, "d1", **args),
            event("open", email, "o1", **args),
            event("open", email, "o2", sg_machine_open=True, **args),
            event("click", email, "c1", url=url, **args),
        ],
    )
    with store.session() as s:
        delivery = s.get(Delivery, delivery_id)
        assert delivery is not None and delivery.delivered_at is not None
        assert delivery.opened_at is None and delivery.clicked_at is None
        kept = {e.kind: e for e in s.scalars(select(Event))}
        assert kept["delivered"].email == email and kept["delivered"].contact_id == contact
        for kind in ("opened", "clicked"):
            assert (kept[kind].email, kept[kind].email_hash, kept[kind].contact_id, kept[kind].detail) == (
                None, None, None, {},
            )  # fmt: skip
        rows = tallies.for_campaign(s, campaign)
    counted = {(r.kind, r.machine, r.link): r.count for r in rows}
    assert counted == {
        ("delivered", False, None): 1,
        ("opened", False, None): 1,
        ("opened", True, None): 1,
        ("clicked", False, "https://bulletin.example/x?who=(address)"): 1,
    }
    assert {r.variant for r in rows} == {"all"}


def test_ledger_falls_back_to_the_address_without_contact_id(
    client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher
) -> None:
    email = "reader@example.org"
    contact = add_contact(store, email)
    campaign = add_campaign(store)
    delivery_id = add_delivery(store, hasher, campaign, contact, email)
    post(client, webhook_keys, [event("delivered", email.upper(), "d1", campaign_id=str(campaign))])
    with store.session() as s:
        delivery = s.get(Delivery, delivery_id)
        assert delivery is not None and delivery.delivered_at is not None


def test_event_for_unknown_address_is_stored_and_harms_nothing(
    client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher
) -> None:
    known = "known@example.org"
    contact = add_contact(store, known)
    campaign = add_campaign(store)
    delivery_id = add_delivery(store, hasher, campaign, contact, known)
    response = post(
        client,
        webhook_keys,
        [
            event("delivered", "stranger@example.net", "s1", campaign_id="999", contact_id="998"),
            event("open", "stranger@example.net", "s2", campaign_id=str(campaign), contact_id="abc"),
        ],
    )
    assert response.status_code == 200
    with store.session() as s:
        delivery = s.get(Delivery, delivery_id)
        assert delivery is not None and delivery.delivered_at is None and delivery.opened_at is None
        stored = s.scalars(select(Event).order_by(Event.id)).all()
        assert len(stored) == 2
        assert stored[0].contact_id is None and stored[0].campaign_id is None
        assert stored[0].detail["unknown_contact_id"] == 998
    assert suppression(store, hasher, known) is None


def test_malformed_json_is_400(client: TestClient, webhook_keys: WebhookKeys) -> None:
    for body in (b"[{not json", b'{"event": "open"}', b"[1, 2]", b"\xff\xfe"):
        response = client.post(URL, content=body, headers=webhook_keys.headers(body))
        assert response.status_code == 400, body


def test_oversized_body_is_413(client: TestClient, webhook_keys: WebhookKeys, store: Store) -> None:
    big = body_of([event("open", "a@example.org", f"ev-{i}", pad="x" * 2000) for i in range(3000)])
    assert len(big) > 5 * 1024 * 1024
    response = client.post(URL, content=big, headers=webhook_keys.headers(big))
    assert response.status_code == 413
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0


def test_oversized_body_without_content_length_is_413(
    client: TestClient, webhook_keys: WebhookKeys
) -> None:
    chunk = b" " * (1024 * 1024)
    body = b"[" + chunk * 6 + b"]"
    headers = webhook_keys.headers(body)

    def stream():  # type: ignore[no-untyped-def]
        yield b"["
        for _ in range(6):
            yield chunk
        yield b"]"

    response = client.post(URL, content=stream(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413


def test_store_error_is_5xx_and_nothing_is_half_stored(
    serve_workspace, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import event as sa_event

    app = create_app(serve_workspace, store)
    batch = [event("unsubscribe", "first@example.org", "e1"), event("delivered", "x@example.org", "e2")]

    def fail_on_events_insert(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            raise OperationalError(statement, parameters, Exception("disk full"))

    sa_event.listen(store.engine, "before_cursor_execute", fail_on_events_insert)
    try:
        with TestClient(app) as c:
            response = post(c, webhook_keys, batch)
    finally:
        sa_event.remove(store.engine, "before_cursor_execute", fail_on_events_insert)
    assert response.status_code == 503
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
    assert suppression(store, hasher, "first@example.org") is None
    with TestClient(app) as c:  # SendGrid's retry then succeeds
        assert post(c, webhook_keys, batch).status_code == 200
    assert suppression(store, hasher, "first@example.org") is not None


def test_store_error_late_in_the_batch_rolls_back_suppressions(
    serve_workspace, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import event as sa_event

    app = create_app(serve_workspace, store)
    batch = [event("unsubscribe", "first@example.org", "e1")]

    def fail_on_audit(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            raise OperationalError(statement, parameters, Exception("connection lost"))

    sa_event.listen(store.engine, "before_cursor_execute", fail_on_audit)
    try:
        with TestClient(app) as c:
            response = post(c, webhook_keys, batch)
    finally:
        sa_event.remove(store.engine, "before_cursor_execute", fail_on_audit)
    assert response.status_code == 503
    assert suppression(store, hasher, "first@example.org") is None
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0


def test_concurrent_duplicate_batches_store_once_without_error(
    serve_workspace, store: Store, hasher: AddressHasher  # type: ignore[no-untyped-def]
) -> None:
    """Two workers get SendGrid's retry of the same batch at the same moment."""
    import threading

    from composer.web.events import normalize_batch
    from composer.web.ingest import ingest

    batch = normalize_batch(
        [event("unsubscribe", f"p{i}@example.org", f"ev-{i}") for i in range(200)]
        + [event("delivered", f"p{i}@example.org", f"dl-{i}") for i in range(200)]
    )
    results: list[object] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        try:
            results.append(ingest(store, hasher, batch))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.stored for r in results) == 400  # type: ignore[attr-defined]
    assert sum(r.suppressed for r in results) == 200  # type: ignore[attr-defined]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 400
        assert s.scalar(select(func.count()).select_from(Suppression)) == 200
        assert (
            s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "suppress"))
            == 200
        )


def test_hostile_field_values_are_stored_not_retried_forever(
    client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher
) -> None:
    """One odd event must not make the whole batch fail on every retry for 24 hours."""
    body = (
        b'[{"event": "bounce\\u0000", "email": "nul@example.org", "sg_event_id": "a\\u0000b",'
        b' "timestamp": 1e300, "reason": "\\ud800 lone surrogate", "type": "bounce"},'
        b' {"event": "group_unsubscribe", "email": "big@example.org", "sg_event_id": "big",'
        b' "asm_group_id": 99999999999999, "campaign_id": 99999999999, "contact_id": "99999999999",'
        b' "attempt": NaN, "status": Infinity, "url": {"nested": ["x"]}, "response": "' + b"x" * 3000 + b'"},'
        b' {"event": "unsubscribe", "email": "' + b"a" * 60 + b'@example.org", "sg_event_id": "' + b"i" * 300 + b'"},'
        b' {"event": "spamreport", "email": 12, "sg_event_id": ["x"]}]'
    )
    response = client.post(URL, content=body, headers=webhook_keys.headers(body))
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 4
    with store.session() as s:
        stored = s.scalars(select(Event).order_by(Event.id)).all()
    assert stored[0].provider_event_id == "ab"
    assert stored[0].email == "nul@example.org"
    assert stored[1].campaign_id is None
    row = suppression(store, hasher, "big@example.org")
    assert row is not None and row.group_id is None


def test_a_late_event_for_an_erased_person_stores_no_address(
    client: TestClient, webhook_keys: WebhookKeys, store: Store, serve_workspace  # type: ignore[no-untyped-def]
) -> None:
    from composer.lists.base import open_lists
    from composer.lists.erasure import forget

    email = "Erased.Person@example.org"
    add_contact(store, email)
    lists = open_lists(serve_workspace)
    try:
        forget(lists, email)
    finally:
        lists.close()
    # SendGrid keeps reporting on mail sent before the erasure (opens, a late bounce).
    late = [
        event("open", email, "late-1"),
        event("bounce", email.lower(), "late-2", type="bounce", response=f"550 5.1.1 <{email}>: no such user"),
    ]
    assert post(client, webhook_keys, late).status_code == 200
    with store.session() as s:
        rows = s.execute(select(Event.email, Event.detail, Event.contact_id)).all()
        assert len(rows) == 2
        assert all(r.email is None and r.detail == {} and r.contact_id is None for r in rows), rows
        assert s.scalar(select(Suppression.reason)) == "erased"
        assert s.scalar(select(func.count()).select_from(Suppression)) == 1


def test_a_store_error_logs_no_address(
    serve_workspace, webhook_keys: WebhookKeys, store: Store, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    import logging

    from sqlalchemy import event as sa_event

    app = create_app(serve_workspace, store)
    batch = [event("unsubscribe", "private.person@example.org", "e1", response="private.person")]

    def locked(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            # What the driver raises (SQLite's "database is locked" after the busy timeout).
            raise conn.dialect.loaded_dbapi.OperationalError("database is locked")

    sa_event.listen(store.engine, "before_cursor_execute", locked)
    try:
        with caplog.at_level(logging.INFO), TestClient(app) as c:
            response = post(c, webhook_keys, batch)
    finally:
        sa_event.remove(store.engine, "before_cursor_execute", locked)
    assert response.status_code == 503
    assert "database is locked" in caplog.text
    assert "private.person" not in caplog.text


def test_events_without_an_event_id_are_stored_once_however_often_replayed(
    client: TestClient, webhook_keys: WebhookKeys, store: Store
) -> None:
    batch = [
        {"event": "open", "email": "a@example.org", "timestamp": 1781000000, "sg_message_id": "m1"},
        {"event": "open", "email": "a@example.org", "timestamp": 1781000060, "sg_message_id": "m1"},
    ]
    assert post(client, webhook_keys, batch).json()["stored"] == 2
    # the same events again, keys in another order and re-spaced: still the same events
    again = [dict(reversed(list(e.items()))) for e in batch]
    body = json.dumps(again, indent=1).encode()
    response = client.post(URL, content=body, headers=webhook_keys.headers(body))
    assert response.json() == {"received": 2, "stored": 0, "duplicates": 2}
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 2


@pytest.mark.parametrize(
    "email",  # as JSON escapes in the body
    [r"nul\u0000x@example.org", r"esc\u001bx@example.org", r"x@example.org\r\n", r"nel\u0085x@example.org"],
)
def test_an_address_with_a_control_character_is_skipped_not_mended(  # type: ignore[no-untyped-def]
    client: TestClient, webhook_keys: WebhookKeys, store: Store, hasher: AddressHasher, email: str, caplog
) -> None:
    body = (
        '[{"event": "unsubscribe", "email": "' + email + '", "sg_event_id": "ev-ctl"},'
        ' {"event": "unsubscribe", "email": "fine@example.org", "sg_event_id": "ev-fine"}]'
    ).encode()
    with caplog.at_level("WARNING", logger="bulletin.web"):
        response = client.post(URL, content=body, headers=webhook_keys.headers(body))
    assert response.status_code == 200
    assert response.json()["stored"] == 1
    for mended in ("nulx@example.org", "escx@example.org", "x@example.org", "nelx@example.org"):
        assert suppression(store, hasher, mended) is None
    assert suppression(store, hasher, "fine@example.org") is not None
    assert "control character" in caplog.text and "example.org" not in caplog.text
