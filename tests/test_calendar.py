"""Tests for flows.domain.calendar: office hours, holidays (country ID) and deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from flows.domain.calendar import (
    DEFAULT_EXTRA_DAY_OFF_LABEL,
    OfficeCalendar,
    OfficeHours,
    SopDuration,
    parse_duration,
)

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")

HARI_3 = SopDuration(3, "hari")
HARI_1 = SopDuration(1, "hari")
JAM_2 = SopDuration(2, "jam")


def wib(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


@pytest.fixture(scope="module")
def cal() -> OfficeCalendar:
    return OfficeCalendar(years=[2025, 2026])


# --------------------------------------------------------------------------- parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 menit", SopDuration(5, "menit")),
        ("5 Menit", SopDuration(5, "menit")),
        ("2 Menit", SopDuration(2, "menit")),
        ("2 jam", SopDuration(2, "jam")),
        ("3 hari", SopDuration(3, "hari")),
        ("1 hari", SopDuration(1, "hari")),
        ("120 menit", SopDuration(120, "menit")),
        ("60 menit", SopDuration(60, "menit")),
        ("15\nmenit", SopDuration(15, "menit")),
        ("  2 HARI ", SopDuration(2, "hari")),
        ("", None),
        (None, None),
        ("menit", None),
        ("30", None),
        ("0 menit", None),
        ("2 jam – 1 hari", None),
        ("lima menit", None),
    ],
)
def test_parse_duration(text: str | None, expected: SopDuration | None) -> None:
    assert parse_duration(text) == expected


def test_parse_duration_default_unit_and_label() -> None:
    assert parse_duration("30", default_unit="menit") == SopDuration(30, "menit")
    assert parse_duration("3 hari").label == "3 hari"  # type: ignore[union-attr]
    assert str(SopDuration(15, "menit")) == "15 menit"
    assert SopDuration(2, "jam").minutes == 120
    assert SopDuration(2, "hari").minutes is None
    with pytest.raises(ValueError):
        SopDuration(0, "menit")
    with pytest.raises(ValueError):
        SopDuration(1, "minggu")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- office hours


def test_default_hours() -> None:
    h = OfficeHours()
    assert h.span(0) == (time(7, 30), time(16, 0))
    assert h.span(3) == (time(7, 30), time(16, 0))
    assert h.span(4) == (time(7, 30), time(16, 30))
    assert h.span(5) is None and h.span(6) is None


def test_hours_from_config() -> None:
    h = OfficeHours.from_config(
        {"senin-kamis": "08:00-15:30", "jumat": "08.00-11.30", "sabtu": "08:00-12:00"}
    )
    assert h.span(0) == h.span(3) == (time(8, 0), time(15, 30))
    assert h.span(4) == (time(8, 0), time(11, 30))
    assert h.span(5) == (time(8, 0), time(12, 0))
    assert h.span(6) is None  # not mentioned: default (closed)
    assert OfficeHours.from_config({"Jum'at": "07:30-16:00"}).span(4) == (time(7, 30), time(16))
    assert OfficeHours.from_config({"senin": "libur"}).span(0) is None
    assert OfficeHours.from_config(None) == OfficeHours()


@pytest.mark.parametrize(
    "config",
    [
        {"senen": "07:30-16:00"},
        {"jumat-senin": "07:30-16:00"},
        {"senin": "16:00-07:30"},
        {"senin": "7:30"},
        {"senin-minggu": None},
    ],
)
def test_hours_from_config_rejects(config: dict[str, str | None]) -> None:
    with pytest.raises(ValueError):
        OfficeHours.from_config(config)


# --------------------------------------------------------------------------- holidays


def test_tw2_2025_working_days(cal: OfficeCalendar) -> None:
    a, b = date(2025, 4, 1), date(2025, 6, 30)
    # 65 weekdays; minus 7 public holidays = 58; minus 7 more cuti bersama = 51.
    assert cal.working_days_between(a, b) == 51
    cuti_bersama = [
        date(2025, 4, 2),
        date(2025, 4, 3),
        date(2025, 4, 4),
        date(2025, 4, 7),
        date(2025, 5, 13),
        date(2025, 5, 30),
        date(2025, 6, 9),
    ]
    for d in cuti_bersama:
        assert cal.holiday_name(d).startswith("Cuti Bersama")  # type: ignore[union-attr]
    assert OfficeCalendar(cancelled_days_off=cuti_bersama).working_days_between(a, b) == 58
    assert cal.working_days_between(b, a) == 0
    assert cal.working_days_between(a, a) == 0  # 1 April 2025: Idul Fitri day 2
    assert cal.working_days_between(date(2025, 4, 8), date(2025, 4, 8)) == 1


def test_march_2026_holiday_names(cal: OfficeCalendar) -> None:
    assert cal.holiday_name(date(2026, 3, 18)) == "Cuti Bersama Hari Suci Nyepi"
    assert cal.holiday_name(date(2026, 3, 19)) == "Hari Suci Nyepi"
    assert cal.holiday_name(date(2026, 3, 20)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2026, 3, 21)) == "Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2026, 3, 22)) == "Hari kedua dari Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2026, 3, 23)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2026, 3, 24)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2026, 3, 17)) is None
    assert cal.holiday_name(date(2026, 3, 28)) is None  # a plain Saturday
    working = [d for d in range(16, 28) if cal.is_working_day(date(2026, 3, d))]
    assert working == [16, 17, 25, 26, 27]


def test_lazy_year_loading() -> None:
    c = OfficeCalendar()
    assert c._holidays == {}
    assert c.holiday_name(date(2030, 1, 1)) == "Tahun Baru Masehi"
    assert list(c._holidays) == [2030]


def test_extra_and_cancelled_days_off() -> None:
    c = OfficeCalendar(
        extra_days_off={date(2026, 4, 20): "Hari Jadi Kabupaten"},
        cancelled_days_off=[date(2026, 5, 15)],  # Cuti Bersama Kenaikan Yesus Kristus
    )
    assert not c.is_working_day(date(2026, 4, 20))
    assert c.holiday_name(date(2026, 4, 20)) == "Hari Jadi Kabupaten"
    assert c.is_working_day(date(2026, 5, 15))
    assert c.holiday_name(date(2026, 5, 15)) is None
    assert c.next_working_day(date(2026, 5, 13)) == date(2026, 5, 15)  # 14 May is a holiday
    assert OfficeCalendar().next_working_day(date(2026, 5, 13)) == date(2026, 5, 18)
    # "1 hari" from Friday 17 April 10.00 skips the weekend and the local holiday.
    assert c.add(wib(2026, 4, 17, 10), HARI_1) == wib(2026, 4, 21, 16)
    plain = OfficeCalendar(extra_days_off=[date(2026, 4, 20)])
    assert plain.holiday_name(date(2026, 4, 20)) == DEFAULT_EXTRA_DAY_OFF_LABEL


def test_previous_and_next_working_day(cal: OfficeCalendar) -> None:
    assert cal.previous_working_day(date(2026, 3, 25)) == date(2026, 3, 17)
    assert cal.next_working_day(date(2026, 3, 17)) == date(2026, 3, 25)
    assert cal.next_working_day(date(2026, 3, 6)) == date(2026, 3, 9)  # Friday -> Monday
    assert cal.previous_working_day(date(2026, 3, 9)) == date(2026, 3, 6)


# --------------------------------------------------------------------------- office time


def test_is_office_time(cal: OfficeCalendar) -> None:
    assert cal.is_office_time(wib(2026, 3, 10, 7, 30))
    assert cal.is_office_time(wib(2026, 3, 10, 15, 59))
    assert not cal.is_office_time(wib(2026, 3, 10, 16, 0))  # closing is exclusive
    assert not cal.is_office_time(wib(2026, 3, 10, 7, 29))
    assert cal.is_office_time(wib(2026, 3, 13, 16, 15))  # Friday closes 16.30
    assert not cal.is_office_time(wib(2026, 3, 14, 10))  # Saturday
    assert not cal.is_office_time(wib(2026, 3, 19, 10))  # Nyepi
    # 03.00 UTC = 10.00 WIB
    assert cal.is_office_time(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    with pytest.raises(ValueError):
        cal.is_office_time(datetime(2026, 3, 10, 10))


def test_next_office_time(cal: OfficeCalendar) -> None:
    inside = wib(2026, 3, 10, 10, 17)
    assert cal.next_office_time(inside) == inside
    assert cal.next_office_time(wib(2026, 3, 10, 6, 0)) == wib(2026, 3, 10, 7, 30)  # before
    assert cal.next_office_time(wib(2026, 3, 10, 22, 45)) == wib(2026, 3, 11, 7, 30)  # night
    assert cal.next_office_time(wib(2026, 3, 11, 0, 5)) == wib(2026, 3, 11, 7, 30)  # past midnight
    assert cal.next_office_time(wib(2026, 3, 10, 16, 0)) == wib(2026, 3, 11, 7, 30)  # closing
    assert cal.next_office_time(wib(2026, 3, 14, 11, 0)) == wib(2026, 3, 16, 7, 30)  # Saturday
    assert cal.next_office_time(wib(2026, 3, 17, 18, 0)) == wib(2026, 3, 25, 7, 30)  # Lebaran
    # A UTC input comes back in office time.
    out = cal.next_office_time(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    assert out.tzinfo == WIB and out == wib(2026, 3, 10, 10, 0)


def test_working_mornings(cal: OfficeCalendar) -> None:
    mornings = cal.working_mornings(wib(2026, 3, 12, 9, 0), wib(2026, 3, 26, 7, 30))
    assert mornings == [
        wib(2026, 3, 13, 7, 30),
        wib(2026, 3, 16, 7, 30),
        wib(2026, 3, 17, 7, 30),
        wib(2026, 3, 25, 7, 30),
        wib(2026, 3, 26, 7, 30),  # `until` is inclusive
    ]
    # `after` is exclusive.
    assert cal.working_mornings(wib(2026, 3, 13, 7, 30), wib(2026, 3, 13, 23)) == []
    assert cal.working_mornings(wib(2026, 3, 13, 7, 29), wib(2026, 3, 13, 23)) == [
        wib(2026, 3, 13, 7, 30)
    ]
    assert cal.working_mornings(wib(2026, 3, 20), wib(2026, 3, 10)) == []


# --------------------------------------------------------------------------- deadlines


def test_minutes_inside_one_day(cal: OfficeCalendar) -> None:
    assert cal.add(wib(2026, 3, 10, 9, 0), SopDuration(5, "menit")) == wib(2026, 3, 10, 9, 5)
    assert cal.add(wib(2026, 3, 10, 14, 0), JAM_2) == wib(2026, 3, 10, 16, 0)  # exactly closing
    # Started at night: counting starts at the next opening.
    assert cal.add(wib(2026, 3, 9, 21, 0), SopDuration(120, "menit")) == wib(2026, 3, 10, 9, 30)
    # Started before opening.
    assert cal.add(wib(2026, 3, 10, 5, 0), SopDuration(5, "menit")) == wib(2026, 3, 10, 7, 35)


def test_friday_afternoon_two_hours() -> None:
    start = wib(2026, 3, 6, 15, 0)  # Friday
    # Friday closes 16.30: 90 min on Friday, 30 min on Monday.
    assert OfficeCalendar().add(start, JAM_2) == wib(2026, 3, 9, 8, 0)
    # Friday closes 16.00: 60 min on Friday, 60 min on Monday.
    early = OfficeCalendar(hours=OfficeHours.from_config({"jumat": "07:30-16:00"}))
    assert early.add(start, JAM_2) == wib(2026, 3, 9, 8, 30)


def test_hours_span_multiple_days(cal: OfficeCalendar) -> None:
    # 20 working hours from Monday 07.30: Mon 8.5 h, Tue 8.5 h, Wed 3 h -> Wed 10.30.
    assert cal.add(wib(2026, 3, 9, 7, 30), SopDuration(20, "jam")) == wib(2026, 3, 11, 10, 30)


def test_days_rules(cal: OfficeCalendar) -> None:
    # During office hours on Tuesday: day 1 is Wednesday.
    assert cal.add(wib(2026, 3, 10, 10), HARI_1) == wib(2026, 3, 11, 16)
    # After closing: same.
    assert cal.add(wib(2026, 3, 10, 19), HARI_1) == wib(2026, 3, 11, 16)
    # Before opening on a working day: that day is day 1.
    assert cal.add(wib(2026, 3, 10, 6), HARI_1) == wib(2026, 3, 10, 16)
    assert cal.add(wib(2026, 3, 10, 6), HARI_3) == wib(2026, 3, 12, 16)
    # On a Saturday: day 1 is Monday.
    assert cal.add(wib(2026, 3, 14, 9), HARI_1) == wib(2026, 3, 16, 16)
    # Ends on a Friday: Friday closing time.
    assert cal.add(wib(2026, 3, 10, 10), HARI_3) == wib(2026, 3, 13, 16, 30)


def test_three_days_across_idul_fitri_2026(cal: OfficeCalendar) -> None:
    # 18 Mar cuti Nyepi, 19 Nyepi, 20 cuti Idul Fitri, 21-22 Idul Fitri (weekend), 23-24 cuti.
    start = wib(2026, 3, 17, 14, 0)  # Tuesday, last working day before the break
    due = cal.add(start, HARI_3)
    assert due == wib(2026, 3, 27, 16, 30)  # 25, 26, 27 March; Friday closing
    assert due.tzinfo == WIB
    assert cal.add(start, HARI_1) == wib(2026, 3, 25, 16, 0)
    # "2 jam" started 15.00 on 17 March: 60 min before closing, then 60 min on 25 March.
    assert cal.add(start.replace(hour=15), JAM_2) == wib(2026, 3, 25, 8, 30)


def test_wita_office_from_utc() -> None:
    cal = OfficeCalendar(tz="Asia/Makassar")
    start = datetime(2026, 3, 10, 7, 30, tzinfo=UTC)  # 15.30 WITA Tuesday (14.30 WIB)
    assert cal.localize(start) == datetime(2026, 3, 10, 15, 30, tzinfo=WITA)
    assert cal.is_office_time(start)
    due = cal.add(start, JAM_2)
    # 30 min until 16.00 WITA, 90 min from 07.30 WITA Wednesday.
    assert due == datetime(2026, 3, 11, 9, 0, tzinfo=WITA)
    assert due.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    assert due.tzinfo == WITA
    # Same instant for a WIB office is 14.30 WIB: 90 min until 16.00, 30 min on Wednesday.
    assert OfficeCalendar().add(start, JAM_2) == wib(2026, 3, 11, 8, 0)
    # 23.00 UTC on Monday is already 07.00 Tuesday in Makassar: before opening, day 1 = Tuesday.
    assert cal.add(datetime(2026, 3, 9, 23, 0, tzinfo=UTC), HARI_1) == datetime(
        2026, 3, 10, 16, 0, tzinfo=WITA
    )
    # For a WIT office the same instant is 08.00 Tuesday (open): day 1 is Wednesday.
    wit = OfficeCalendar(tz=ZoneInfo("Asia/Jayapura"))
    assert wit.add(datetime(2026, 3, 9, 23, 0, tzinfo=UTC), HARI_1) == datetime(
        2026, 3, 11, 16, 0, tzinfo=WIT
    )


def test_office_settings_calendar_wita_with_local_holiday() -> None:
    """``calendar_for`` (the office file's settings): WITA hours and a local extra holiday."""
    from flows.domain.office_settings import calendar_for

    cal = calendar_for(
        "Asia/Makassar",
        {
            "jam_kerja": {"senin-kamis": "08:00-16:00", "jumat": "08:00-11:00"},
            "libur_tambahan": {"2026-10-12": "Hari Jadi Kabupaten"},
        },
    )
    assert cal.holiday_name(date(2026, 10, 12)) == "Hari Jadi Kabupaten"
    # Friday 9 Oct 10.00 WITA + "2 jam": 1 h on Friday (closes 11.00), the local holiday on
    # Monday is skipped, 1 h on Tuesday from 08.00 WITA.
    due = cal.add(datetime(2026, 10, 9, 10, 0, tzinfo=WITA), JAM_2)
    assert due == datetime(2026, 10, 13, 9, 0, tzinfo=WITA)
    assert cal.next_office_time(datetime(2026, 10, 9, 3, 30, tzinfo=UTC)) == datetime(
        2026, 10, 13, 8, 0, tzinfo=WITA
    )  # 11.30 WITA Friday: closed until Tuesday


# --------------------------------------------------------------------------- working minutes


def test_working_minutes_count_only_office_hours(cal: OfficeCalendar):
    # Thursday 1 Oct 2026 16.00 (closing) → Monday 5 Oct 09.00: Friday 07.30–16.30 (9 h) +
    # Monday 07.30–09.00 (1.5 h); the weekend and the night count nothing.
    assert cal.working_minutes_between(wib(2026, 10, 1, 16), wib(2026, 10, 5, 9)) == 630
    assert cal.working_minutes_between(wib(2026, 10, 5, 9), wib(2026, 10, 5, 8)) == 0
    assert cal.working_minutes_between(wib(2026, 10, 3, 10), wib(2026, 10, 4, 12)) == 0
    assert cal.working_minutes_between(wib(2026, 10, 5, 6), wib(2026, 10, 5, 7, 45)) == 15


def test_office_settings_calendar_made_once_per_distinct_settings() -> None:
    """A step's entry, its deadline and its reminders ask for the office calendar several
    times: the holiday tables are built once, and only settings that differ make another."""
    from flows.domain.office_settings import calendar_for

    local = {"libur_tambahan": {"2026-10-12": "Hari Jadi Kabupaten"}}
    first = calendar_for("Asia/Makassar", local)
    first.holiday_name(date(2026, 8, 17))  # 2026's table built
    again = calendar_for("Asia/Makassar", {**local, "skala_predikat": None})
    assert again is first and 2026 in again._holidays
    assert calendar_for("Asia/Makassar", {}) is not first  # no local holiday
    assert calendar_for("Asia/Makassar", {}).holiday_name(date(2026, 10, 12)) is None
    assert calendar_for("Asia/Jakarta", local) is not first  # another time zone
    other = calendar_for("Asia/Makassar", {"libur_tambahan": {"2026-10-13": "Hari lain"}})
    assert other.holiday_name(date(2026, 10, 12)) is None
    assert other.holiday_name(date(2026, 10, 13)) == "Hari lain"
