"""Small private formatting helpers for the reports (Indonesian style, via Babel).

Kept local so the report layer has no dependency on flows/; the lead may swap them for
flows.fmt later. Rounding is always HALF_UP (Babel itself would round half-even).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal

LOCALE = "id_ID"
DASH = "–"  # shown for a value that is not there (not reported / no target)
NA = "n/a"  # shown for a capaian that is not measured this period

TZ_ABBR = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
           "Asia/Jayapura": "WIT"}

# Green → red, best → worst; light enough for black text on top.
PALETTE = ("63BE7B", "B1D580", "FFEB84", "FBA276", "F8696B")
NEUTRAL = "D9D9D9"


def round_half_up(x: Decimal, places: int = 2) -> Decimal:
    """Round a Decimal HALF_UP to ``places`` decimals."""
    return Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def decimals_of(x: Decimal, cap: int = 4) -> int:
    """Number of significant decimals of x (at most ``cap``)."""
    exp = Decimal(x).normalize().as_tuple().exponent
    return min(max(-int(exp), 0), cap) if isinstance(exp, int) else 0


def fmt_number(x: Decimal | int | float | None, empty: str = DASH, max_decimals: int = 2) -> str:
    """1234567.5 → "1.234.567,5" (at most ``max_decimals`` decimals, HALF_UP)."""
    if x is None:
        return empty
    d = round_half_up(Decimal(str(x)), max_decimals).normalize()
    places = decimals_of(d, max_decimals)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(d, format=pattern, locale=LOCALE)


def fmt_capaian(x: Decimal | None, empty: str = NA) -> str:
    """Raw capaian → "97,89" (2 decimals, HALF_UP); None → "n/a"."""
    if x is None:
        return empty
    return format_decimal(round_half_up(x), format="#,##0.00", locale=LOCALE)


def fmt_percent(x: Decimal | None, empty: str = NA) -> str:
    """Raw capaian → "97,89%"; None → "n/a"."""
    return empty if x is None else fmt_capaian(x) + "%"


def fmt_date(d: date) -> str:
    """date → "5 Oktober 2026"."""
    return format_date(d, "d MMMM y", locale=LOCALE)


def tz_abbr(tz: str) -> str:
    return TZ_ABBR.get(tz, tz)


def to_local(dt: datetime, tz: str) -> datetime:
    """Aware datetimes move to the office zone; naive ones are taken as already local."""
    return dt.astimezone(ZoneInfo(tz)) if dt.tzinfo is not None else dt


def fmt_datetime(dt: datetime | None, tz: str, empty: str = DASH) -> str:
    """datetime → "5 Oktober 2026 14.30 WIB" in the office time zone."""
    if dt is None:
        return empty
    local = to_local(dt, tz)
    return f"{fmt_date(local.date())} {local:%H.%M} {tz_abbr(tz)}"


def fmt_nip(nip: str) -> str:
    """18-digit NIP → "19791208 200003 1 001"; anything else is returned unchanged."""
    digits = re.sub(r"\D", "", nip or "")
    if len(digits) != 18:
        return nip
    return f"{digits[:8]} {digits[8:14]} {digits[14]} {digits[15:]}"


def predikat_color(predikat: str | None, levels: tuple[str, ...]) -> str:
    """Fill colour (hex RGB without #) of a predikat, spread green → red over the levels."""
    if predikat is None or predikat not in levels:
        return NEUTRAL
    i = levels.index(predikat)
    if len(levels) <= 1:
        return PALETTE[0]
    return PALETTE[round(i * (len(PALETTE) - 1) / (len(levels) - 1))]


def on_time_label(on_time: bool | None) -> str:
    """True → "Tepat waktu", False → "Terlambat", None → "–"."""
    if on_time is None:
        return DASH
    return "Tepat waktu" if on_time else "Terlambat"
