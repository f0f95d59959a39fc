"""Dated lines of a draft ("Nominations open – midday on 25 June 2026") as timeline steps."""

from __future__ import annotations

import re
from dataclasses import dataclass

from composer.timestamps import CLOCK, MONTHS, clock

_TIME = rf"(?P<time>{CLOCK})"
_DATE = r"(?:\w+day\s+)?(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[A-Za-z]+)\s+(?P<year>\d{4})"
DATED = re.compile(
    rf"^(?P<label>[^–—:]+?)\s*[–—:-]\s*(?:(?:at\s+)?{_TIME}\s*(?:on\s+)?,?\s*)?{_DATE}"
    rf"(?:\s*(?:at\s+)?{_TIME.replace('time', 'time2')})?"
    r"\s*(?:[,(]\s*(?P<note>[^)]*?)\)?)?\s*\.?$",
    re.IGNORECASE,
)

# "Hustings and voting will take place at the start of the GPC England meeting on 9 July 2026"
TAKES_PLACE = re.compile(
    rf"^(?P<label>.+?)\s+(?:will\s+)?(?:take|takes)\s+place\s+(?P<note>.+?)\s+on\s+{_DATE}\s*\.?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Step:
    label: str
    at: str  # "YYYY-MM-DD HH:MM", UK time, as the elections block reads it
    note: str | None


def _clock(text: str | None) -> str:
    at = clock(text) if text else None
    return at.strftime("%H:%M") if at else "00:00"


def _group(found: re.Match[str], name: str) -> str | None:
    return found.groupdict().get(name)


def dated_step(line: str) -> Step | None:
    """The step a line states, or None when it is not a dated line."""
    found = DATED.match(line.strip()) or TAKES_PLACE.match(line.strip())
    if not found or found["month"].lower() not in MONTHS:
        return None
    day, year = int(found["day"]), int(found["year"])
    if not 1 <= day <= 31:
        return None
    note = (found["note"] or "").strip().rstrip(".") or None
    at = f"{year:04d}-{MONTHS[found['month'].lower()]:02d}-{day:02d} {_clock(_group(found, 'time') or _group(found, 'time2'))}"
    return Step(found["label"].strip(), at, note[:1].upper() + note[1:] if note else None)
