"""From stored answers to the figures of a period: realisasi, capaian and predikat.

A stored answer holds, per quarter (DOMAIN.md §3), the new amount in that quarter for a
``kumulatif`` indicator, the level for ``terakhir``, the rate for ``rata-rata`` and numerator /
denominator for ``rasio``; this module turns those into any period's figures.

Ranges (DOMAIN.md §1): for a level (``terakhir``, ``rata-rata``, ``rasio``) or a ``stabil``
indicator the quarter's target is a level, so the range applies in every period whose target
lies in the range (a quarter whose target is outside it, e.g. serapan 70 against 90–100, is
measured against its own target). For a
``kumulatif`` indicator the range belongs to the annual target (so to s.d. TW IV), and to
another quarter only when that quarter has its own range.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from flows.domain.capaian import (
    DEFAULT_SCALE,
    PredikatScale,
    aggregate,
    capaian,
    predikat,
    rasio_value,
)

Range = tuple[Decimal, Decimal]
#: Which part of a range decided a capaian: below it (lo was T), inside (100), above (hi was T).
RangeSide = Literal["bawah", "dalam", "atas"]


@dataclass(frozen=True)
class Reported:
    """One quarter's answer as stored on an entry."""

    realisasi: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None


@dataclass(frozen=True)
class Targets:
    """What measuring needs to know of an indicator."""

    polarity: str
    aggregation: str
    target_tahunan: Decimal | None
    target_sd: tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]
    rentang: Range | None = None
    inverse: bool = False
    #: A range per quarter (s.d. TW n); ``None`` where the quarter has none of its own.
    rentang_tw: tuple[Range | None, Range | None, Range | None, Range | None] = (
        None,
        None,
        None,
        None,
    )


@dataclass(frozen=True)
class Figures:
    target_sd: Decimal | None
    realisasi_periode: Decimal | None
    realisasi_sd: Decimal | None
    capaian_sd: Decimal | None
    capaian_tahunan: Decimal | None
    predikat: str | None
    #: The range that decided ``capaian_sd`` (``None``: the plain target did) and which side.
    rentang_sd: Range | None = None
    sisi_rentang: RangeSide | None = None


def reported_value(aggregation: str, rep: Reported | None) -> Decimal | None:
    """The single value that stands for a quarter's answer."""
    if rep is None:
        return None
    if aggregation == "rasio":
        if rep.numerator is None or rep.denominator is None:
            return rep.realisasi
        return rasio_value(rep.numerator, rep.denominator)
    return rep.realisasi


def over_quarters(
    aggregation: str, reported: Mapping[int, Reported], quarters: Iterable[int]
) -> Decimal | None:
    """Realisasi over a set of quarters (a TW, a semester, s.d. TW n, the year)."""
    qs = sorted(quarters)
    if aggregation == "rasio":
        reps = [reported.get(q) for q in qs]
        return aggregate(
            [reported_value(aggregation, r) for r in reps],
            "rasio",
            numerators=[r.numerator if r else None for r in reps],
            denominators=[r.denominator if r else None for r in reps],
        )
    return aggregate([reported_value(aggregation, reported.get(q)) for q in qs], aggregation)


def period_target(t: Targets, quarters: tuple[int, ...]) -> Decimal | None:
    """The target "s.d." the period's last quarter."""
    return t.target_sd[max(quarters) - 1]


def range_for(t: Targets, quarter: int) -> Range | None:
    """The range that applies to capaian s.d. TW ``quarter`` (see the module docstring)."""
    own = t.rentang_tw[quarter - 1]
    if own is not None:
        return own
    if t.aggregation == "kumulatif":
        return t.rentang if quarter == 4 else None
    target = t.target_sd[quarter - 1]
    if t.rentang is not None and target is not None:
        lo, hi = sorted(t.rentang)
        if not lo <= target <= hi:  # the quarter has a target of its own (20, 45, 70, 95)
            return None
    return t.rentang


def range_side(realisasi: Decimal | None, rentang: Range | None) -> RangeSide | None:
    """Where ``realisasi`` falls in ``rentang``; ``None`` without either."""
    if realisasi is None or rentang is None:
        return None
    lo, hi = sorted(rentang)
    if realisasi < lo:
        return "bawah"
    return "atas" if realisasi > hi else "dalam"


def sd_before(t: Targets, reported: Mapping[int, Reported], quarter: int) -> Decimal:
    """Realisasi s.d. the quarter before ``quarter`` of a ``kumulatif`` indicator (0 at TW I)."""
    if quarter <= 1:
        return Decimal(0)
    return over_quarters(t.aggregation, reported, range(1, quarter)) or Decimal(0)


def amount_from_sd(sd_value: Decimal, before: Decimal) -> Decimal | None:
    """The quarter's new amount from an s.d. answer; ``None`` when it is below ``before``
    (a cumulative total cannot fall, so the answer is refused, never stored)."""
    if sd_value < before:
        return None
    return sd_value - before


def figures(
    t: Targets,
    reported: Mapping[int, Reported],
    quarters: tuple[int, ...],
    scale: PredikatScale = DEFAULT_SCALE,
) -> Figures:
    """Every figure of one indicator for a period made of ``quarters`` (predikat on ``scale``)."""
    last = max(quarters)
    target_sd = period_target(t, quarters)
    real_sd = over_quarters(t.aggregation, reported, range(1, last + 1))
    real_period = over_quarters(t.aggregation, reported, quarters)
    rentang_sd = range_for(t, last)
    if target_sd is None:
        cap_sd = None
        rentang_sd = None
    else:
        cap_sd = capaian(target_sd, real_sd, t.polarity, rentang=rentang_sd, inverse=t.inverse)
    cap_year = capaian(t.target_tahunan, real_sd, t.polarity, rentang=t.rentang, inverse=t.inverse)
    return Figures(
        target_sd=target_sd,
        realisasi_periode=real_period,
        realisasi_sd=real_sd,
        capaian_sd=cap_sd,
        capaian_tahunan=cap_year,
        predikat=predikat(cap_sd, scale),
        rentang_sd=rentang_sd,
        sisi_rentang=range_side(real_sd, rentang_sd) if cap_sd is not None else None,
    )
