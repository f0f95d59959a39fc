"""Single-address changes: take someone out of a segment, suppress, lift a suppression."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from composer.errors import InputError, NotFound
from composer.identity import mask_email, normalize_email
from composer.lists.base import Lists, check_address
from composer.store import audit, suppressions
from composer.store.bulk import rowcount
from composer.store.db import current_command
from composer.store.models import SUPPRESSION_REASONS, Contact, SegmentMember

# `erased` is only ever set by `lists forget`, which also deletes the data.
MANUAL_REASONS = tuple(r for r in SUPPRESSION_REASONS if r != "erased")


def remove_from_segment(lists: Lists, address: str, segment: str) -> list[str]:
    """Take the contact out of `segment`; returns the segments they are still in.

    The contact itself stays (with any other memberships); `forget` deletes a person.
    """
    segment = lists.segment(segment)
    address = check_address(address, strict=False)
    norm = normalize_email(address)
    with lists.store.session() as session:
        contact = session.scalars(select(Contact).where(Contact.email_norm == norm)).first()
        if contact is None:
            raise NotFound(f"{address} is not on any list")
        removed = rowcount(session.execute(
            delete(SegmentMember).where(
                SegmentMember.contact_id == contact.id, SegmentMember.segment == segment
            )
        ))
        remaining = sorted(
            session.scalars(select(SegmentMember.segment).where(SegmentMember.contact_id == contact.id))
        )
        if not removed:
            where = ", ".join(remaining) if remaining else "no segment"
            raise NotFound(f"{address} is not in segment '{segment}' (they are in {where})")
        audit.record(
            session,
            "remove",
            command=current_command(),
            contact_id=contact.id,
            subject_hash=lists.hasher.hash(norm),
            detail={"segment": segment},
        )
    return remaining


@dataclass(frozen=True)
class SuppressResult:
    created: bool
    reason: str
    since: datetime | None
    masked: str


def suppress_address(lists: Lists, address: str, reason: str = "manual") -> SuppressResult:
    """Suppress an address so nothing is sent to it; idempotent (keeps the first reason)."""
    if reason not in MANUAL_REASONS:
        raise InputError(f"unknown reason '{reason}': use one of {', '.join(MANUAL_REASONS)}")
    address = check_address(address)
    with lists.store.session() as session:
        row, created = suppressions.suppress(
            session, lists.hasher, address, reason=reason, source="cli", command=current_command()
        )
        return SuppressResult(created, row.reason, row.created_at, mask_email(normalize_email(address)))


def unsuppress_address(lists: Lists, address: str) -> str:
    """Lift a suppression; returns the reason it had. An erasure cannot be lifted."""
    address = check_address(address, strict=False)
    with lists.store.session() as session:
        row = suppressions.find(session, lists.hasher, address)
        if row is None:
            raise NotFound(f"{address} is not suppressed")
        if row.reason == "erased":
            raise InputError(
                f"{address} was erased at the person's request (lists forget); an erasure is "
                "never lifted, because it is what stops an old spreadsheet bringing them back"
            )
        reason = row.reason
        suppressions.unsuppress(session, lists.hasher, address, source="cli", command=current_command())
    return reason
