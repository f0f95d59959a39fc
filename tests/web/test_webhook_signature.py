"""The webhook's signature check: only SendGrid's key over the exact bytes gets in."""

from __future__ import annotations

import base64
import time

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from composer.store.models import Event
from composer.web.app import create_app
from composer.web.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureVerifier,
    load_public_key,
)
from tests.web.conftest import WebhookKeys, body_of, event, make_keys

URL = "/webhooks/sendgrid"


def _count(store) -> int:  # type: ignore[no-untyped-def]
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Event)) or 0)


def test_good_signature_is_accepted_and_stored(client: TestClient, webhook_keys: WebhookKeys, store) -> None:  # type: ignore[no-untyped-def]
    body = body_of([event("processed", "a@example.org", "ev-1")])
    response = client.post(URL, content=body, headers=webhook_keys.headers(body))
    assert response.status_code == 200
    assert response.json()["stored"] == 1
    assert _count(store) == 1


def test_trailing_crlf_is_part_of_the_signed_bytes(client: TestClient, webhook_keys: WebhookKeys, store) -> None:  # type: ignore[no-untyped-def]
    # SendGrid signs the body exactly as sent; re-serializing the JSON would break this.
    body = b'[ {"event": "processed", "email": "a@example.org", "sg_event_id": "ev-crlf"} ]\r\n'
    response = client.post(URL, content=body, headers=webhook_keys.headers(body))
    assert response.status_code == 200
    tampered = webhook_keys.headers(body)
    response = client.post(URL, content=body.rstrip(), headers=tampered)
    assert response.status_code == 403


def test_wrong_key_is_refused(client: TestClient, store) -> None:  # type: ignore[no-untyped-def]
    other = make_keys()
    body = body_of([event("unsubscribe", "a@example.org", "ev-1")])
    response = client.post(URL, content=body, headers=other.headers(body))
    assert response.status_code == 403
    assert _count(store) == 0


def test_altered_payload_is_refused(client: TestClient, webhook_keys: WebhookKeys, store) -> None:  # type: ignore[no-untyped-def]
    body = body_of([event("delivered", "a@example.org", "ev-1")])
    headers = webhook_keys.headers(body)
    altered = body.replace(b"delivered", b"spamreport")
    response = client.post(URL, content=altered, headers=headers)
    assert response.status_code == 403
    assert _count(store) == 0


def test_altered_timestamp_is_refused(client: TestClient, webhook_keys: WebhookKeys, store) -> None:  # type: ignore[no-untyped-def]
    body = body_of([event("delivered", "a@example.org", "ev-1")])
    now = int(time.time())
    headers = webhook_keys.headers(body, timestamp=str(now))
    headers[TIMESTAMP_HEADER] = str(now + 1)
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 403
    assert _count(store) == 0


@pytest.mark.parametrize("garbage", ["%%%not-base64%%%", "abc", "ZZZ=", "\u00e9t\u00e9", ""])
def test_garbage_signature_is_403_not_500(client: TestClient, webhook_keys: WebhookKeys, garbage: str) -> None:
    body = body_of([event("delivered", "a@example.org", "ev-1")])
    headers = webhook_keys.headers(body)
    headers[SIGNATURE_HEADER] = garbage
    response = client.post(URL, content=body, headers={k: v.encode("utf-8") for k, v in headers.items()})
    assert response.status_code == 403


def test_valid_base64_that_is_not_a_der_signature_is_403(client: TestClient, webhook_keys: WebhookKeys) -> None:
    body = body_of([event("delivered", "a@example.org", "ev-1")])
    headers = webhook_keys.headers(body)
    headers[SIGNATURE_HEADER] = base64.b64encode(b"\x00" * 64).decode()
    assert client.post(URL, content=body, headers=headers).status_code == 403


