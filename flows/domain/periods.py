"""Reporting periods: Triwulan (TW I–IV), Semester I–II and Tahun — DOMAIN.md §3."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "Period",
    "PeriodKind",
    "parse_period",
    "previous_quarter",
    "quarter_just_ended",
    "roman",
]

PeriodKind = Literal["TW", "SEMESTER", "TAHUN"]
_MAX_NUMBER = {"TW": 4, "SEMESTER": 2, "TAHUN": 1}
_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)
_ROMAN_SMALL = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def roman(n: int) -> str:
    """Roman numeral of a positive integer (3 → "III")."""
    if n < 1:
        raise ValueError("roman numerals start at 1")
    out = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


@dataclass(frozen=True)
class Period:
    """A reporting period. ``number`` is 1–4 for TW, 1–2 for SEMESTER and 1 for TAHUN."""

    year: int
    kind: PeriodKind
    number: int = 1

    def __post_init__(self) -> None:
        if self.kind not in _MAX_NUMBER:
            raise ValueError(f"unknown period kind: {self.kind!r}")
        if not 1 <= self.number <= _MAX_NUMBER[self.kind]:
            raise ValueError(f"invalid number {self.number} for {self.kind}")

    @classmethod
    def quarter(cls, year: int, number: int) -> Period:
        return cls(year, "TW", number)

    @classmethod
    def semester(cls, year: int, number: int) -> Period:
        return cls(year, "SEMESTER", number)

    @classmethod
    def annual(cls, year: int) -> Period:
        return cls(year, "TAHUN", 1)

    @property
    def quarters(self) -> tuple[int, ...]:
        """TW numbers covered, in order."""
        if self.kind == "TW":
            return (self.number,)
        if self.kind == "SEMESTER":
            return (1, 2) if self.number == 1 else (3, 4)
        return (1, 2, 3, 4)

    @property
    def last_quarter(self) -> int:
        return self.quarters[-1]

    @property
    def first_day(self) -> date:
        return date(self.year, self.quarters[0] * 3 - 2, 1)

    @property
    def last_day(self) -> date:
        month = self.last_quarter * 3
        return date(self.year, month, monthrange(self.year, month)[1])

    def _name(self, tw_word: str) -> str:
        if self.kind == "TW":
            return f"{tw_word} {roman(self.number)} {self.year}"
        if self.kind == "SEMESTER":
            return f"Semester {roman(self.number)} {self.year}"
        return f"Tahun {self.year}"

    @property
    def label(self) -> str:
        """Long name: "Triwulan III 2026", "Semester I 2026", "Tahun 2026"."""
        return self._name("Triwulan")

    @property
    def short(self) -> str:
        """Short name: "TW III 2026", "Semester I 2026", "Tahun 2026"."""
        return self._name("TW")

    @property
    def slug(self) -> str:
        """File-name form: "TW_III_2026", "Semester_I_2026", "Tahun_2026"."""
        return self.short.replace(" ", "_")

    @property
    def key(self) -> str:
        """Stable storage key: "2026-TW3", "2026-S1", "2026-Y"."""
        if self.kind == "TW":
            return f"{self.year}-TW{self.number}"
        if self.kind == "SEMESTER":
            return f"{self.year}-S{self.number}"
        return f"{self.year}-Y"

    @classmethod
    def from_key(cls, key: str) -> Period:
        """Inverse of :attr:`key`; raises ``ValueError`` on a malformed key."""
        m = _KEY_RE.fullmatch(key.strip())
        if not m:
            raise ValueError(f"invalid period key: {key!r}")
        year = int(m["year"])
        if m["tw"]:
            return cls.quarter(year, int(m["tw"]))
        if m["s"]:
            return cls.semester(year, int(m["s"]))
        return cls.annual(year)

    def __str__(self) -> str:
        return self.label


_KEY_RE = re.compile(r"(?P<year>\d{4})-(?:TW(?P<tw>[1-4])|S(?P<s>[12])|(?P<y>Y))", re.I)

_WORDS: dict[str, PeriodKind] = {
    "tw": "TW",
    "trw": "TW",
    "triwulan": "TW",
    "kuartal": "TW",
    "q": "TW",
    "semester": "SEMESTER",
    "smt": "SEMESTER",
    "sem": "SEMESTER",
    "tahun": "TAHUN",
    "tahunan": "TAHUN",
    "thn": "TAHUN",
}
_PARSE_RE = re.compile(
    r"(?P<word>[a-z]+)\.?\s*(?:ke\s*-?\s*)?[-.]?\s*(?P<num>iv|iii|ii|i|\d)?"
    r"(?:\s*[-/,]?\s*(?P<year>\d{4}))?",
    re.I,
)


def parse_period(text: str, default_year: int | None) -> Period | None:
    """Parse "TW III 2026", "tw 3", "Triwulan III", "semester 1 2026", "Semester II",
    "tahun 2026", "tahunan", or a key like "2026-TW3". Missing year → ``default_year``.
    Returns ``None`` when the text is not a valid period."""
    text = " ".join(text.strip().split())
    try:
        return Period.from_key(text)
    except ValueError:
        pass
    m = _PARSE_RE.fullmatch(text)
    if not m:
        return None
    kind = _WORDS.get(m["word"].lower())
    year = int(m["year"]) if m["year"] else default_year
    if kind is None or year is None:
        return None
    raw = m["num"]
    if kind == "TAHUN":
        if raw is not None and raw.lower() not in ("1", "i"):
            return None
        return Period.annual(year)
    if raw is None:
        return None
    number = int(raw) if raw.isdigit() else _ROMAN_SMALL[raw.lower()]
    if not 1 <= number <= _MAX_NUMBER[kind]:
        return None
    return Period(year, kind, number)


def quarter_just_ended(today: date) -> Period:
    """The last quarter that ended before ``today``'s quarter (2026-10-05 → TW III 2026)."""
    current = (today.month - 1) // 3 + 1
    if current == 1:
        return Period.quarter(today.year - 1, 4)
    return Period.quarter(today.year, current - 1)


def previous_quarter(p: Period) -> Period | None:
    """The quarter just before ``p``'s first quarter, within the same year (TW I → ``None``;
    Semester II → TW II; Tahun → ``None``)."""
    first = p.quarters[0]
    return None if first == 1 else Period.quarter(p.year, first - 1)
