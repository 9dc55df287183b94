"""Business hours: weekly shifts (split shifts allowed), a time zone and holidays.

Kept apart from the engine so the bridge can ask "is this department open now?" with the
same rules the bot uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_BR = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?$")
_DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Shift:
    """Open from `start` to `end`, in minutes after local midnight (end may be 24:00)."""

    start: int
    end: int


@dataclass(frozen=True)
class Hours:
    """A named schedule. `description` is the citizen-facing wording of it ({hours})."""

    name: str
    timezone: str
    week: tuple[tuple[Shift, ...], ...]  # index 0 is Monday, as in date.weekday()
    dates: frozenset[date]
    yearly: frozenset[tuple[int, int]]  # (month, day) holidays that repeat every year
    description: str

    def local(self, now: datetime) -> datetime:
        """`now` in this schedule's zone; a naive `now` is taken as already local."""
        zone = ZoneInfo(self.timezone)
        return now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone)

    def is_holiday(self, now: datetime) -> bool:
        day = self.local(now).date()
        return day in self.dates or (day.month, day.day) in self.yearly

    def is_open(self, now: datetime) -> bool:
        if self.is_holiday(now):
            return False
        local = self.local(now)
        minute = local.hour * 60 + local.minute
        return any(s.start <= minute < s.end for s in self.week[local.weekday()])


def zone_error(timezone: str) -> str | None:
    """Why `timezone` is not a usable IANA zone name, or None when it is."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {timezone!r} (use an IANA name such as 'America/Sao_Paulo')"
    return None


def parse_hours(
    name: str,
    week: Mapping[str, Sequence[str]],
    holidays: Sequence[str],
    timezone: str,
    description: str,
) -> tuple[Hours, list[str]]:
    """Build a schedule from the flow file's words; errors name the hours and the field."""
    where = f"hours '{name}'"
    errors: list[str] = []
    problem = zone_error(timezone)
    if problem:
        errors.append(f"{where}, field 'timezone': {problem}")
    days, week_errors = _parse_week(week)
    dates, yearly, day_errors = _parse_holidays(holidays)
    errors += [f"{where}, field '{field}': {msg}" for field, msg in week_errors + day_errors]
    hours = Hours(name, timezone, days, frozenset(dates), frozenset(yearly), description)
    return hours, errors


def _parse_week(
    week: Mapping[str, Sequence[str]],
) -> tuple[tuple[tuple[Shift, ...], ...], list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    shifts: list[list[Shift]] = [[] for _ in DAYS]
    seen: dict[int, str] = {}
    for key, ranges in week.items():
        indexes, problem = _parse_days(key)
        if problem:
            errors.append((f"week.{key}", problem))
            continue
        parsed = _parse_shifts(f"week.{key}", ranges, errors)
        for index in indexes:
            if index in seen:
                errors.append((f"week.{key}", f"{DAYS[index]} is also set by {seen[index]!r}"))
            seen[index] = key
            shifts[index] = parsed
    return tuple(tuple(day) for day in shifts), errors


def _parse_days(key: str) -> tuple[list[int], str | None]:
    indexes: list[int] = []
    for part in key.replace(" ", "").lower().split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            hint = "use mon, tue, wed, thu, fri, sat, sun, a range like mon-fri or a list"
            return [], f"unknown day {part!r} ({hint} like sat,sun)"
        start, end = DAYS.index(first), DAYS.index(last or first)
        span = (end - start) % len(DAYS)
        indexes += [(start + i) % len(DAYS) for i in range(span + 1)]
    return indexes, None


def _parse_shifts(field: str, ranges: Sequence[str], errors: list[tuple[str, str]]) -> list[Shift]:
    shifts: list[Shift] = []
    for i, text in enumerate(ranges):
        shift, problem = _parse_shift(text)
        if shift is None:
            errors.append((f"{field}[{i}]", problem))
            continue
        clash = next((s for s in shifts if s.start < shift.end and shift.start < s.end), None)
        if clash is not None:
            errors.append((f"{field}[{i}]", f"{text!r} overlaps {_fmt(clash)}"))
            continue
        shifts.append(shift)
    return sorted(shifts, key=lambda s: s.start)


def _parse_shift(text: str) -> tuple[Shift | None, str]:
    found = _SHIFT.match(text.strip())
    if not found:
        return None, f"{text!r} is not a range like '08:00-12:00'"
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 > 0):
        return None, f"{text!r} is not a valid time of day"
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        hint = "split a shift that crosses midnight into two days"
        return None, f"{text!r} ends before it starts ({hint})"
    return Shift(start, end), ""


def _fmt(shift: Shift) -> str:
    return "'{:02d}:{:02d}-{:02d}:{:02d}'".format(*divmod(shift.start, 60), *divmod(shift.end, 60))


def _parse_holidays(
    holidays: Sequence[str],
) -> tuple[set[date], set[tuple[int, int]], list[tuple[str, str]]]:
    dates: set[date] = set()
    yearly: set[tuple[int, int]] = set()
    errors: list[tuple[str, str]] = []
    for i, text in enumerate(holidays):
        parsed = _parse_holiday(text.strip())
        if parsed is None:
            hint = "use 'aaaa-mm-dd', 'dd/mm/aaaa', or 'dd/mm' for every year"
            errors.append((f"holidays[{i}]", f"{text!r} is not a valid date ({hint})"))
        elif isinstance(parsed, date):
            dates.add(parsed)
        else:
            yearly.add(parsed)
    return dates, yearly, errors


def _parse_holiday(text: str) -> date | tuple[int, int] | None:
    iso, br = _ISO.match(text), _BR.match(text)
    try:
        if iso:
            return date(*(int(g) for g in iso.groups()))
        if br and br.group(3):
            return date(int(br.group(3)), int(br.group(2)), int(br.group(1)))
        if br:
            day, month = int(br.group(1)), int(br.group(2))
            date(2000, month, day)  # a leap year, so 29/02 is accepted
            return (month, day)
    except ValueError:
        return None
    return None
