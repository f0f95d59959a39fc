"""composer.timestamps: the one reader of dates as staff write them (bulletins, drafts, send --at)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from composer.authoring.dates import dated_step
from composer.timestamps import UnreadableDate, parse_date, parse_datetime

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("13/07/2026 12:00", datetime(2026, 7, 13, 12, 0)),
        ("13 July 2026 12:00", datetime(2026, 7, 13, 12, 0)),
        ("13 July 2026 midday", datetime(2026, 7, 13, 12, 0)),
        ("2026-07-13 12:00", datetime(2026, 7, 13, 12, 0)),
        ("2026-07-13T09:30:00", datetime(2026, 7, 13, 9, 30)),
        ("13/7/2026 2.30pm", datetime(2026, 7, 13, 14, 30)),
        ("Monday 13th Jul 2026, 9am", datetime(2026, 7, 13, 9, 0)),
        ("midday on 13 July 2026", datetime(2026, 7, 13, 12, 0)),
        ("13 December 2026 midnight", datetime(2026, 12, 13, 0, 0)),
        ("Thursday 25th June 2026 at 12 noon", datetime(2026, 6, 25, 12, 0)),
        ("13/07/2026", datetime(2026, 7, 13, 0, 0)),
    ],
)
def test_uk_and_iso_forms_are_read_as_uk_time(written: str, expected: datetime) -> None:
    assert parse_datetime(written, LONDON) == expected.replace(tzinfo=LONDON)


def test_an_offset_given_is_kept() -> None:
    assert parse_datetime("2026-07-13 12:00+00:00", LONDON).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("next thursday", ""),
        ("13/13/2026 12:00", " (there is no month 13: the day comes first)"),
        ("13 Juli 2026 12:00", " ('Juli' is not a month)"),
        ("30/02/2026 12:00", " (February 2026 has no day 30)"),
        ("13/07/2026 25:00", " ('25:00' is not a time of day)"),
        ("13/07/2026 13pm", " ('13pm' is not a time of day)"),
    ],
)
def test_what_cannot_be_read_names_the_forms(written: str, why: str) -> None:
    with pytest.raises(UnreadableDate) as info:
        parse_datetime(written, LONDON)
    assert str(info.value) == (
        f"'{written}' cannot be read as a date and time{why}; write it like 13/07/2026 12:00, "
        "13 July 2026 12:00, 13 July 2026 midday or 2026-07-13 12:00"
    )


@pytest.mark.parametrize(
    "written", ["13/07/2026", "13 July 2026", "2026-07-13", "Monday 13 July 2026"]
)
def test_dates_alone(written: str) -> None:
    assert parse_date(written) == date(2026, 7, 13)


def test_a_date_field_refuses_a_time() -> None:
    with pytest.raises(UnreadableDate) as info:
        parse_date("13/07/2026 12:00")
    assert str(info.value) == (
        "'13/07/2026 12:00' cannot be read as a date (a date alone, without a time); "
        "write it like 13/07/2026, 13 July 2026 or 2026-07-13"
    )


def test_word_drafts_use_the_same_clock() -> None:
    step = dated_step("Nominations close – 2.30pm on 9 July 2026")
    assert step is not None and step.at == "2026-07-09 14:30"
