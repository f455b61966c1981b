"""The hand-off file for e-SAKIP / SIPD: approved values, one row per indicator, per TW.

Column layout (one header row, data from row 2, no merged cells) as the applications'
xlsx imports commonly read: No, Kode, Indikator, Satuan, Target Tahunan, then Target /
Realisasi / Capaian for TW I..IV. Targets and realisasi are "s.d. TW" (cumulative), capaian
in percent rounded to two decimals. A quarter without approved values stays empty.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

QUARTERS = ("TW I", "TW II", "TW III", "TW IV")
FIXED_COLUMNS = ("No", "Kode", "Indikator", "Satuan", "Target Tahunan")


@dataclass(frozen=True)
class QuarterValues:
    target: Decimal | None
    realisasi: Decimal | None
    capaian: Decimal | None


@dataclass(frozen=True)
class EsakipRow:
    kode: str
    indikator: str
    satuan: str
    target_tahunan: Decimal | None
    quarters: tuple[QuarterValues | None, ...]  # TW I..IV; None = no approved values


@dataclass(frozen=True)
class EsakipData:
    office: str
    tahun: int
    period_slug: str  # "TW_III_2026"
    rows: tuple[EsakipRow, ...]


def headers() -> list[str]:
    cols = list(FIXED_COLUMNS)
    for q in QUARTERS:
        cols += [f"Target {q}", f"Realisasi {q}", f"Capaian {q} (%)"]
    return cols


def _cap(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def build_esakip(data: EsakipData) -> bytes:
    """The xlsx bytes (plain values, text cells never formulas)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Realisasi"
    for col, name in enumerate(headers(), start=1):
        cell = ws.cell(row=1, column=col, value=name)
        cell.font = Font(bold=True)
    for r, row in enumerate(data.rows, start=2):
        fixed: list[object] = [r - 1, row.kode, row.indikator, row.satuan, row.target_tahunan]
        for q in row.quarters:
            fixed += [q.target, q.realisasi, _cap(q.capaian)] if q else [None, None, None]
        for col, value in enumerate(fixed, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    for col, width in enumerate((5, 12, 60, 12, 14), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def file_name(data: EsakipData) -> str:
    """Input_eSAKIP_TW_III_2026_Kecamatan_Sukamaju.xlsx"""

    def safe(part: str) -> str:
        text = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"

    return f"Input_eSAKIP_{safe(data.period_slug)}_{safe(data.office)}.xlsx"
