"""Fixtures for the send tests: hand-built compositions, contacts put straight into the
store, a loopback SendGrid-compatible server and a loopback aiosmtpd server."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from composer.compose.merge import token
from composer.compose.mime import Envelope
from composer.compose.model import Composition, Finding, Report, SegmentRender
from composer.compose.variants import every_audience
from composer.workspace import Workspace
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.support import free_port

API_KEY = "SG.test-key-not-real"
SEGMENTS = ("lmc", "practice", "registrar")


def render_for(
    segment: str, subject: str = "GPC England bulletin – June 2026", audience: tuple[str, ...] = ()
) -> SegmentRender:
    html = (
        '<!doctype html><html lang="en-GB"><body>'
        f"<p>Dear {token('first_name', 'html')},</p>"
        f"<p>For {token('name', 'html')} at {token('organisation', 'html')} ({segment}).</p>"
        "<p>Caf\u00e9 = 100% \u2013 a long line of text that goes on for a while so that quoted "
        "printable has to wrap it somewhere past seventy-six characters.</p>"
        f'<p><a href="{token("unsubscribe_url", "html")}">Unsubscribe</a> · sent to {token("email", "html")}</p>'
        "</body></html>"
    )
    text = (
        f"Dear {token('first_name', 'text')},\n\n"
        f"For {token('name', 'text')} at {token('organisation', 'text')} ({segment}).\n"
        "Caf\u00e9 = 100%\n\n"
        f"Unsubscribe: {token('unsubscribe_url', 'text')}\nSent to {token('email', 'text')}\n"
    )
    envelope = Envelope(
        subject=subject,
        from_name="GPC England",
        from_email="gpc-bulletin@bulletin.example",
        reply_to="info.gpc@bulletin.example",
        list_id="gpce.bulletin.example",
    )
    return SegmentRender(
        segment=segment, envelope=envelope, preheader="June", html=html, text=text, sections=(), audience=audience
    )


def make_composition(
    key: str = "2026-06-test",
    segments: Sequence[str] = SEGMENTS,
    content_hash: str = "a" * 64,
    warnings: Sequence[str] = ("Section 3 (block 'article'): link text 'here' says nothing",),
    errors: Sequence[str] = (),
) -> Composition:
    # Every variant, as compose makes them: `lmc`, ..., `lmc+practice`, ...
    renders = {"+".join(a): render_for("+".join(a), audience=a) for a in every_audience(segments)}
    findings = tuple(Finding("warning", "vague-link-text", w) for w in warnings) + tuple(
        Finding("error", "html-size", e) for e in errors
    )
    return Composition(
        source=Path(f"bulletins/{key}.yaml"),
        key=key,
        content_hash=content_hash,
        renders=renders,
        archive_html="<html></html>",
        report=Report(findings=findings, sizes={s: len(r.html) for s, r in renders.items()}),
        order=tuple(segments),
    )


def with_env(workspace: Workspace, **env: str) -> Workspace:
    return dataclasses.replace(workspace, env={**workspace.env, **env})


def add_contacts(workspace: Workspace, people: Sequence[dict[str, Any]]) -> list[int]:
    """Insert contacts and memberships directly (no dependency on the lists importer).

    Each person: email, segments (list), and optional name, first_name, organisation.
    """

    from composer.identity import normalize_email
    from composer.store.db import Store
    from composer.store.models import Contact, SegmentMember

    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            ids: list[int] = []
            for person in people:
                contact = Contact(
                    email=person["email"],
                    email_norm=normalize_email(person["email"]),
                    name=person.get("name"),
                    first_name=person.get("first_name"),
                    organisation=person.get("organisation"),
                    extra={},
                )
                s.add(contact)
                s.flush()
                ids.append(contact.id)
                for seg in person.get("segments", ["lmc"]):
                    s.add(SegmentMember(contact_id=contact.id, segment=seg, source="test"))
        return ids
    finally:
        store.close()


def bulk_contacts(workspace: Workspace, n: int, segment: str = "practice", domain: str = "example.org") -> None:
    """n contacts in one segment, inserted with Core executemany (fast)."""
    from sqlalchemy import insert, select

    from composer.store.db import Store
    from composer.store.models import Contact, SegmentMember, utcnow

    store = Store(workspace.database_url())
    now = utcnow()
    try:
        with store.session() as s:
            start = s.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) or 0
            rows = [
                {
                    "id": start + i + 1,
                    "email": f"gp{start + i + 1:06d}@{domain}",
                    "email_norm": f"gp{start + i + 1:06d}@{domain}",
                    "first_name": "Sam",
                    "name": f"Dr Sam {start + i + 1}",
                    "organisation": "The Surgery",
                    "extra": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ]
            s.execute(insert(Contact.__table__), rows)
            s.execute(
                insert(SegmentMember.__table__),
                [{"contact_id": r["id"], "segment": segment, "source": "bench", "added_at": now} for r in rows],
            )
    finally:
        store.close()


def suppress(workspace: Workspace, email: str, reason: str = "unsubscribed") -> None:
    from composer.identity import AddressHasher
    from composer.store import suppressions
    from composer.store.db import Store

    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            suppressions.suppress(s, AddressHasher(workspace.secret_keys()), email, reason=reason, source="test")
    finally:
        store.close()


def ledger_rows(workspace: Workspace) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from composer.store.db import Store
    from composer.store.models import Delivery

    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            return [dict(r._mapping) for r in s.execute(select(Delivery.__table__).order_by(Delivery.id))]
    finally:
        store.close()


def campaigns(workspace: Workspace) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from composer.store.db import Store
    from composer.store.models import Campaign

    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            return [dict(r._mapping) for r in s.execute(select(Campaign.__table__).order_by(Campaign.id))]
    finally:
        store.close()


def audit_entries(workspace: Workspace) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from composer.store.db import Store
    from composer.store.models import AuditEntry

    store = Store(workspace.database_url())
    try:
        with store.session() as s:
            return [dict(r._mapping) for r in s.execute(select(AuditEntry.__table__).order_by(AuditEntry.id))]
    finally:
        store.close()


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(API_KEY, render=True) as server:
        yield server


@pytest.fixture
def sg_workspace(workspace: Workspace, fake_sendgrid: FakeSendGrid) -> Workspace:
    return with_env(workspace, SENDGRID_API_KEY=API_KEY, BULLETIN_SENDGRID_API_HOST=fake_sendgrid.url)


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink("127.0.0.1", free_port())

    class Handler:
        async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> list[str]:
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]]  # RFC 2920

        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
            if address.lower() in sink.refuse:
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with sink.lock:
                sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
