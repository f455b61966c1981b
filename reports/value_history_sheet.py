"""The rekap's "Riwayat Nilai" sheet: one row per change of a stored value.

Written by appending rows only (``ws.append`` of write-only cells), so it works the same in a
normal and in a write-only workbook.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook import Workbook

from reports._fmt import to_local, tz_abbr
from reports.data import ReportData

SHEET = "Riwayat Nilai"
HEADER_ROW = 5
NOTE = "Setiap nilai yang pernah tersimpan: lama → baru, oleh siapa, kapan, alasan, dan kanal."
#: Excel's limit for one cell's text.
MAX_CELL_TEXT = 32_767
WIDTHS = (5, 16, 40, 14, 16, 16, 24, 17, 40, 11)
_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FONT = Font(name="Calibri", size=10, bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
_BODY_FONT = Font(name="Calibri", size=10)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="top")
FMT_DATETIME = "dd/mm/yyyy hh:mm"


def _cell(ws: Any, value: object, *, head: bool = False, bold: bool = False) -> WriteOnlyCell:
    """A styled cell; text always stays text (never a formula)."""
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_TEXT])
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(ws, value)
    if head:
        cell.font, cell.fill, cell.border = _HEAD_FONT, _HEAD_FILL, _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    else:
        cell.font = Font(name="Calibri", size=12, bold=True) if bold else _BODY_FONT
    return cell


def write_value_history(wb: Workbook, data: ReportData) -> None:
    """Add the Riwayat Nilai sheet to ``wb`` (kode, indikator, kolom, nilai lama → baru ...)."""
    ws = wb.create_sheet(SHEET)
    _print_setup(ws, f"{SHEET} — {data.period_label}")
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.append([_cell(ws, "RIWAYAT NILAI KERTAS KERJA", bold=True)])
    ws.append([_cell(ws, f"{data.office.nama} — {data.period_label}")])
    ws.append([_cell(ws, NOTE)])
    ws.append([])
    headers = (
        "No",
        "Kode",
        "Indikator",
        "Kolom",
        "Nilai lama",
        "Nilai baru",
        "Oleh",
        f"Waktu ({tz_abbr(data.tz)})",
        "Alasan",
        "Kanal",
    )
    ws.append([_cell(ws, h, head=True) for h in headers])
    for no, change in enumerate(data.value_changes, start=1):
        local = to_local(change.at, data.tz).replace(tzinfo=None)
        row = [
            _cell(ws, no),
            _cell(ws, change.kode),
            _cell(ws, change.indikator),
            _cell(ws, change.kolom),
            _cell(ws, change.lama),
            _cell(ws, change.baru),
            _cell(ws, change.oleh),
            _cell(ws, local),
            _cell(ws, change.alasan),
            _cell(ws, change.kanal),
        ]
        for cell in row:
            cell.border = _BORDER
            cell.alignment = _WRAP
        row[0].alignment = row[7].alignment = _CENTER
        row[7].number_format = FMT_DATETIME
        ws.append(row)
    if not data.value_changes:
        ws.append([_cell(ws, "-"), _cell(ws, "Belum ada nilai yang tersimpan.")])


def _print_setup(ws: Any, page_title: str) -> None:
    """Like the rekap's other sheets: heading frozen and repeated, A4 landscape, fit to width."""
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddHeader.center.text = page_title.replace("&", "&&")
    ws.oddHeader.center.size = 9
    ws.oddFooter.center.text = "Halaman &P dari &N"
    ws.oddFooter.center.size = 9
