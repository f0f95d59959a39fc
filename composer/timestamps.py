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


def parse_local(text: str, tz: str = "Europe/London") -> datetime:
    """A date and time as a bulletin's `datetime` fields take them ("2026-06-04 09:00",
    "2026-06-04T09:00", with or without seconds or an offset), naive values in `tz` (UK
    time), returned in UTC. A local time that the clock change skips or repeats is refused:
    it names no single moment unless the offset is given."""
    from zoneinfo import ZoneInfo

    from pydantic import TypeAdapter, ValidationError

    cleaned = text.strip()
    if not cleaned or cleaned.isdigit():  # pydantic would read digits as a Unix time
        raise ValueError(f"'{text}' is not a date and time like '2026-06-04 09:00'")
    try:
        value = TypeAdapter(datetime).validate_python(cleaned)
    except ValidationError:
        raise ValueError(f"'{text}' is not a date and time like '2026-06-04 09:00' (UK time)") from None
    if value.tzinfo is None:
        zone = ZoneInfo(tz)
        early, late = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
        if early.utcoffset() != late.utcoffset():
            raise ValueError(
                f"{cleaned} happens twice or not at all in {tz} when the clocks change; "
                "give the offset, e.g. '2026-10-25 01:30+01:00'"
            )
        round_trip = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != value:
            raise ValueError(f"{cleaned} does not exist in {tz} (the clocks go forward over it)")
        value = early
    return value.astimezone(UTC)