@pytest.mark.parametrize("missing", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_missing_header_is_refused(client: TestClient, webhook_keys: WebhookKeys, store, missing: str) -> None:  # type: ignore[no-untyped-def]
    body = body_of([event("spamreport", "a@example.org", "ev-1")])
    headers = webhook_keys.headers(body)
    del headers[missing]
    assert client.post(URL, content=body, headers=headers).status_code == 403
    assert _count(store) == 0


@pytest.mark.parametrize(
    "key_value",
    [
        "!!!garbage base64!!!",
        base64.b64encode(b"not a DER key at all").decode(),
        # A valid base64 DER key of the wrong type (RSA) cannot verify ECDSA signatures.
        "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMs5nXOHhnGSbKo3OjmyqbG6NDjaGo2RlhhKwoMZQ6AvSfDIk6yNQx9yi5NrjwHfNwzJV3qSkvRQqsvV7bYqMesCAwEAAQ==",
    ],
)
def test_garbage_public_key_refuses_everything_without_500(
    serve_workspace, store, webhook_keys: WebhookKeys, monkeypatch: pytest.MonkeyPatch, key_value: str  # type: ignore[no-untyped-def]
) -> None:
    from composer.workspace import load_workspace

    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", key_value)
    workspace = load_workspace(serve_workspace.root)
    body = body_of([event("delivered", "a@example.org", "ev-1")])
    with TestClient(create_app(workspace, store)) as c:
        assert c.post(URL, content=body, headers=webhook_keys.headers(body)).status_code == 403
        assert c.get("/healthz").status_code == 200
    assert _count(store) == 0


def test_unset_public_key_refuses_everything(
    serve_workspace, store, webhook_keys: WebhookKeys, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from composer.workspace import load_workspace

    monkeypatch.delenv("SENDGRID_WEBHOOK_PUBLIC_KEY")
    workspace = load_workspace(serve_workspace.root)
    body = body_of([event("delivered", "a@example.org", "ev-1")])
    with TestClient(create_app(workspace, store)) as c:
        assert c.post(URL, content=body, headers=webhook_keys.headers(body)).status_code == 403


def test_verifier_unit() -> None:
    keys = make_keys()
    verifier = SignatureVerifier(load_public_key(keys.public_b64))
    body = b'[{"event":"open"}]'
    good = keys.sign("123", body)
    assert verifier.verify(good, "123", body)
    assert not verifier.verify(good, "124", body)
    assert not verifier.verify(good, "123", body + b" ")
    assert not verifier.verify(None, "123", body)
    assert not verifier.verify(good, None, body)
    assert not verifier.verify("***", "123", body)
    assert not SignatureVerifier(None).verify(good, "123", body)


def test_public_key_with_line_breaks_is_accepted() -> None:
    keys = make_keys()
    wrapped = "\n".join(keys.public_b64[i : i + 40] for i in range(0, len(keys.public_b64), 40))
    assert load_public_key(wrapped) is not None
    assert load_public_key("") is None
    assert load_public_key(None) is None


@pytest.mark.parametrize(
    "timestamp",
    [
        "hello",
        "1e9",
        " 1700000000",
        "1000000000",  # 2001
        -26 * 3600,  # older than SendGrid's 24 hours of retries (seconds from now)
        10 * 365 * 86400,  # ten years ahead
        600,  # more than a few minutes ahead
    ],
)
def test_a_signed_batch_with_a_bad_or_stale_timestamp_is_refused(  # type: ignore[no-untyped-def]
    client: TestClient, webhook_keys: WebhookKeys, store, timestamp: str | int
) -> None:
    # Offsets are taken from the clock when the test runs, not when it is collected.
    if isinstance(timestamp, int):
        timestamp = str(int(time.time()) + timestamp)
    body = body_of([event("spamreport", "a@example.org", "ev-ts")])
    response = client.post(URL, content=body, headers=webhook_keys.headers(body, timestamp=timestamp))
    assert response.status_code == 403
    assert _count(store) == 0


@pytest.mark.parametrize("age", [0, 3600, 23 * 3600, -60])
def test_a_signed_batch_within_the_retry_window_is_accepted(  # type: ignore[no-untyped-def]
    client: TestClient, webhook_keys: WebhookKeys, store, age: int
) -> None:
    body = body_of([event("delivered", "a@example.org", f"ev-age-{age}")])
    headers = webhook_keys.headers(body, timestamp=str(int(time.time()) - age))
    assert client.post(URL, content=body, headers=headers).status_code == 200
    assert _count(store) == 1
