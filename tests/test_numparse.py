from decimal import Decimal as D

import pytest

from flows.domain.numparse import ParsedNumber, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("87,5", D("87.5")),
        ("1.234", D(1234)),
        ("1.234.567,89", D("1234567.89")),
        ("1.234,5", D("1234.5")),
        ("75%", D(75)),
        ("75 %", D(75)),
        ("87,5%", D("87.5")),
        ("12 desa", D(12)),
        ("12 Desa/Kelurahan", D(12)),
        ("12desa", D(12)),
        ("250 m2", D(250)),
        ("Rp 1.500.000", D(1500000)),
        ("Rp1.500.000", D(1500000)),
        ("rp. 1.500.000,-", D(1500000)),
        ("0", D(0)),
        ("0,5", D("0.5")),
        ("100", D(100)),
        ("1234", D(1234)),
        ("  42  ", D(42)),
        ("12.", D(12)),
        ("-0", D(0)),
    ],
)
def test_accepted_unambiguous(text, value):
    assert parse_number(text) == ParsedNumber(value)
    assert parse_number(text).ok


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("98.5", D("98.5")),
        ("87.5", D("87.5")),
        ("1.5", D("1.5")),
        ("3.25", D("3.25")),
        ("0.250", D("0.250")),  # leading 0 cannot start a thousands group
        ("1234.5", D("1234.5")),
        ("98.5%", D("98.5")),
        ("1,234", D("1.234")),  # Indonesian reading, but an English writer means 1234
    ],
)
def test_ambiguous_readings(text, value):
    parsed = parse_number(text)
    assert parsed.value == value
    assert parsed.ambiguous is True
    assert parsed.error is None


def test_babel_trap_not_reproduced():
    assert parse_number("98.5").value != D(985)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("abc", "not_a_number"),
        ("lima", "not_a_number"),
        ("1,2,3", "not_a_number"),
        ("1.2.3", "not_a_number"),
        ("1.234.5", "not_a_number"),
        ("1,234.56", "not_a_number"),
        ("Rp", "not_a_number"),
        ("sekitar 12", "not_a_number"),
        ("-5", "negative"),
        ("- 5", "negative"),
        ("\u22125", "negative"),
        ("Rp -1.500", "negative"),
        ("-0,5", "negative"),
        ("12 desa 3 kelurahan", "too_many_numbers"),
        ("12-13", "too_many_numbers"),
        ("1 234", "too_many_numbers"),
    ],
)
def test_errors(text, code):
    parsed = parse_number(text)
    assert parsed.error == code
    assert parsed.value is None
    assert not parsed.ok
