"""GET and POST /u/{token}: the unsubscribe page and RFC 8058 one-click unsubscribe.

GET only shows a page, because mail scanners and clients fetch links; only a POST changes
anything. A POST is either the one-click body `List-Unsubscribe=One-Click` (RFC 8058 §3.1,
urlencoded or multipart) or our page's button. Both answer 200 with no redirect (RFC 8058
§3.2), both are idempotent, and both are written to the audit log with their source.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from composer.errors import StoreError
from composer.identity import AddressHasher, mask_email
from composer.store import audit, suppressions
from composer.store.db import Store
from composer.store.models import Campaign, Contact, Delivery
from composer.tokens import InvalidToken, TokenSigner, UnsubscribeClaim
from composer.web.pages import Pages

ACTOR = "web"
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
PAGE_FIELD = "confirm"
PAGE_VALUE = "unsubscribe"


@dataclass(frozen=True)
class Person:
    """What a page may show about the token's contact: never the whole address."""

    masked: str | None
    first_name: str | None


NOBODY = Person(masked=None, first_name=None)


class Unsubscriber:
    """The store side: look a claim up, and suppress its address."""

    def __init__(self, store: Store, hasher: AddressHasher) -> None:
        self.store = store
        self.hasher = hasher

    def lookup(self, claim: UnsubscribeClaim) -> Person:
        with self.store.session() as session:
            return _person(self._contact(session, claim))

    def _contact(self, session: Session, claim: UnsubscribeClaim) -> Contact | None:
        """The claim's contact, if the token can really have been sent to them.

        After an erasure SQLite may give the deleted contact's id to the next new contact
        (an INTEGER PRIMARY KEY without AUTOINCREMENT reuses the highest id). An old email
        to the erased person must not unsubscribe, or reveal, that newcomer: when the
        token names a campaign we still have, the contact must be in its ledger, by id
        or by address.
        """
        contact = session.get(Contact, claim.contact_id)
        if contact is None or not contact.email or not claim.campaign_id:
            return contact
        if session.get(Campaign, claim.campaign_id) is None:
            return contact
        # Two indexed lookups (by contact, then by address) rather than one with OR.
        sent = session.scalar(
            select(Delivery.id)
            .where(Delivery.contact_id == contact.id, Delivery.campaign_id == claim.campaign_id)
            .limit(1)
        )
        if sent is None:
            sent = session.scalar(
                select(Delivery.id)
                .where(
                    Delivery.campaign_id == claim.campaign_id,
                    Delivery.email_hash.in_(self.hasher.candidates(contact.email)),
                )
                .limit(1)
            )
        return contact if sent is not None else None

    def unsubscribe(self, claim: UnsubscribeClaim, source: str) -> Person:
        """Suppress the claim's address (reason 'unsubscribed'); safe to repeat."""
        try:
            return self._unsubscribe(claim, source)
        except StoreError as exc:
            # Two requests for one address at once: the loser hits the unique hash and,
            # run again, finds the suppression the winner made.
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            return self._unsubscribe(claim, source)

    def _unsubscribe(self, claim: UnsubscribeClaim, source: str) -> Person:
        with self.store.session() as session:
            return self.unsubscribe_in(session, claim, source)

    def unsubscribe_in(
        self, session: Session, claim: UnsubscribeClaim, source: str, *, actor: str = ACTOR, command: str | None = None
    ) -> Person:
        """`unsubscribe` in the caller's transaction (`bulletin inbox` does many in one)."""
        command = command or f"POST /u ({source})"
        campaign_id = claim.campaign_id or None
        contact = self._contact(session, claim)
        person = _person(contact)
        if contact is None or not contact.email:
            # Erased or never known: nothing to suppress and nothing to reveal.
            audit.record(
                session,
                "unsubscribe",
                contact_id=claim.contact_id,
                detail={"source": source, "campaign_id": campaign_id, "outcome": "no-address"},
                actor=actor,
                command=command,
            )
            return person
        row, created = suppressions.suppress(
            session,
            self.hasher,
            contact.email,
            reason="unsubscribed",
            source=source,
            campaign_id=campaign_id,
            actor=actor,
            command=command,
        )
        audit.record(
            session,
            "unsubscribe",
            contact_id=contact.id,
            subject_hash=row.email_hash,
            detail={
                "source": source,
                "campaign_id": campaign_id,
                "outcome": "suppressed" if created else "already-suppressed",
            },
            actor=actor,
            command=command,
        )
        return person


def _person(contact: Contact | None) -> Person:
    if contact is None or not contact.email:
        return NOBODY
    return Person(masked=mask_email(contact.email), first_name=contact.first_name or None)


# Campaign id of the tokens in --test-to copies (composer.send), which no ledger holds.
TEST_CAMPAIGN = 0


class UnsubscribeRoutes:
    """The two endpoints on /u/{token}."""

    def __init__(self, signer: TokenSigner, unsubscriber: Unsubscriber, pages: Pages) -> None:
        self.signer = signer
        self.unsubscriber = unsubscriber
        self.pages = pages

    def _claim(self, request: Request) -> UnsubscribeClaim | None:
        try:
            return self.signer.read(str(request.path_params.get("token", "")))
        except InvalidToken:
            return None

    def _page(self, name: str, status: int = 200, **context: object) -> Response:
        return HTMLResponse(self.pages.render(name, **context), status_code=status)

    async def show(self, request: Request) -> Response:
        """GET: the page with the button. Changes nothing."""
        claim = self._claim(request)
        if claim is None:
            return self._page("invalid.html", 400)
        if claim.campaign_id == TEST_CAMPAIGN:
            return self._page("test_copy.html")
        try:
            person = await run_in_threadpool(self.unsubscriber.lookup, claim)
        except StoreError:
            return self._page("unavailable.html", 503)
        return self._page("unsubscribe.html", masked=person.masked, first_name=person.first_name)

    async def submit(self, request: Request) -> Response:
        """POST: one-click or the page's button; suppress, then confirm (no redirect)."""
        claim = self._claim(request)
        if claim is None:
            return self._page("invalid.html", 400)
        try:
            form = await request.form(max_files=0, max_fields=20)
        except HTTPException:
            return self._page("bad_request.html", 400)
        try:
            if form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
                source = "one-click"
            elif form.get(PAGE_FIELD) == PAGE_VALUE:
                source = "page"
            else:
                return self._page("bad_request.html", 400)
        finally:
            await form.close()
        if claim.campaign_id == TEST_CAMPAIGN:
            # A --test-to copy's link names nobody on the lists: say so, change nothing.
            return self._page("test_copy.html")
        try:
            person = await run_in_threadpool(self.unsubscriber.unsubscribe, claim, source)
        except StoreError:
            return self._page("unavailable.html", 503)
        return self._page("unsubscribed.html", masked=person.masked)
