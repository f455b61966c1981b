"""The rekap's "Riwayat Nilai" sheet: one row per change of a stored value.

Written top to bottom into an XlsxWriter workbook (``constant_memory`` or not), with its own
formats; text always stays text (``write_string``), never a formula.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.worksheet import Worksheet

from reports._fmt import to_local, tz_abbr
from reports._xlsxw import FMT_DATETIME, set_widths, setup_print, write_cell
from reports.data import ReportData

SHEET = "Riwayat Nilai"
HEADER_ROW = 5
NOTE = "Setiap nilai yang pernah tersimpan: lama → baru, oleh siapa, kapan, alasan, dan kanal."
WIDTHS = (5, 16, 40, 14, 16, 16, 24, 17, 40, 11)
MARGINS = (0.75, 0.75, 1.0, 1.0)  # left, right, top, bottom (inches)
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


def _formats(wb: Workbook) -> dict[str, Any]:
    """The sheet's formats, by name."""
    border = {"border": 1, "border_color": "#808080"}
    body = {"font_name": "Calibri", "font_size": 10}
    top = {"text_wrap": True, "valign": "top"}
    center = {"align": "center", "valign": "top"}
    props: dict[str, dict[str, object]] = {
        TITLE: {"font_name": "Calibri", "font_size": 12, "bold": True},
        PLAIN: body,
        HEAD: {
            **body,
            "bold": True,
            "pattern": 1,
            "bg_color": "#D9E1F2",
            **border,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
        },
        BODY: {**body, **border, **top},
        MIDDLE: {**body, **border, **center},
        MOMENT: {**body, **border, **center, "num_format": FMT_DATETIME},
    }
    return {name: wb.add_format(p) for name, p in props.items()}


def _write_row(ws: Worksheet, row: int, cells: list[tuple[object, Any]]) -> None:
    """One row (0-based) of (value, format) cells."""
    for col, (value, fmt) in enumerate(cells):
        write_cell(ws, row, col, value, fmt)


def write_value_history(wb: Workbook, data: ReportData) -> None:
    """Add the Riwayat Nilai sheet to ``wb`` (kode, indikator, kolom, nilai lama → baru ...)."""
    f = _formats(wb)
    ws = wb.add_worksheet(SHEET)
    set_widths(ws, WIDTHS)
    setup_print(ws, HEADER_ROW, f"{SHEET} — {data.period_label}", MARGINS)
    _write_row(ws, 0, [("RIWAYAT NILAI KERTAS KERJA", f[TITLE])])
    _write_row(ws, 1, [(f"{data.office.nama} — {data.period_label}", f[PLAIN])])
    _write_row(ws, 2, [(NOTE, f[PLAIN])])
    zona = tz_abbr(data.tz)
    _write_row(ws, HEADER_ROW - 1, [(h.format(zona=zona), f[HEAD]) for h in HEADERS])
    row = HEADER_ROW
    for no, change in enumerate(data.value_changes, start=1):
        body, at = f[BODY], to_local(change.at, data.tz).replace(tzinfo=None)
        _write_row(
            ws,
            row,
            [
                (no, f[MIDDLE]),
                (change.kode, body),
                (change.indikator, body),
                (change.kolom, body),
                (change.lama, body),
                (change.baru, body),
                (change.oleh, body),
                (at, f[MOMENT]),
                (change.alasan, body),
                (change.kanal, body),
            ],
        )
        row += 1
    if not data.value_changes:
        _write_row(ws, row, [("-", f[MIDDLE]), ("Belum ada nilai yang tersimpan.", f[BODY])])
