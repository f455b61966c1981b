"""Office calendar: working days, office hours and SOP deadlines.

Pure module (no chat-platform imports). Holidays come from the ``holidays`` package (country ID,
categories PUBLIC + GOVERNMENT, i.e. national holidays and *cuti bersama* ASN, names in
Indonesian), loaded lazily per year, plus office-level extra days off, minus cancelled ones
(cuti bersama change during the year, so the office keeps its own add/remove table).

All public methods take timezone-aware datetimes (any zone, e.g. UTC) and return datetimes in
the office time zone (WIB ``Asia/Jakarta``, WITA ``Asia/Makassar``, WIT ``Asia/Jayapura``).
Office hours are half-open intervals ``[opening, closing)``: the closing moment itself is not
office time, but a deadline may fall exactly on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, cast, get_args
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DAY_KEYS",
    "DEFAULT_EXTRA_DAY_OFF_LABEL",
    "DEFAULT_HOURS",
    "DurationUnit",
    "OfficeCalendar",
    "OfficeHours",
    "SopDuration",
    "parse_duration",
]

DurationUnit = Literal["menit", "jam", "hari"]
_UNITS: tuple[str, ...] = get_args(DurationUnit)

#: Indonesian weekday names, index = ``date.weekday()`` (0 = Monday).
DAY_KEYS: tuple[str, ...] = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")
_DAY_ALIASES: dict[str, int] = {name: i for i, name in enumerate(DAY_KEYS)} | {
    "jum'at": 4,
    "jum’at": 4,
    "ahad": 6,
}
_CLOSED_WORDS = frozenset({"", "-", "libur", "tutup", "closed"})

DEFAULT_EXTRA_DAY_OFF_LABEL = "Libur kantor"

# A calendar year holds at most ~260 working days; this bounds every day-by-day search so that a
# misconfigured office (no working day at all) raises instead of looping forever.
_MAX_SEARCH_DAYS = 3 * 366

Span = tuple[time, time] | None

_T = time
_DEFAULT_DAYS: tuple[Span, ...] = (
    (_T(7, 30), _T(16, 0)),  # senin
    (_T(7, 30), _T(16, 0)),  # selasa
    (_T(7, 30), _T(16, 0)),  # rabu
    (_T(7, 30), _T(16, 0)),  # kamis
    (_T(7, 30), _T(16, 30)),  # jumat
    None,  # sabtu
    None,  # minggu
)


# --------------------------------------------------------------------------- durations

#: The least time a step in ``menit`` is given before it is due (see OfficeCalendar.step_due).
EFFORT_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class SopDuration:
    """An SOP step time ("Mutu Baku - Waktu"): ``amount`` of ``unit``.

    ``menit``/``jam`` count working time inside office hours; ``hari`` counts working days
    (see :meth:`OfficeCalendar.add`).
    """

    amount: int
    unit: DurationUnit

    def __post_init__(self) -> None:
        if self.unit not in _UNITS:
            raise ValueError(f"unknown duration unit {self.unit!r}")
        if self.amount < 1:
            raise ValueError(f"duration amount must be >= 1, got {self.amount}")

    @property
    def label(self) -> str:
        """Indonesian label, e.g. ``"3 hari"``."""
        return f"{self.amount} {self.unit}"

    @property
    def minutes(self) -> int | None:
        """Working minutes for ``menit``/``jam``; ``None`` for ``hari``."""
        if self.unit == "menit":
            return self.amount
        if self.unit == "jam":
            return self.amount * 60
        return None

    def __str__(self) -> str:
        return self.label


_DURATION_RE = re.compile(r"^\s*(\d+)\s*(menit|jam|hari)?\s*$", re.IGNORECASE)


def parse_duration(
    text: str | None, default_unit: DurationUnit | None = None
) -> SopDuration | None:
    """Parse an SOP time cell such as ``"5 menit"``, ``"2 Jam"``, ``"3 hari"``, ``"15\\nmenit"``.

    Case and whitespace (including newlines) are ignored. A bare number is accepted only when
    ``default_unit`` is given (for tables headed "Waktu (menit)"). Empty, ``None``, zero or
    unrecognised text returns ``None``.
    """
    if not text:
        return None
    m = _DURATION_RE.match(text)
    if not m:
        return None
    amount = int(m.group(1))
    unit = m.group(2).lower() if m.group(2) else default_unit
    if unit is None or amount < 1:
        return None
    return SopDuration(amount, cast(DurationUnit, unit))


# --------------------------------------------------------------------------- office hours


def _parse_clock(text: str) -> time:
    m = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", text)
    if not m:
        raise ValueError(f"invalid time {text!r}, expected HH:MM or HH.MM")
    return time(int(m.group(1)), int(m.group(2)))


def _parse_span(value: str | None) -> Span:
    if value is None or str(value).strip().lower() in _CLOSED_WORDS:
        return None
    parts = re.split(r"\s*[-–]\s*", str(value).strip())
    if len(parts) != 2:
        raise ValueError(f"invalid office hours {value!r}, expected e.g. '07:30-16:00'")
    opening, closing = _parse_clock(parts[0]), _parse_clock(parts[1])
    if not opening < closing:
        raise ValueError(f"office hours {value!r}: opening must be before closing")
    return opening, closing


def _parse_day_key(key: str) -> list[int]:
    names = [p.strip().lower() for p in re.split(r"\s*[-–]\s*", key.strip())]
    try:
        idx = [_DAY_ALIASES[n] for n in names]
    except KeyError as exc:
        raise ValueError(f"unknown day {exc.args[0]!r} in office-hours key {key!r}") from None
    if len(idx) == 1:
        return idx
    if len(idx) == 2 and idx[0] <= idx[1]:
        return list(range(idx[0], idx[1] + 1))
    raise ValueError(f"invalid day range {key!r}, expected e.g. 'senin-kamis'")


@dataclass(frozen=True)
class OfficeHours:
    """Opening and closing time per weekday (index 0 = Monday .. 6 = Sunday; ``None`` = closed).

    Default (Perpres 21/2023): Mon–Thu 07.30–16.00, Fri 07.30–16.30, Sat/Sun closed.
    """

    days: tuple[Span, ...] = _DEFAULT_DAYS

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("OfficeHours needs exactly 7 entries (Monday..Sunday)")
        for span in self.days:
            if span is not None and not span[0] < span[1]:
                raise ValueError(f"opening must be before closing: {span}")
        if all(span is None for span in self.days):
            raise ValueError("OfficeHours: the office must be open on at least one weekday")

    @classmethod
    def from_config(cls, config: Mapping[str, str | None] | None) -> OfficeHours:
        """Build from an office config, starting from the defaults.

        Keys are Indonesian day names (``senin`` .. ``minggu``; ``jum'at``/``ahad`` accepted)
        or inclusive ranges (``"senin-kamis"``); values are ``"07:30-16:00"`` (``07.30``
        accepted) or ``None``/``""``/``"libur"``/``"tutup"`` for closed. Days not mentioned keep
        the default; later keys override earlier ones. Example::

            {"senin-kamis": "07:30-16:00", "jumat": "07:30-16:30", "sabtu": "libur"}
        """
        days = list(_DEFAULT_DAYS)
        for key, value in (config or {}).items():
            span = _parse_span(value)
            for i in _parse_day_key(key):
                days[i] = span
        return cls(tuple(days))

    def span(self, weekday: int) -> Span:
        """``(opening, closing)`` for a weekday, or ``None`` when closed."""
        return self.days[weekday]

    def opening(self, weekday: int) -> time | None:
        span = self.days[weekday]
        return span[0] if span else None

    def closing(self, weekday: int) -> time | None:
        span = self.days[weekday]
        return span[1] if span else None


DEFAULT_HOURS = OfficeHours()


# --------------------------------------------------------------------------- calendar


class OfficeCalendar:
    """Working days, office hours and SOP deadlines of one office.

    A day is a working day when the office is open on that weekday and the day is not a day off.
    Days off = national holidays and cuti bersama (``holidays``, country ID) + ``extra_days_off``
    (a local holiday, an office closure; a mapping ``{date: label}`` gives its name), minus
    ``cancelled_days_off`` (e.g. a cuti bersama the office works on after all). ``years``
    preloads holiday years; other years are loaded lazily on first use and cached.
    """

    def __init__(
        self,
        tz: str | ZoneInfo = "Asia/Jakarta",
        hours: OfficeHours = DEFAULT_HOURS,
        extra_days_off: Iterable[date] | Mapping[date, str] = (),
        cancelled_days_off: Iterable[date] = (),
        years: Iterable[int] | None = None,
    ) -> None:
        self.tz: ZoneInfo = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.hours = hours
        if isinstance(extra_days_off, Mapping):
            self.extra_days_off: dict[date, str] = dict(extra_days_off)
        else:
            self.extra_days_off = {d: DEFAULT_EXTRA_DAY_OFF_LABEL for d in extra_days_off}
        self.cancelled_days_off: frozenset[date] = frozenset(cancelled_days_off)
        self._holidays: dict[int, dict[date, str]] = {}
        for year in years or ():
            self._year(year)

    def __repr__(self) -> str:
        return f"OfficeCalendar(tz={self.tz.key!r})"

    # -- holidays ---------------------------------------------------------------------------

    def _year(self, year: int) -> dict[date, str]:
        cached = self._holidays.get(year)
        if cached is None:
            data = holidays.country_holidays(
                "ID",
                categories=(holidays.PUBLIC, holidays.GOVERNMENT),
                language="id",
                years=year,
            )
            cached = self._holidays[year] = dict(data.items())
        return cached

    def holiday_name(self, d: date) -> str | None:
        """Name of the day off on ``d`` (national name in Indonesian, else the office label).

        ``None`` when ``d`` is not a day off (weekends are not days off by themselves) or the day
        off was cancelled by the office.
        """
        if d in self.cancelled_days_off:
            return None
        return self._year(d.year).get(d) or self.extra_days_off.get(d)

    def is_working_day(self, d: date) -> bool:
        """True when the office is open on ``d``'s weekday and ``d`` is not a day off."""
        return self.hours.span(d.weekday()) is not None and self.holiday_name(d) is None

    def next_working_day(self, d: date) -> date:
        """First working day strictly after ``d``."""
        for i in range(1, _MAX_SEARCH_DAYS):
            candidate = d + timedelta(days=i)
            if self.is_working_day(candidate):
                return candidate
        raise RuntimeError(f"no working day within {_MAX_SEARCH_DAYS} days after {d}")

    def previous_working_day(self, d: date) -> date:
        """Last working day strictly before ``d``."""
        for i in range(1, _MAX_SEARCH_DAYS):
            candidate = d - timedelta(days=i)
            if self.is_working_day(candidate):
                return candidate
        raise RuntimeError(f"no working day within {_MAX_SEARCH_DAYS} days before {d}")

    def working_days_between(self, a: date, b: date) -> int:
        """Number of working days in ``[a, b]`` (inclusive); 0 when ``b < a``."""
        return sum(
            self.is_working_day(a + timedelta(days=i)) for i in range(max(0, (b - a).days + 1))
        )

    # -- times ------------------------------------------------------------------------------

    def localize(self, dt: datetime) -> datetime:
        """Convert an aware datetime to the office time zone (naive datetimes are rejected)."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError("OfficeCalendar needs timezone-aware datetimes")
        return dt.astimezone(self.tz)

    def opening(self, d: date) -> datetime | None:
        """Opening moment of ``d`` in office time, or ``None`` when ``d`` is not a working day."""
        if not self.is_working_day(d):
            return None
        return datetime.combine(d, cast(time, self.hours.opening(d.weekday())), tzinfo=self.tz)

    def closing(self, d: date) -> datetime | None:
        """Closing moment of ``d`` in office time, or ``None`` when ``d`` is not a working day."""
        if not self.is_working_day(d):
            return None
        return datetime.combine(d, cast(time, self.hours.closing(d.weekday())), tzinfo=self.tz)

    def is_office_time(self, dt: datetime) -> bool:
        """True when ``dt`` falls in ``[opening, closing)`` of a working day (office time)."""
        local = self.localize(dt)
        opening, closing = self.opening(local.date()), self.closing(local.date())
        return opening is not None and closing is not None and opening <= local < closing

    def next_office_time(self, dt: datetime) -> datetime:
        """``dt`` (in office time) if inside office hours, else the next opening moment.

        Before opening on a working day that is today's opening; after closing, at night, on a
        weekend or a day off it is the next working day's opening.
        """
        local = self.localize(dt)
        opening, closing = self.opening(local.date()), self.closing(local.date())
        if opening is not None and closing is not None and local < closing:
            return max(local, opening)
        return cast(datetime, self.opening(self.next_working_day(local.date())))

    def working_mornings(self, after: datetime, until: datetime) -> list[datetime]:
        """Opening moments of working days with ``after < opening <= until`` (office time)."""
        start, end = self.localize(after), self.localize(until)
        result: list[datetime] = []
        d = start.date()
        while d <= end.date():
            opening = self.opening(d)
            if opening is not None and start < opening <= end:
                result.append(opening)
            d += timedelta(days=1)
        return result

    def working_minutes_between(self, start: datetime, end: datetime) -> int:
        """Office-hours minutes in ``[start, end)`` (0 when ``end <= start``)."""
        a, b = self.localize(start), self.localize(end)
        total = timedelta()
        d = a.date()
        while d <= b.date():
            opening, closing = self.opening(d), self.closing(d)
            if opening is not None and closing is not None:
                lo, hi = max(a, opening), min(b, closing)
                if hi > lo:
                    total += hi - lo
            d += timedelta(days=1)
        return int(total.total_seconds() // 60)

    # -- deadlines --------------------------------------------------------------------------

    def add(self, start: datetime, duration: SopDuration) -> datetime:
        """Due moment of a step started at ``start`` lasting ``duration`` (in office time).

        * ``menit``/``jam``: working time inside office hours. Counting begins at
          :meth:`next_office_time` of ``start``; at closing time it pauses and resumes at the next
          working day's opening. A deadline may land exactly on a closing time. Example: Friday
          15.00 + "2 jam" with Friday closing 16.30 is due Monday 08.00 (16.00: Monday 08.30).
        * ``hari``: working days, due at the **closing time** of the N-th counted working day.
          If ``start`` is before opening on a working day, that day is day 1; if ``start`` is
          during or after office hours, or on a non-working day, day 1 is the next working day.
          So "1 hari" started Monday 10.00 is due Tuesday 16.00; started Monday 06.00 it is due
          Monday 16.00; started Saturday it is due the following Monday 16.00.
        """
        local = self.localize(start)
        minutes = duration.minutes
        if minutes is None:
            return self._add_days(local, duration.amount)
        remaining = timedelta(minutes=minutes)
        cursor = self.next_office_time(local)
        for _ in range(_MAX_SEARCH_DAYS):
            closing = cast(datetime, self.closing(cursor.date()))
            available = closing - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
            cursor = cast(datetime, self.opening(self.next_working_day(cursor.date())))
        raise RuntimeError(f"duration {duration.label} too long to schedule")

    def step_due(self, start: datetime, duration: SopDuration) -> datetime:
        """Due moment of an SOP step started at ``start``.

        An SOP time in ``menit`` is the effort the step takes, not a deadline: the step is due
        at the closing time of the working day it can start on, or, when less than an hour
        (or less than the effort) is left of that day, one hour (or the effort, if longer)
        after the next working day's opening. So nobody is late the moment a step begins.
        ``jam`` and ``hari`` are deadlines counted by :meth:`add`.
        """
        if duration.unit != "menit":
            return self.add(start, duration)
        need = max(EFFORT_MARGIN, timedelta(minutes=duration.amount))
        cursor = self.next_office_time(self.localize(start))
        closing = cast(datetime, self.closing(cursor.date()))
        if closing - cursor >= need:
            return closing
        day = self.next_working_day(cursor.date())
        opening = cast(datetime, self.opening(day))
        return min(opening + need, cast(datetime, self.closing(day)))

    def _add_days(self, local: datetime, amount: int) -> datetime:
        d = local.date()
        opening = self.opening(d)
        if opening is not None and local < opening:
            amount -= 1  # started before opening on a working day: today is day 1
        for _ in range(amount):
            d = self.next_working_day(d)
        return cast(datetime, self.closing(d))
