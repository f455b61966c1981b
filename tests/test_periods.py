from datetime import date

import pytest

from flows.domain.periods import Period, parse_period, previous_quarter, quarter_just_ended, roman


def test_roman():
    assert [roman(n) for n in (1, 2, 3, 4, 9, 14, 2026)] == [
        "I",
        "II",
        "III",
        "IV",
        "IX",
        "XIV",
        "MMXXVI",
    ]
    with pytest.raises(ValueError):
        roman(0)


def test_quarters_covered():
    assert Period(2026, "TW", 3).quarters == (3,)
    assert Period(2026, "SEMESTER", 1).quarters == (1, 2)
    assert Period(2026, "SEMESTER", 2).quarters == (3, 4)
    assert Period(2026, "TAHUN", 1).quarters == (1, 2, 3, 4)
    assert Period(2026, "SEMESTER", 1).last_quarter == 2
    assert Period.annual(2026).last_quarter == 4


@pytest.mark.parametrize(
    ("period", "label", "short", "slug", "key"),
    [
        (Period(2026, "TW", 3), "Triwulan III 2026", "TW III 2026", "TW_III_2026", "2026-TW3"),
        (
            Period(2026, "SEMESTER", 1),
            "Semester I 2026",
            "Semester I 2026",
            "Semester_I_2026",
            "2026-S1",
        ),
        (Period(2026, "TAHUN", 1), "Tahun 2026", "Tahun 2026", "Tahun_2026", "2026-Y"),
    ],
)
def test_names_and_keys(period, label, short, slug, key):
    assert period.label == label
    assert str(period) == label
    assert period.short == short
    assert period.slug == slug
    assert period.key == key
    assert Period.from_key(key) == period


@pytest.mark.parametrize("key", ["2026-TW5", "2026-S3", "2026", "26-TW1", "2026-TW", "x"])
def test_from_key_rejects_bad_keys(key):
    with pytest.raises(ValueError):
        Period.from_key(key)


@pytest.mark.parametrize(
    ("kind", "number"), [("TW", 0), ("TW", 5), ("SEMESTER", 3), ("TAHUN", 2), ("BULAN", 1)]
)
def test_invalid_periods(kind, number):
    with pytest.raises(ValueError):
        Period(2026, kind, number)


def test_period_dates():
    assert Period.quarter(2026, 1).first_day == date(2026, 1, 1)
    assert Period.quarter(2026, 1).last_day == date(2026, 3, 31)
    assert Period.quarter(2024, 1).last_day == date(2024, 3, 31)
    assert Period.semester(2026, 2).first_day == date(2026, 7, 1)
    assert Period.semester(2026, 1).last_day == date(2026, 6, 30)
    assert Period.annual(2026).last_day == date(2026, 12, 31)


def test_period_is_hashable_and_comparable():
    assert Period.quarter(2026, 3) == Period(2026, "TW", 3)
    assert len({Period.quarter(2026, 3), Period(2026, "TW", 3)}) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TW III 2026", Period(2026, "TW", 3)),
        ("tw 3 2026", Period(2026, "TW", 3)),
        ("Triwulan III", Period(2025, "TW", 3)),
        ("triwulan 3 2026", Period(2026, "TW", 3)),
        ("TRIWULAN IV 2026", Period(2026, "TW", 4)),
        ("tw iv", Period(2025, "TW", 4)),
        ("TW3", Period(2025, "TW", 3)),
        ("triwulan ke-2 2026", Period(2026, "TW", 2)),
        ("  tw   I   2026 ", Period(2026, "TW", 1)),
        ("semester 1 2026", Period(2026, "SEMESTER", 1)),
        ("Semester II", Period(2025, "SEMESTER", 2)),
        ("tahun 2026", Period(2026, "TAHUN", 1)),
        ("tahunan 2026", Period(2026, "TAHUN", 1)),
        ("Tahunan", Period(2025, "TAHUN", 1)),
        ("2026-TW2", Period(2026, "TW", 2)),
    ],
)
def test_parse_period(text, expected):
    assert parse_period(text, 2025) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "TW V 2026",
        "tw 0",
        "semester 3",
        "semester",
        "triwulan",
        "bulan 3",
        "abc",
        "tahun 2 2026",
        "TW III 26",
    ],
)
def test_parse_period_rejects(text):
    assert parse_period(text, 2026) is None


def test_parse_period_needs_a_year():
    assert parse_period("TW III", None) is None
    assert parse_period("TW III 2026", None) == Period(2026, "TW", 3)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 10, 5), Period(2026, "TW", 3)),
        (date(2026, 12, 31), Period(2026, "TW", 3)),
        (date(2026, 1, 10), Period(2025, "TW", 4)),
        (date(2026, 4, 1), Period(2026, "TW", 1)),
        (date(2026, 7, 15), Period(2026, "TW", 2)),
    ],
)
def test_quarter_just_ended(today, expected):
    assert quarter_just_ended(today) == expected


def test_previous_quarter():
    assert previous_quarter(Period(2026, "TW", 3)) == Period(2026, "TW", 2)
    assert previous_quarter(Period(2026, "TW", 1)) is None
    assert previous_quarter(Period(2026, "SEMESTER", 2)) == Period(2026, "TW", 2)
    assert previous_quarter(Period(2026, "SEMESTER", 1)) is None
    assert previous_quarter(Period.annual(2026)) is None
