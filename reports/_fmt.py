"""Formatting helpers of the report layer, on top of flows.domain.fmt (Indonesian style, Babel).

Numbers, percentages, dates, NIPs and zone abbreviations come from :mod:`flows.domain.fmt` (HALF_UP
rounding there); what is left here is report-specific: the "–" placeholder, the
compact "5 Oktober 2026 14.30 WIB" time stamp, naive-datetime handling and predikat colours.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from flows.domain import fmt as base
from flows.domain.capaian import round2

DASH = "–"  # shown for a value that is not there (not reported / no target)
NA = DASH  # a capaian not measured this period (legend: "tidak diukur pada periode ini")

# Green → red, best → worst; light enough for black text on top.
PALETTE = ("63BE7B", "B1D580", "FFEB84", "FBA276", "F8696B")
NEUTRAL = "D9D9D9"


def round_half_up(x: Decimal, places: int = 2) -> Decimal:
    """Round a Decimal HALF_UP to ``places`` decimals (2: flows.capaian.round2)."""
    if places == 2:
        return round2(Decimal(x))
    return Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def decimals_of(x: Decimal, cap: int = 4) -> int:
    """Number of significant decimals of x (at most ``cap``)."""
    exp = Decimal(x).normalize().as_tuple().exponent
    return min(max(-int(exp), 0), cap) if isinstance(exp, int) else 0


def fmt_number(x: Decimal | int | float | None, empty: str = DASH) -> str:
    """1234567.5 → "1.234.567,5" (at most 2 decimals, HALF_UP); None → ``empty``."""
    if x is None:
        return empty
    return base.fmt_number(Decimal(str(x)))


def fmt_capaian(x: Decimal | None, empty: str = NA) -> str:
    """Raw capaian → "97,89" (2 decimals, HALF_UP); None → "–"."""
    return empty if x is None else base.fmt_number(x, 2)


def fmt_percent(x: Decimal | None, empty: str = NA) -> str:
    """Raw capaian → "97,89%"; None → "–"."""
    return empty if x is None else base.fmt_percent(x)


def fmt_date(d: date) -> str:
    """date → "5 Oktober 2026"."""
    return base.fmt_date(d)


def fmt_nip(nip: str) -> str:
    """18-digit NIP → "19791208 200003 1 001"; anything else comes back stripped."""
    return base.fmt_nip(nip)


def tz_abbr(tz: str) -> str:
    """WIB / WITA / WIT for an Indonesian zone."""
    return base.tz_abbrev(tz)


def to_local(dt: datetime, tz: str) -> datetime:
    """Aware datetimes move to the office zone; naive ones are taken as already local."""
    return dt.astimezone(ZoneInfo(tz)) if dt.tzinfo is not None else dt


def fmt_datetime(dt: datetime | None, tz: str, empty: str = DASH) -> str:
    """datetime → "5 Oktober 2026 14.30 WIB" in the office time zone."""
    if dt is None:
        return empty
    local = to_local(dt, tz)
    return f"{fmt_date(local.date())} {local:%H.%M} {tz_abbr(tz)}"


def predikat_color(predikat: str | None, levels: tuple[str, ...]) -> str:
    """Fill colour (hex RGB without #) of a predikat, spread green → red over the levels."""
    if predikat is None or predikat not in levels:
        return NEUTRAL
    i = levels.index(predikat)
    if len(levels) <= 1:
        return PALETTE[0]
    return PALETTE[round(i * (len(PALETTE) - 1) / (len(levels) - 1))]


def on_time_label(on_time: bool | None, late_days: int | None = None) -> str:
    """True → "Tepat waktu", False → "Terlambat" ("Terlambat 2 hari kerja"), None → "–"."""
    if on_time is None:
        return DASH
    if on_time:
        return "Tepat waktu"
    return f"Terlambat {late_days} hari kerja" if late_days else "Terlambat"
