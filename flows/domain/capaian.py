"""Capaian (achievement), predikat and period aggregation — DOMAIN.md §1–3.

Pure functions on ``Decimal``. Capaian values are raw percentages (unrounded); round only for
display with :func:`round2`. ``None`` always means "not reported / not measured" and is never
treated as 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

__all__ = [
    "AGGREGATIONS",
    "DEFAULT_SCALE",
    "POLARITIES",
    "Aggregation",
    "Polarity",
    "PredikatScale",
    "aggregate",
    "average_capaian",
    "capaian",
    "is_sedang_or_below",
    "predikat",
    "rasio_value",
    "round2",
]

Polarity = Literal["positif", "negatif", "stabil"]
Aggregation = Literal["kumulatif", "terakhir", "rata-rata", "rasio"]
POLARITIES: tuple[str, ...] = ("positif", "negatif", "stabil")
AGGREGATIONS: tuple[str, ...] = ("kumulatif", "terakhir", "rata-rata", "rasio")

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def round2(x: Decimal) -> Decimal:
    """Round to 2 decimals, HALF_UP (display rounding)."""
    return Decimal(x).quantize(_CENT, rounding=ROUND_HALF_UP)


def _norm(word: str) -> str:
    return word.strip().lower().replace("_", "-").replace(" ", "-")


# --- capaian -----------------------------------------------------------------------------------


def _positif(t: Decimal, r: Decimal) -> Decimal | None:
    return None if t == 0 else r / t * _HUNDRED


def _negatif(t: Decimal, r: Decimal, inverse: bool) -> Decimal | None:
    if t == 0:  # "Tercapai" when nothing happened, else 0
        return _HUNDRED if r == 0 else _ZERO
    if inverse:
        return None if r == 0 else t / r * _HUNDRED
    return max(_ZERO, (2 * t - r) / t * _HUNDRED)


def _stabil(lo: Decimal, hi: Decimal, r: Decimal) -> Decimal | None:
    if lo <= r <= hi:
        return _HUNDRED
    if r < lo:
        return None if lo == 0 else r / lo * _HUNDRED
    if hi == 0:
        return _ZERO
    return max(_ZERO, (2 - r / hi) * _HUNDRED)


def capaian(
    target: Decimal | None,
    realisasi: Decimal | None,
    polarity: str,
    *,
    rentang: tuple[Decimal, Decimal] | None = None,
    inverse: bool = False,
) -> Decimal | None:
    """Raw capaian in percent, or ``None`` when it cannot be measured ("n/a").

    - ``positif``: R/T×100; T = 0 or ``None`` → ``None``.
    - ``negatif``: (2T−R)/T×100 floored at 0; T = 0 → 100 if R = 0 else 0. With ``inverse``:
      T/R×100 (``None`` at R = 0). ``inverse`` is ignored for other polarities.
    - ``rentang`` (lo, hi) replaces ``target``: R inside → 100; above → hi used as T; below →
      lo used as T (positif or negatif formula).
    - ``stabil``: band = ``rentang`` or [T, T]; inside → 100; below lo → R/lo×100; above hi →
      (2 − R/hi)×100 floored at 0.
    - R ``None`` → ``None``.
    """
    pol = _norm(polarity)
    if pol not in POLARITIES:
        raise ValueError(f"unknown polarity: {polarity!r}")
    if realisasi is None:
        return None
    r = Decimal(realisasi)
    if rentang is not None:
        lo, hi = sorted((Decimal(rentang[0]), Decimal(rentang[1])))
        if pol == "stabil":
            return _stabil(lo, hi, r)
        if lo <= r <= hi:
            return _HUNDRED
        t = hi if r > hi else lo
    elif target is None:
        return None
    else:
        t = Decimal(target)
        if pol == "stabil":
            return _stabil(t, t, r)
    if pol == "positif":
        return _positif(t, r)
    return _negatif(t, r, inverse)


# --- predikat ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PredikatScale:
    """Predikat levels, best first. ``levels`` holds (exclusive lower bound, label) pairs in
    descending bound order; ``floor`` is the label at or below the lowest bound.
    ``attention_label`` is the best level that still goes to Bab IV (Kendala dan Upaya);
    ``None`` means the middle level of the scale (Sedang on the default scale)."""

    levels: tuple[tuple[Decimal, str], ...]
    floor: str
    attention_label: str | None = None

    def __post_init__(self) -> None:
        bounds = [b for b, _ in self.levels]
        if not bounds or bounds != sorted(bounds, reverse=True) or len(set(bounds)) != len(bounds):
            raise ValueError("predikat levels must have distinct bounds in descending order")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("predikat labels must be unique")
        if self.attention_label is not None and self.attention_label not in self.labels:
            raise ValueError(f"unknown attention label: {self.attention_label!r}")

    @property
    def labels(self) -> tuple[str, ...]:
        """All labels, best first."""
        return (*(label for _, label in self.levels), self.floor)

    @classmethod
    def from_config(
        cls, rows: Iterable[Mapping[str, Any]], *, attention_label: str | None = None
    ) -> PredikatScale:
        """Build from ``[{"di_atas": 90, "predikat": "Sangat Baik"}, ..., {"predikat": "X"}]``.

        Exactly one row has no ``di_atas`` (or ``di_atas: null``): the lowest level. Order of
        rows does not matter.
        """
        levels: list[tuple[Decimal, str]] = []
        floors: list[str] = []
        for row in rows:
            label = str(row["predikat"]).strip()
            bound = row.get("di_atas")
            if bound is None:
                floors.append(label)
            else:
                levels.append((Decimal(str(bound)), label))
        if len(floors) != 1:
            raise ValueError("exactly one predikat row must have no 'di_atas' (the lowest)")
        levels.sort(key=lambda lv: lv[0], reverse=True)
        return cls(tuple(levels), floors[0], attention_label)

    def rank(self, label: str) -> int:
        """0 for the best label; raises ``ValueError`` for an unknown label."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise ValueError(f"unknown predikat: {label!r}") from None


