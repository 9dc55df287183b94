from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.hours import parse_hours
from tests.support.flows import SP

WEEK = {"mon-fri": ["08:00-12:00", "13:00-17:00"], "sat": ["08:00-12:00"]}
HOLIDAYS = ["2026-04-03", "25/12", "20/11/2026"]


@pytest.fixture
def hours():  # type: ignore[no-untyped-def]
    parsed, problems = parse_hours("expediente", WEEK, HOLIDAYS, "America/Sao_Paulo", "8h-17h")
    assert problems == []
    return parsed


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (datetime(2026, 11, 23, 8, 0, tzinfo=SP), True),  # Monday, opening minute
        (datetime(2026, 11, 23, 7, 59, tzinfo=SP), False),
        (datetime(2026, 11, 23, 12, 30, tzinfo=SP), False),  # lunch break of a split shift
        (datetime(2026, 11, 23, 13, 0, tzinfo=SP), True),
        (datetime(2026, 11, 23, 17, 0, tzinfo=SP), False),  # end is exclusive
        (datetime(2026, 11, 28, 9, 0, tzinfo=SP), True),  # Saturday morning
        (datetime(2026, 11, 28, 14, 0, tzinfo=SP), False),
        (datetime(2026, 11, 29, 10, 0, tzinfo=SP), False),  # Sunday
        (datetime(2026, 11, 20, 10, 0, tzinfo=SP), False),  # holiday given with its year
        (datetime(2026, 4, 3, 10, 0, tzinfo=SP), False),  # ISO holiday
        (datetime(2030, 12, 25, 10, 0, tzinfo=SP), False),  # yearly holiday, any year
        (datetime(2026, 11, 23, 17, 30, tzinfo=UTC), True),  # 14:30 in São Paulo
        (datetime(2026, 11, 23, 14, 0), True),  # naive: already local
    ],
)
def test_is_open(hours, when: datetime, is_open: bool) -> None:  # type: ignore[no-untyped-def]
    assert hours.is_open(when) is is_open


def test_is_holiday(hours) -> None:  # type: ignore[no-untyped-def]
    assert hours.is_holiday(datetime(2027, 12, 25, 23, 0, tzinfo=SP))
    assert not hours.is_holiday(datetime(2026, 11, 23, 10, 0, tzinfo=SP))


def test_shift_until_midnight_and_day_lists() -> None:
    parsed, problems = parse_hours(
        "h", {"sat,sun": ["18:00-24:00"], "fri-mon": []}, [], "America/Sao_Paulo", "x"
    )
    assert "sat" in problems[0] and "also set" in problems[0]
    parsed, problems = parse_hours("h", {"sat,sun": ["18:00-24:00"]}, [], "America/Sao_Paulo", "x")
    assert problems == []
    assert parsed.is_open(datetime(2026, 11, 29, 23, 59, tzinfo=SP))


@pytest.mark.parametrize(
    ("week", "holidays", "zone", "message"),
    [
        (
            {"mon-fry": ["08:00-12:00"]},
            [],
            "America/Sao_Paulo",
            "hours 'h', field 'week.mon-fry': unknown day 'mon-fry'",
        ),
        (
            {"mon": ["8h-12h"]},
            [],
            "America/Sao_Paulo",
            "hours 'h', field 'week.mon[0]': '8h-12h' is not a range like '08:00-12:00'",
        ),
        (
            {"mon": ["13:00-12:00"]},
            [],
            "America/Sao_Paulo",
            "hours 'h', field 'week.mon[0]': '13:00-12:00' ends before it starts",
        ),
        ({"mon": ["22:00-06:00"]}, [], "America/Sao_Paulo", "crosses midnight"),
        (
            {"mon": ["08:00-25:00"]},
            [],
            "America/Sao_Paulo",
            "hours 'h', field 'week.mon[0]': '08:00-25:00' is not a valid time of day",
        ),
        (
            {"mon": ["08:00-12:00", "11:00-14:00"]},
            [],
            "America/Sao_Paulo",
            "hours 'h', field 'week.mon[1]': '11:00-14:00' overlaps '08:00-12:00'",
        ),
        (
            {},
            ["31/02"],
            "America/Sao_Paulo",
            "hours 'h', field 'holidays[0]': '31/02' is not a valid date",
        ),
        ({}, ["2026-13-01"], "America/Sao_Paulo", "field 'holidays[0]'"),
        ({}, ["Natal"], "America/Sao_Paulo", "field 'holidays[0]'"),
        (
            {},
            [],
            "America/Sao_Pablo",
            "hours 'h', field 'timezone': unknown time zone 'America/Sao_Pablo'",
        ),
    ],
)
def test_errors(week: dict[str, list[str]], holidays: list[str], zone: str, message: str) -> None:
    _, problems = parse_hours("h", week, holidays, zone, "x")
    assert len(problems) == 1
    assert message in problems[0]
