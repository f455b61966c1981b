"""From stored answers to the figures of a period: realisasi, capaian and predikat.

A Kasi reports, per quarter, the cumulative value s.d. TW for a ``kumulatif``
indicator, the level for ``terakhir``, the rate for ``rata-rata`` and numerator /
denominator for ``rasio``; DOMAIN.md §3 turns those into any period's figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from flows.domain.capaian import aggregate, capaian, predikat, rasio_value


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
    rentang: tuple[Decimal, Decimal] | None = None
    inverse: bool = False


@dataclass(frozen=True)
class Figures:
    target_sd: Decimal | None
    realisasi_periode: Decimal | None
    realisasi_sd: Decimal | None
    capaian_sd: Decimal | None
    capaian_tahunan: Decimal | None
    predikat: str | None


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
    if aggregation == "kumulatif":
        amounts: list[Decimal | None] = []
        for q in qs:
            now = reported_value(aggregation, reported.get(q))
            if now is None:
                amounts.append(None)
                continue
            before = [
                reported_value(aggregation, reported.get(p))
                for p in range(1, q)
                if reported_value(aggregation, reported.get(p)) is not None
            ]
            amounts.append(now - (before[-1] if before else Decimal(0)))  # type: ignore[operator]
        return aggregate(amounts, "kumulatif")
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


def figures(t: Targets, reported: Mapping[int, Reported], quarters: tuple[int, ...]) -> Figures:
    """Every figure of one indicator for a period made of ``quarters``."""
    last = max(quarters)
    target_sd = period_target(t, quarters)
    real_sd = over_quarters(t.aggregation, reported, range(1, last + 1))
    real_period = over_quarters(t.aggregation, reported, quarters)
    # A range (rentang) is set on the annual target, so it applies from TW IV on.
    rentang_sd = t.rentang if last == 4 else None
    if target_sd is None:
        cap_sd = None
    else:
        cap_sd = capaian(target_sd, real_sd, t.polarity, rentang=rentang_sd, inverse=t.inverse)
    cap_year = capaian(t.target_tahunan, real_sd, t.polarity, rentang=t.rentang, inverse=t.inverse)
    return Figures(
        target_sd=target_sd,
        realisasi_periode=real_period,
        realisasi_sd=real_sd,
        capaian_sd=cap_sd,
        capaian_tahunan=cap_year,
        predikat=predikat(cap_sd),
    )
