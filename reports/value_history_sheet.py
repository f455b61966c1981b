"""The rekap's "Riwayat Nilai" sheet: one row per change of a stored value.

Written by appending rows only (``ws.append`` of write-only cells styled by named styles), so
it works the same in a normal and in a write-only workbook, and a cell's style costs a lookup
by name instead of hashing a font, a border and an alignment per cell.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.workbook import Workbook

from reports._fmt import to_local, tz_abbr
from reports.data import ReportData

SHEET = "Riwayat Nilai"
HEADER_ROW = 5
NOTE = "Setiap nilai yang pernah tersimpan: lama → baru, oleh siapa, kapan, alasan, dan kanal."
#: Excel's limit for one cell's text.
MAX_CELL_TEXT = 32_767
WIDTHS = (5, 16, 40, 14, 16, 16, 24, 17, 40, 11)
FMT_DATETIME = "dd/mm/yyyy hh:mm"
HEADERS = (
    "No",
    "Kode",
    "Indikator",
    "Kolom",
    "Nilai lama",
    "Nilai baru",
    "Oleh",
    "Waktu ({zona})",
    "Alasan",
    "Kanal",
)

TITLE, PLAIN, HEAD, BODY, MIDDLE, MOMENT = (
    "riwayat_nilai_judul",
    "riwayat_nilai_teks",
    "riwayat_nilai_kepala",
    "riwayat_nilai_isi",
    "riwayat_nilai_tengah",
    "riwayat_nilai_waktu",
)


def _named_styles() -> list[NamedStyle]:
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    body = Font(name="Calibri", size=10)
    top = Alignment(wrap_text=True, vertical="top")
    center = Alignment(horizontal="center", vertical="top")
    return [
        NamedStyle(TITLE, font=Font(name="Calibri", size=12, bold=True)),
        NamedStyle(PLAIN, font=body),
        NamedStyle(
            HEAD,
            font=Font(name="Calibri", size=10, bold=True),
            fill=PatternFill("solid", fgColor="D9E1F2"),
            border=border,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        ),
        NamedStyle(BODY, font=body, border=border, alignment=top),
        NamedStyle(MIDDLE, font=body, border=border, alignment=center),
        NamedStyle(MOMENT, font=body, border=border, alignment=center, number_format=FMT_DATETIME),
    ]


def _cell(ws: Any, value: object, style: str) -> WriteOnlyCell:
    """A cell with a named style; text always stays text (never a formula)."""
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_TEXT])
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(ws, value)
    cell.style = style
    return cell


def write_value_history(wb: Workbook, data: ReportData) -> None:
    """Add the Riwayat Nilai sheet to ``wb`` (kode, indikator, kolom, nilai lama → baru ...)."""
    for style in _named_styles():
        if style.name not in wb.named_styles:
            wb.add_named_style(style)
    ws = wb.create_sheet(SHEET)
    _print_setup(ws, f"{SHEET} — {data.period_label}")
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.append([_cell(ws, "RIWAYAT NILAI KERTAS KERJA", TITLE)])
    ws.append([_cell(ws, f"{data.office.nama} — {data.period_label}", PLAIN)])
    ws.append([_cell(ws, NOTE, PLAIN)])
    ws.append([])
    zona = tz_abbr(data.tz)
    ws.append([_cell(ws, h.format(zona=zona), HEAD) for h in HEADERS])
    for no, change in enumerate(data.value_changes, start=1):
        ws.append(
            [
                _cell(ws, no, MIDDLE),
                _cell(ws, change.kode, BODY),
                _cell(ws, change.indikator, BODY),
                _cell(ws, change.kolom, BODY),
                _cell(ws, change.lama, BODY),
                _cell(ws, change.baru, BODY),
                _cell(ws, change.oleh, BODY),
                _cell(ws, to_local(change.at, data.tz).replace(tzinfo=None), MOMENT),
                _cell(ws, change.alasan, BODY),
                _cell(ws, change.kanal, BODY),
            ]
        )
    if not data.value_changes:
        ws.append([_cell(ws, "-", MIDDLE), _cell(ws, "Belum ada nilai yang tersimpan.", BODY)])


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
