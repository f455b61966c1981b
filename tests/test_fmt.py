from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.domain.fmt import (
    fmt_date,
    fmt_datetime,
    fmt_day_date,
    fmt_nip,
    fmt_number,
    fmt_percent,
    fmt_time,
    is_valid_nip,
    normalize_nip,
    tz_abbrev,
)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (None, "-"),
        (0, "0"),
        (1234, "1.234"),
        (1234567, "1.234.567"),
        (D("1234.5"), "1.234,5"),
        (D("97.8947"), "97,89"),
        (D("97.885"), "97,89"),  # HALF_UP, where Babel alone rounds half-even
        (D("1234.0"), "1.234"),
        (D("2.999"), "3"),
        (D("-1234.5"), "-1.234,5"),
        (D("-0.001"), "0"),
    ],
)
def test_fmt_number_default(x, expected):
    assert fmt_number(x) == expected


def test_fmt_number_fixed_decimals():
    assert fmt_number(D("1234567.885"), 2) == "1.234.567,89"
    assert fmt_number(12, 2) == "12,00"
    assert fmt_number(D("0.5"), 0) == "1"
    assert fmt_number(D("1.23456"), 3) == "1,235"


@settings(max_examples=400, deadline=None)
@given(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**18), max_value=10**18),
    st.sampled_from([None, 0, 1, 2, 3]),
)
def test_fmt_number_writes_what_babel_writes(x, decimals):
    """The fast path of ``fmt_number`` against Babel's id_ID formatting of the same value."""
    if decimals is None:
        q = x.quantize(D("0.01"), rounding=ROUND_HALF_UP)
        pattern = "#,##0" if q == q.to_integral_value() else "#,##0.##"
    else:
        q = x.quantize(D(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    expected = format_decimal(abs(q) if q == 0 else q, pattern, locale="id_ID")
    assert fmt_number(x, decimals) == expected


def test_fmt_percent():
    assert fmt_percent(D("97.8947")) == "97,89%"
    assert fmt_percent(D("116.665")) == "116,67%"
    assert fmt_percent(100) == "100,00%"
    assert fmt_percent(None) == "–"


def test_dates_without_zero_padding():
    assert fmt_date(date(2026, 10, 5)) == "5 Oktober 2026"
    assert fmt_date(date(2026, 3, 1)) == "1 Maret 2026"
    assert fmt_day_date(date(2026, 10, 5)) == "Senin, 5 Oktober 2026"
    assert fmt_day_date(date(2026, 10, 8)) == "Kamis, 8 Oktober 2026"


def test_fmt_datetime_converts_to_office_zone():
    dt = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)
    assert fmt_datetime(dt, "Asia/Jakarta") == "Kamis, 8 Oktober 2026 pukul 16.00 WIB"
    assert fmt_datetime(dt, "Asia/Makassar") == "Kamis, 8 Oktober 2026 pukul 17.00 WITA"
    assert fmt_datetime(dt, "Asia/Jayapura") == "Kamis, 8 Oktober 2026 pukul 18.00 WIT"


def test_fmt_datetime_crosses_midnight():
    dt = datetime(2026, 10, 7, 20, 30, tzinfo=UTC)
    assert fmt_datetime(dt, "Asia/Jayapura") == "Kamis, 8 Oktober 2026 pukul 05.30 WIT"


def test_fmt_time():
    wib = timezone(timedelta(hours=7))
    assert fmt_time(datetime(2026, 10, 8, 7, 30, tzinfo=wib), "Asia/Jakarta") == "07.30 WIB"
    utc = datetime(2026, 10, 8, 0, 30, tzinfo=UTC)
    assert fmt_time(utc, "Asia/Pontianak") == "07.30 WIB"
    assert fmt_time(utc, "Asia/Makassar") == "08.30 WITA"


def test_naive_datetime_rejected():
    with pytest.raises(ValueError):
        fmt_time(datetime(2026, 10, 8, 7, 30), "Asia/Jakarta")
    with pytest.raises(ValueError):
        fmt_datetime(datetime(2026, 10, 8, 7, 30), "Asia/Jakarta")


def test_tz_abbrev():
    assert tz_abbrev("Asia/Jakarta") == "WIB"
    assert tz_abbrev("Asia/Pontianak") == "WIB"
    assert tz_abbrev("Asia/Makassar") == "WITA"
    assert tz_abbrev("Asia/Jayapura") == "WIT"
    assert tz_abbrev("UTC") == "UTC"


# --- NIP ---------------------------------------------------------------------------------------


def test_normalize_and_format_nip():
    assert normalize_nip("19791208 200003 1 001") == "197912082000031001"
    assert normalize_nip(" 19791208.200003.1.001 ") == "197912082000031001"
    assert fmt_nip("197912082000031001") == "19791208 200003 1 001"
    assert fmt_nip("19791208 200003 1 001") == "19791208 200003 1 001"
    assert fmt_nip(" 12345 ") == "12345"


@pytest.mark.parametrize(
    "nip",
    [
        "19791208 200003 1 001",
        "19720315 199303 1 004",
        "19800921 200112 2 002",
        "19960229 202204 1 001",  # leap day
        "199009132025242014",  # Nomor Induk PPPK (code 24 instead of a month)
    ],
)
def test_valid_nips(nip):
    assert is_valid_nip(nip)


@pytest.mark.parametrize(
    "nip",
    [
        "",
        "1979120820000310",  # too short
        "1979120820000310011",  # too long
        "19791208 200003 1 00a",
        "19791308 200003 1 001",  # month 13
        "19790230 200003 1 001",  # 30 February
        "19970229 202204 1 001",  # not a leap year
        "19791208 200000 1 001",  # CPNS month 00
        "19791208 200003 3 001",  # sex digit 3
        "19791208 200003 0 001",
    ],
)
def test_invalid_nips(nip):
    assert not is_valid_nip(nip)


def test_pppk_code_can_be_refused():
    assert not is_valid_nip("199009132025242014", allow_pppk=False)
    assert is_valid_nip("19791208 200003 1 001", allow_pppk=False)
