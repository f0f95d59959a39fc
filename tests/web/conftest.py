"""Fixtures for the serve tests: a store with contacts, the app, and webhook signing keys."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.testclient import TestClient

from composer.store.db import Store
from composer.store.models import Campaign, Contact, Delivery
from composer.tokens import TokenSigner
from composer.web.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER


@dataclass
class WebhookKeys:
    private: ec.EllipticCurvePrivateKey
    public_b64: str

    def sign(self, timestamp: str, body: bytes) -> str:
        signature = self.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        """Signed headers; the timestamp is now unless given (SendGrid signs at send time)."""
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        return {
            SIGNATURE_HEADER: self.sign(timestamp, body),
            TIMESTAMP_HEADER: timestamp,
            "content-type": "application/json",
        }


def make_keys() -> WebhookKeys:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return WebhookKeys(private=private, public_b64=base64.b64encode(der).decode())


@pytest.fixture
def webhook_keys(monkeypatch: pytest.MonkeyPatch) -> WebhookKeys:
    keys = make_keys()
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", keys.public_b64)
    return keys


@pytest.fixture
def serve_workspace(store_workspace, webhook_keys):  # type: ignore[no-untyped-def]
    """A workspace on SQLite or PostgreSQL, with the webhook key in its environment."""
    from composer.workspace import load_workspace

    return load_workspace(store_workspace.root)


@pytest.fixture
def store(serve_workspace) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    s = Store(serve_workspace.database_url())
    yield s
    s.close()


@pytest.fixture
def client(serve_workspace, store) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from composer.web.app import create_app

    with TestClient(create_app(serve_workspace, store), follow_redirects=False) as c:
        yield c


@pytest.fixture
def signer(serve_workspace) -> TokenSigner:  # type: ignore[no-untyped-def]
    return TokenSigner(serve_workspace.secret_keys())


def add_contact(store: Store, email: str, **fields: Any) -> int:
    """A contact straight into the store (the lists import is another module's job)."""
    from composer.identity import normalize_email

    with store.session() as s:
        contact = Contact(email=email, email_norm=normalize_email(email), **fields)
        s.add(contact)
        s.flush()
        return contact.id


def add_campaign(store: Store, key: str = "2026-06-gpce") -> int:
    with store.session() as s:
        campaign = Campaign(
            key=key,
            content_hash="0" * 64,
            subject="GPC England bulletin",
            segments=["all"],
            transport="outbox",
            operator="test",
        )
        s.add(campaign)
        s.flush()
        return campaign.id


def add_delivery(store: Store, hasher: Any, campaign_id: int, contact_id: int, email: str) -> int:
    with store.session() as s:
        delivery = Delivery(
            campaign_id=campaign_id,
            contact_id=contact_id,
            email=email,
            email_hash=hasher.hash(email),
            segment="all",
            state="sent",
        )
        s.add(delivery)
        s.flush()
        return delivery.id


def event(kind: str, email: str, event_id: str, **extra: Any) -> dict[str, Any]:
    """A SendGrid event as the webhook posts it."""
    return {
        "email": email,
        "timestamp": 1781000000,
        "event": kind,
        "sg_event_id": event_id,
        "sg_message_id": "msg." + event_id,
        **extra,
    }


def body_of(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()


def with_tracking(workspace: Any, **settings: bool) -> Any:
    """The workspace with its [tracking] table changed (opens, clicks, per_person)."""
    import dataclasses

    tracking = workspace.config.tracking.model_copy(update=settings)
    return dataclasses.replace(workspace, config=workspace.config.model_copy(update={"tracking": tracking}))


@pytest.fixture
def per_person_client(serve_workspace, store) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app with `[tracking] per_person = true`: opens and clicks are kept per reader."""
    from composer.web.app import create_app

    workspace = with_tracking(serve_workspace, per_person=True)
    with TestClient(create_app(workspace, store), follow_redirects=False) as c:
        yield c
