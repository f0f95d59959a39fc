"""Timestamps as JSON shows them: ISO 8601, always with the UTC offset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal


def iso(value: datetime | None, *, timespec: Literal["auto", "seconds"] = "auto") -> str | None:
    """`value` in ISO 8601, or None. A naive value is taken as UTC: SQLite hands back
    naive datetimes, and the store and the preview only ever write UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec=timespec)