DEFAULT_SCALE = PredikatScale(
    levels=(
        (Decimal(90), "Sangat Tinggi"),
        (Decimal(75), "Tinggi"),
        (Decimal(65), "Sedang"),
        (Decimal(50), "Rendah"),
    ),
    floor="Sangat Rendah",
    attention_label="Sedang",
)


def predikat(c: Decimal | None, scale: PredikatScale = DEFAULT_SCALE) -> str | None:
    """Predikat of a capaian, ``None`` for n/a.

    The capaian is first rounded to 2 decimals (HALF_UP) so the label always agrees with the
    displayed percentage (raw 90,004 shows as 90,00% and is Tinggi).
    """
    if c is None:
        return None
    value = round2(c)
    for bound, label in scale.levels:
        if value > bound:
            return label
    return scale.floor


def is_sedang_or_below(label: str | None, scale: PredikatScale = DEFAULT_SCALE) -> bool:
    """True if ``label`` is at or below the scale's attention level (Bab IV list).

    ``None`` (n/a) gives False.
    """
    if label is None:
        return False
    labels = scale.labels
    attention = scale.attention_label or labels[len(labels) // 2]
    return scale.rank(label) >= scale.rank(attention)


# --- aggregation -------------------------------------------------------------------------------


def rasio_value(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    """numerator / denominator × 100; ``None`` if either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return Decimal(numerator) / Decimal(denominator) * _HUNDRED


def aggregate(
    values: Sequence[Decimal | None],
    aggregation: str,
    *,
    numerators: Sequence[Decimal | None] | None = None,
    denominators: Sequence[Decimal | None] | None = None,
) -> Decimal | None:
    """Roll quarter values (in quarter order, ``None`` = not reported) up to one value.

    ``kumulatif``: sum of reported; ``terakhir``: last reported; ``rata-rata``: mean of
    reported; ``rasio``: Σnum/Σden×100 over quarters where both are reported (``values`` is
    ignored; the two sequences must have equal length). ``None`` when nothing usable was
    reported or Σden = 0.
    """
    kind = _norm(aggregation)
    if kind == "rasio":
        if numerators is None or denominators is None:
            return None
        pairs = [
            (Decimal(n), Decimal(d))
            for n, d in zip(numerators, denominators, strict=True)
            if n is not None and d is not None
        ]
        if not pairs:
            return None
        return rasio_value(sum((n for n, _ in pairs), _ZERO), sum((d for _, d in pairs), _ZERO))
    if kind not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation: {aggregation!r}")
    reported = [Decimal(v) for v in values if v is not None]
    if not reported:
        return None
    if kind == "kumulatif":
        return sum(reported, _ZERO)
    if kind == "terakhir":
        return reported[-1]
    return sum(reported, _ZERO) / len(reported)


def average_capaian(
    values: Iterable[Decimal | None],
    clamp: tuple[Decimal, Decimal] | None = (Decimal(0), Decimal(120)),
) -> Decimal | None:
    """Mean of the non-``None`` capaian, each clamped to ``clamp`` first (``None`` = no clamp)."""
    items = [Decimal(v) for v in values if v is not None]
    if not items:
        return None
    if clamp is not None:
        lo, hi = Decimal(clamp[0]), Decimal(clamp[1])
        items = [min(max(v, lo), hi) for v in items]
    return sum(items, _ZERO) / len(items)
