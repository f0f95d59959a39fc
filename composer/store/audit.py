"""The audit log: every change to the store, who made it and with which command.

Entries never hold an address; they name a contact by id and a person by the keyed hash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from composer.store.db import current_actor, current_command
from composer.store.models import AuditEntry


def record(
    session: Session,
    action: str,
    *,
    contact_id: int | None = None,
    subject_hash: str | None = None,
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
    command: str | None = None,
) -> AuditEntry:
    """Add an audit entry in the caller's transaction (so it commits with the change)."""
    entry = AuditEntry(
        action=action,
        contact_id=contact_id,
        subject_hash=subject_hash,
        detail=detail or {},
        actor=actor or current_actor(),
        command=(command or current_command())[:300],
    )
    session.add(entry)
    return entry
