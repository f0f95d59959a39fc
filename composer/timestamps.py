"""Dates and times: the one ISO 8601 formatter for JSON, and the one reader of dates as
staff write them (`13/07/2026 12:00`, `13 July 2026 midday`, ISO), for bulletins, Word
drafts and the command line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from typing import Literal

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}  # fmt: skip

# What a person may write, named in every message about a date that cannot be read.
DATE_FORMS = ("13/07/2026", "13 July 2026", "2026-07-13")
DATETIME_FORMS = (
    "13/07/2026 12:00",
    "13 July 2026 12:00",
    "13 July 2026 midday",
    "2026-07-13 12:00",
)

# A time of day: 12:00, 12.00, 2pm, 2:30pm, 9am, midday, noon, 12 noon, midnight.
CLOCK = r"(?:(?:12\s*)?(?:midday|noon)|midnight|\d{1,2}(?:[.:]\d{2})?\s*(?:am|pm)|\d{1,2}[:.]\d{2}(?::\d{2})?)"
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?,?\s+)?"
_SLASHED = r"(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})"
_WORDED = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[a-z]+)\.?,?\s+(?P<y>\d{4})"
_AT = r"(?:,?\s*(?:at\s+)?(?P<clock>" + CLOCK + r"))?"
_BEFORE = r"(?:(?P<first>" + CLOCK + r")\s*(?:on\s+|,\s*)?)?"
_UK = [
    re.compile(rf"^{_BEFORE}{_WEEKDAY}{form}{_AT}$", re.IGNORECASE) for form in (_SLASHED, _WORDED)
]


class UnreadableDate(ValueError):
    """A date or time written in no form we read; the message names the forms that work."""


def clock(text: str) -> time | None:
    """`12:00`, `12.00`, `2pm`, `2:30 pm`, `midday`, `noon`, `midnight` as a time, or None."""
    text = text.lower().replace(" ", "")
    if text in ("midday", "noon", "12midday", "12noon"):
        return time(12, 0)
    if text == "midnight":
        return time(0, 0)
    found = re.fullmatch(r"(\d{1,2})(?:[.:](\d{2}))?(?::(\d{2}))?(am|pm)?", text)
    if not found or (found[2] is None and found[4] is None):
        return None
    hour, minute, second = int(found[1]), int(found[2] or 0), int(found[3] or 0)
    if found[4]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if found[4] == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _forms(with_time: bool) -> str:
    forms = DATETIME_FORMS if with_time else DATE_FORMS
    return ", ".join(forms[:-1]) + f" or {forms[-1]}"


def unreadable(text: str, with_time: bool, why: str = "") -> UnreadableDate:
    """The error for `text`: why it cannot be read, and the forms that can."""
    what = "a date and time" if with_time else "a date"
    because = f" ({why})" if why else ""
    return UnreadableDate(
        f"'{text}' cannot be read as {what}{because}; write it like {_forms(with_time)}"
    )


def _uk(text: str, with_time: bool) -> datetime | None:
    """A UK-style date (day first), with an optional time before or after it."""
    for pattern in _UK:
        found = pattern.match(text)
        if found is None:
            continue
        groups = found.groupdict()
        month = (
            int(groups["m"]) if groups.get("m") else MONTHS.get((groups.get("month") or "").lower())
        )
        if month is None:
            raise unreadable(text, with_time, f"'{groups['month']}' is not a month")
        if not 1 <= month <= 12:
            raise unreadable(text, with_time, f"there is no month {month}: the day comes first")
        spoken = groups.get("clock") or groups.get("first")
        at = clock(spoken) if spoken else time(0, 0)
        if at is None:
            raise unreadable(text, with_time, f"'{spoken}' is not a time of day")
        year, day = int(groups["y"]), int(groups["d"])
        try:
            return datetime.combine(date(year, month, day), at)
        except ValueError:
            named = date(year, month, 1).strftime("%B %Y")
            raise unreadable(text, with_time, f"{named} has no day {day}") from None
    return None


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_datetime(value: str | date | datetime, tz: tzinfo) -> datetime:
    """A date and time as staff write it; a naive one is local time in `tz`.

    A date alone is midnight at its start. Raises UnreadableDate naming the forms that work.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0, 0))
    else:
        text = " ".join(str(value).split())
        found = _iso(text) or _uk(text, True)
        if found is None:
            raise unreadable(text, True)
        moment = found
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def parse_date(value: str | date) -> date:
    """A date as staff write it (day first, or ISO). Raises UnreadableDate naming the forms."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = " ".join(str(value).split())
    found = _iso(text) or _uk(text, False)
    if found is None or found.time() != time(0, 0) or found.tzinfo is not None:
        raise unreadable(text, False, "a date alone, without a time" if found else "")
    return found.date()


def iso(value: datetime | None, *, timespec: Literal["auto", "seconds"] = "auto") -> str | None:
    """`value` in ISO 8601, or None. A naive value is taken as UTC: SQLite hands back
    naive datetimes, and the store and the preview only ever write UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec=timespec)


def parse_local(text: str, tz: str = "Europe/London") -> datetime:
    """A moment as `parse_datetime` reads it (the forms a bulletin takes), naive values in
    `tz` (UK time), returned in UTC (`send --at`). A local time that the clock change skips
    or repeats is refused: it names no single moment unless the offset is given."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    moment = parse_datetime(text, zone)
    if moment.tzinfo is zone:  # written without an offset
        naive = moment.replace(tzinfo=None)
        if moment.replace(fold=0).utcoffset() != moment.replace(fold=1).utcoffset():
            raise UnreadableDate(
                f"{text.strip()} happens twice or not at all in {tz} when the clocks change; "
                "give the offset, e.g. '2026-10-25 01:30+01:00'"
            )
        if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            raise UnreadableDate(f"{text.strip()} does not exist in {tz} (the clocks go forward over it)")
    return moment.astimezone(UTC)
