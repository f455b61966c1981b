"""Strict parsing of numbers typed by users, Indonesian style — DOMAIN.md §6.

Indonesian writing: thousands dot, decimal comma (``1.234.567,89``). A dot that cannot be a
thousands separator (``98.5``) is read as an English decimal point but flagged ``ambiguous`` so
the bot confirms ("Maksud Anda 98,5?") before saving. Babel's lenient parser is not used: it
reads ``98.5`` as 985.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["MAX_DIGITS", "MAX_VALUE", "ParsedNumber", "has_visible_text", "parse_number"]

#: Bounds on a typed number: at most this many digits, and below this value.
MAX_DIGITS = 20
MAX_VALUE = Decimal(10) ** 15


@dataclass(frozen=True)
class ParsedNumber:
    """Result of :func:`parse_number`. ``error`` is a machine code: ``"empty"``,
    ``"not_a_number"``, ``"negative"``, ``"too_many_numbers"`` or ``"too_large"``."""

    value: Decimal | None
    ambiguous: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


_MINUS = "-\u2212\u2013"  # hyphen, minus sign, en dash
_LEAD_RE = re.compile(
    rf"(?P<neg1>[{_MINUS}]\s*)?(?:rp\.?\s*)?(?P<neg2>[{_MINUS}]\s*)?(?P<num>\d[\d.,]*)(?P<rest>.*)",
    re.I | re.S,
)
# Indonesian form: plain digits or dot-grouped thousands, optional decimal comma.
_ID_RE = re.compile(r"(?:\d+|[1-9]\d{0,2}(?:\.\d{3})+)(?:,\d+)?")
# "1,234" / "12,500": valid Indonesian decimals, but an English writer means thousands.
_COMMA_THOUSANDS_RE = re.compile(r"[1-9]\d{0,2},\d{3}")
# A single dot that is not a thousands separator: English decimal point.
_DOT_DECIMAL_RE = re.compile(r"\d+\.\d+")
# Unit exponents glued to a unit ("m2", "km3") are not numbers.
_UNIT_EXPONENT_RE = re.compile(r"(?<=[a-zA-Z])[23]\b")


def _error(code: str) -> ParsedNumber:
    return ParsedNumber(None, False, code)


def parse_number(text: str) -> ParsedNumber:
    """Parse one non-negative number from user text.

    Accepted: ``87,5``, ``1.234`` (= 1234), ``1.234.567,89``, ``75%``, ``12 desa`` (trailing
    words ignored), ``Rp 1.500.000``, ``Rp 1.500.000,-``. Ambiguous (value given, confirm
    first): ``98.5`` / ``0.250`` (dot decimal) and ``1,234`` (comma followed by exactly three
    digits, which an English writer means as thousands; the value is the Indonesian reading).
    """
    s = (text or "").strip()
    if not s:
        return _error("empty")
    m = _LEAD_RE.fullmatch(s)
    if not m:
        return _error("not_a_number")
    num, rest = m["num"], m["rest"]
    if sum(ch.isdigit() for ch in num) > MAX_DIGITS:
        return _error("too_large")
    if rest.startswith("-") and re.fullmatch(r"\d[\d.]*[.,]", num):
        # "1.500.000,-" (currency style): drop the trailing separator.
        num, rest = num[:-1], rest[1:]
    elif num[-1] in ".," and not rest.strip():
        num = num[:-1]  # sentence-final "12." or stray "12,"
    if re.search(r"\d", _UNIT_EXPONENT_RE.sub("", rest)):
        return _error("too_many_numbers")
    if _ID_RE.fullmatch(num):
        value = Decimal(num.replace(".", "").replace(",", "."))
        ambiguous = bool(_COMMA_THOUSANDS_RE.fullmatch(num))
    elif _DOT_DECIMAL_RE.fullmatch(num):
        value, ambiguous = Decimal(num), True
    else:
        return _error("not_a_number")
    if (m["neg1"] or m["neg2"]) and value != 0:
        return _error("negative")
    if value >= MAX_VALUE:
        return _error("too_large")
    return ParsedNumber(value, ambiguous)


def has_visible_text(text: str) -> bool:
    """True when the text has a character a reader can see (not only spaces or format marks)."""
    return any(
        not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf", "Zs", "Zl", "Zp", "Mn")
        for ch in text or ""
    )
