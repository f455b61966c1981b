"""The rekap workbook (Formulir Pengukuran Kinerja), streamed with XlsxWriter.

Decisions:
- Written row by row in XlsxWriter's ``constant_memory`` mode (see ``reports._xlsxw``): memory
  stays flat in the number of rows. Each sheet is one function that adds its rows top to bottom
  through a :class:`Sheet`; column widths, frozen panes and print titles are set first, and a
  row's height and merged range are given with the row.
- Every cell style is one XlsxWriter format made once per workbook (see :class:`Styles`); a cell
  is a (value, format) pair written with the typed ``write_*`` call of its value.
- Every number is written as a numeric value, never a formula, so every viewer shows the same.
- Targets and realisasi are stored exactly; capaian is stored already rounded HALF_UP to two
  decimals (what the laporan prints), so a viewer, a sum or a sort sees "97,89" and not
  97.8947…  Number formats (``#,##0.00`` etc.) render with the viewer's locale separators.
- Missing values are text: "–" (not measured this period: not reported / no target).
- Every string is written with ``write_string`` (the workbook's string conversions are off):
  text typed by users that starts with "=", "+", "-" or "@" can never become a formula.
- Times are written as local (office time zone) date-time values, format dd/mm/yyyy hh:mm.
"""

from __future__ import annotations

import io
import math
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from xlsxwriter import Workbook

from reports._fmt import (
    DASH,
    NA,
    NEUTRAL,
    PALETTE,
    decimals_of,
    fmt_date,
    on_time_label,
    predikat_color,
    round_half_up,
    to_local,
    tz_abbr,
)
from reports._xlsxw import (
    FMT_DATETIME,
    Link,
    set_widths,
    setup_print,
    streamed_workbook,
    write_cell,
)
from reports.data import IndicatorRow, ReportData, SectionReport
from reports.value_history_sheet import SHEET as VALUE_HISTORY_SHEET
from reports.value_history_sheet import write_value_history

FMT_CAPAIAN = "#,##0.00"
NUMBER_FORMATS = ("#,##0", "#,##0.0", FMT_CAPAIAN)  # 0, 1 or 2 decimals
MARGINS = (0.4, 0.4, 0.6, 0.6)  # left, right, top, bottom (inches)

_BORDER = {"border": 1, "border_color": "#808080"}
_BODY = {"font_name": "Calibri", "font_size": 10}
_BOLD = {**_BODY, "bold": True}
_WRAP_TOP = {"text_wrap": True, "valign": "top"}
_WRAP_CENTER = {"text_wrap": True, "valign": "vcenter", "align": "center"}
_LEFT_CENTER = {"align": "left", "valign": "vcenter"}
_NUM_ALIGN = {"valign": "top", "align": "right"}
_MID_ALIGN = {"valign": "top", "align": "center", "text_wrap": True}

NO_VERIFICATION = "tidak ada langkah verifikasi per lembar dalam SOP ini"
NOTE = (
    "Keterangan: – = tidak diukur pada periode ini (belum dilaporkan atau tidak ada target). "
    "Capaian disimpan dan ditampilkan dengan pembulatan dua desimal."
)
_URL = re.compile(r"https?://\S+$")

#: A cell: its value and its XlsxWriter format.
Cell = tuple[object, Any]


# ---------------------------------------------------------------- styles


def _fill(color: str) -> dict[str, object]:
    return {"pattern": 1, "bg_color": f"#{color}"}


def _style_table() -> dict[str, dict[str, object]]:
    """Every cell style of the rekap, by name, as XlsxWriter format properties."""
    head, group, total = _fill("D9E1F2"), _fill("F2F2F2"), _fill("EDEDED")
    table: dict[str, dict[str, object]] = {
        "Rekap Judul": {"font_name": "Calibri", "font_size": 14, "bold": True, **_LEFT_CENTER},
        "Rekap Subjudul": {"font_name": "Calibri", "font_size": 11, "bold": True, **_LEFT_CENTER},
        "Rekap Subjudul Kiri": {"font_name": "Calibri", "font_size": 11, "bold": True},
        "Rekap Catatan": {"font_name": "Calibri", "font_size": 9, "italic": True},
        "Rekap Kepala Kolom": {**_BOLD, **head, **_WRAP_CENTER, **_BORDER},
        "Rekap Kelompok": {**_BODY, **group, **_BORDER},
        "Rekap Kelompok Teks": {**_BOLD, **group, **_WRAP_TOP, **_BORDER},
        "Rekap Total": {**_BODY, **total, **_BORDER},
        "Rekap Total Teks": {**_BOLD, **total, **_WRAP_TOP, **_BORDER},
        "Rekap Total Angka": {**_BOLD, **total, **_NUM_ALIGN, **_BORDER},
        "Rekap Total Capaian": {
            **_BOLD,
            **total,
            **_NUM_ALIGN,
            "num_format": FMT_CAPAIAN,
            **_BORDER,
        },
        "Rekap Tengah": {**_BODY, **_MID_ALIGN, **_BORDER},
        "Rekap Teks": {**_BODY, **_WRAP_TOP, **_BORDER},
        "Rekap Tautan": {
            **_BODY,
            "font_color": "#0563C1",
            "underline": 1,
            **_WRAP_TOP,
            **_BORDER,
        },
        "Rekap Terlambat": {**_BOLD, "font_color": "#C00000", **_MID_ALIGN, **_BORDER},
        "Rekap Angka": {**_BODY, **_NUM_ALIGN, **_BORDER},
        "Rekap Waktu": {**_BODY, **_MID_ALIGN, "num_format": FMT_DATETIME, **_BORDER},
    }
    for places, fmt in enumerate(NUMBER_FORMATS):
        table[f"Rekap Angka {places}"] = {**_BODY, **_NUM_ALIGN, "num_format": fmt, **_BORDER}
    for color in (*PALETTE, NEUTRAL):
        table[f"Rekap Predikat {color}"] = {**_BODY, **_fill(color), **_MID_ALIGN, **_BORDER}
        table[f"Rekap Predikat {color} Tebal"] = {**_BOLD, **_fill(color), **_MID_ALIGN, **_BORDER}
    return table


class Styles:
    """The formats of one workbook, made once each, by style name."""

    def __init__(self, wb: Workbook) -> None:
        self._formats = {name: wb.add_format(props) for name, props in _style_table().items()}

    def cell(self, value: object, style: str) -> Cell:
        return value, self._formats[style]


# ---------------------------------------------------------------- cell helpers


def _number_format(x: Decimal) -> str:
    """Shown with the decimals the chat and the PDF show: at most 2, trailing zeros dropped."""
    return NUMBER_FORMATS[decimals_of(round_half_up(Decimal(x)), 2)]


def local_time(dt: datetime | None, tz: str) -> datetime | None:
    return None if dt is None else to_local(dt, tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    wrap: bool = False  # free text that decides the row height


def _lines(text: str, width: float) -> int:
    per_line = max(1.0, width * 1.15)
    return sum(max(1, math.ceil(len(part) / per_line)) for part in str(text).split("\n"))


def row_height(texts: Iterable[tuple[str, float]]) -> float:
    """Estimated height of a row of wrapped text (Excel does not auto-fit on open)."""
    n = max((_lines(t, w) for t, w in texts if t), default=1)
    return max(15, 13 * n + 3)


class Sheet:
    """A constant-memory worksheet filled top to bottom, one ``add`` per row."""

    def __init__(self, wb: Workbook, styles: Styles, title: str) -> None:
        self.ws = wb.add_worksheet(title)
        self.styles = styles
        self.row = 0  # the last row written (1-based, as Excel numbers it)
        self._sized: deque[int] = deque()  # rows given a height, not yet flushed (0-based)

    def cell(self, value: object, style: str) -> Cell:
        return self.styles.cell(value, style)

    def add(
        self,
        cells: Sequence[Cell | None] = (),
        height: float | None = None,
        merge: tuple[int, int] | None = None,
    ) -> int:
        """Write the next row (``None`` leaves a cell empty); returns its number. ``height`` is
        in points; ``merge`` is the first and last (1-based) column merged into one cell, styled
        like its first cell."""
        self.row += 1
        row, ws = self.row - 1, self.ws
        if height is not None:
            ws.set_row_pixels(row, height * 4 / 3)  # points to pixels, kept exact
        if merge is not None:
            first, last = merge
            first_cell = cells[first - 1]
            assert first_cell is not None, "a merged range starts with a cell"
            ws.merge_range(row, first - 1, row, last - 1, None, first_cell[1])
        for col, cell in enumerate(cells):
            if cell is not None:
                write_cell(ws, row, col, cell[0], cell[1])
        if height is not None:
            self._sized.append(row)
        self._forget_flushed_heights()
        return self.row

    def _forget_flushed_heights(self) -> None:
        """Drop the heights of rows already flushed to the temp file.

        XlsxWriter keeps every row's height (``row_info``, ``row_sizes``) to the end, even in
        constant_memory mode, where it is no longer read once the row is written: about 300
        bytes a row. Rows before ``previous_row`` (the row being filled) are written. These
        are XlsxWriter's private attributes: should a version lack them, the heights stay
        (the workbook is the same, its memory grows by those bytes a row).
        """
        ws, sized = self.ws, self._sized
        info, sizes = getattr(ws, "row_info", None), getattr(ws, "row_sizes", None)
        if not isinstance(info, dict) or not isinstance(sizes, dict):
            sized.clear()
            return
        while sized and sized[0] < getattr(ws, "previous_row", 0):
            row = sized.popleft()
            info.pop(row, None)
            sizes.pop(row, None)


def number_cell(
    sheet: Sheet, value: Decimal | None, empty: str = DASH, *, capaian: bool = False
) -> Cell:
    """A target/realisasi (exact) or a capaian (rounded HALF_UP to 2 decimals) cell."""
    if value is None:
        return sheet.cell(empty, "Rekap Tengah")
    if capaian:
        return sheet.cell(round_half_up(value), "Rekap Angka 2")
    places = decimals_of(round_half_up(Decimal(value)), 2)
    return sheet.cell(value, f"Rekap Angka {places}")


def predikat_cell(
    sheet: Sheet, predikat: str | None, levels: tuple[str, ...], *, bold: bool = False
) -> Cell:
    if not predikat:
        return sheet.cell(DASH, "Rekap Total Teks" if bold else "Rekap Tengah")
    color = predikat_color(predikat, levels)
    return sheet.cell(predikat, f"Rekap Predikat {color}" + (" Tebal" if bold else ""))


def start_sheet(
    sheet: Sheet,
    lines: Sequence[str],
    columns: Sequence[Column],
    page_title: str,
) -> int:
    """Widths, print setup, the merged title lines and the column headings; returns the
    heading row. Must run before any other row (rows are written top to bottom)."""
    ncols = len(columns)
    header_row = len(lines) + 2
    set_widths(sheet.ws, [c.width for c in columns])
    setup_print(sheet.ws, header_row, page_title, MARGINS)
    for i, text in enumerate(lines, start=1):
        style = "Rekap Judul" if i == 1 else "Rekap Subjudul"
        sheet.add([sheet.cell(text, style)], merge=(1, ncols))
    sheet.add()
    longest = max(_lines(c.header, c.width) for c in columns)
    sheet.add(
        [sheet.cell(c.header, "Rekap Kepala Kolom") for c in columns],
        height=max(30, 13 * longest + 4),
    )
    return header_row


def sheet_title(kode: str, taken: set[str]) -> str:
    """A valid, unique sheet title (≤ 31 chars, none of []:*?/\\) from a section kode."""
    base = re.sub(r"[\[\]:*?/\\']", "_", kode).strip() or "Seksi"
    base = base[:31]
    title, n = base, 2
    while title.lower() in taken:
        suffix = f"_{n}"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def group_by_sasaran(rows: Sequence[IndicatorRow]) -> list[tuple[str, list[IndicatorRow]]]:
    """Rows grouped by sasaran, in order of first appearance."""
    groups: dict[str, list[IndicatorRow]] = {}
    for row in rows:
        groups.setdefault(row.sasaran, []).append(row)
    return list(groups.items())


# ---------------------------------------------------------------- sheets


def section_columns(data: ReportData) -> list[Column]:
    """The rekap columns of DOMAIN §4 (plus TW I–IV capaian for the annual report)."""
    p = data.short
    cols = [
        Column("No", 5),
        Column("Sasaran / Indikator", 46, wrap=True),
        Column("Satuan", 10, wrap=True),
        Column("Target tahunan", 10),
        Column(f"Target s.d. {p}", 10),
        Column(f"Realisasi {p}", 11),
        Column(f"Realisasi s.d. {p}", 11),
        Column(f"Capaian s.d. {p} (%)", 11),
        Column("Capaian thd target tahunan (%)", 12),
    ]
    if data.is_annual:
        cols += [Column(f"Capaian {q} (%)", 9) for q in data.quarter_labels]
    cols += [
        Column("Predikat", 13),
        Column("Kendala", 30, wrap=True),
        Column("Upaya / tindak lanjut", 30, wrap=True),
        Column("Penanggung jawab", 22, wrap=True),
    ]
    return cols


def write_section(sheet: Sheet, data: ReportData, section: SectionReport) -> None:
    """One seksi's Formulir Pengukuran Kinerja: rows grouped by sasaran, then the average."""
    columns = section_columns(data)
    ncols = len(columns)
    widths = [c.width for c in columns]
    submitted = local_time(section.submitted_at, data.tz)
    sub = (
        f"Kepala: {section.kepala_nama} · Dikirim: "
        + (
            f"{fmt_date(submitted.date())} {submitted:%H.%M} {tz_abbr(data.tz)}"
            if submitted
            else DASH
        )
        + f" · Diverifikasi oleh: {_verifier(data, section)}"
    )
    start_sheet(
        sheet,
        [
            f"FORMULIR PENGUKURAN KINERJA {data.period_label.upper()}",
            f"{section.nama} — {data.office.nama}, {data.office.kabupaten}",
            sub,
        ],
        columns,
        f"{section.nama} — {data.period_label}",
    )
    levels = data.predikat_levels
    wrapped = (1, 2, ncols - 3, ncols - 2, ncols - 1)
    cell = sheet.cell
    for sasaran, items in group_by_sasaran(section.rows):
        sheet.add(
            [
                cell("", "Rekap Kelompok"),
                cell(f"Sasaran: {sasaran}", "Rekap Kelompok Teks"),
                *[cell("", "Rekap Kelompok") for _ in range(ncols - 2)],
            ],
            merge=(2, ncols),
        )
        for item in items:
            texts = (
                item.indikator,
                item.satuan,
                item.kendala,
                item.upaya,
                item.penanggung_jawab,
            )
            sheet.add(
                indicator_cells(sheet, data, item, levels),
                height=row_height(zip(texts, (widths[i] for i in wrapped), strict=True)),
            )
    # Section average
    pred_col = next(i for i, c in enumerate(columns) if c.header == "Predikat")
    cells: list[Cell | None] = [cell("", "Rekap Total") for _ in range(ncols)]
    cells[1] = cell(f"Rata-rata capaian {section.nama}", "Rekap Total Teks")
    if section.average_capaian is None:
        cells[7] = cell(NA, "Rekap Total Teks")
    else:
        cells[7] = cell(round_half_up(section.average_capaian), "Rekap Total Capaian")
    cells[pred_col] = predikat_cell(sheet, section.predikat, levels, bold=True)
    sheet.add(cells)
    sheet.add()
    sheet.add([cell(NOTE, "Rekap Catatan")])


def indicator_cells(
    sheet: Sheet, data: ReportData, item: IndicatorRow, levels: tuple[str, ...]
) -> list[Cell]:
    """The cells of one indicator row of a section sheet, left to right."""
    cell = sheet.cell
    cells = [
        cell(item.no, "Rekap Tengah"),
        cell(item.indikator, "Rekap Teks"),
        cell(item.satuan, "Rekap Teks"),
        number_cell(sheet, item.target_tahunan),
        number_cell(sheet, item.target_sd),
        number_cell(sheet, item.realisasi_tw),
        number_cell(sheet, item.realisasi_sd),
        number_cell(sheet, item.capaian_sd, NA, capaian=True),
        number_cell(sheet, item.capaian_tahunan, NA, capaian=True),
    ]
    if data.is_annual:
        for i in range(len(data.quarter_labels)):
            value = item.trend[i] if i < len(item.trend) else None
            cells.append(number_cell(sheet, value, NA, capaian=True))
    cells.append(predikat_cell(sheet, item.predikat, levels))
    for text in (item.kendala, item.upaya, item.penanggung_jawab):
        cells.append(cell(text, "Rekap Teks"))
    return cells


def write_summary(sheet: Sheet, data: ReportData) -> None:
    """Ringkasan: one row per seksi, the office total, then the averages per sasaran."""
    levels = data.predikat_levels
    abbr = tz_abbr(data.tz)
    columns = [
        Column("No", 5),
        Column("Kode", 8),
        Column("Seksi / Subbagian", 34, wrap=True),
        Column("Kepala", 28, wrap=True),
        Column("Jumlah indikator", 10),
        Column("Rata-rata capaian (%)", 11),
        Column("Predikat", 13),
        *[Column(level, 9) for level in levels],
        Column("Tidak diukur", 9),
        Column(f"Dikirim pada ({abbr})", 16),
        Column("Dikirim oleh", 26, wrap=True),
        Column("Diverifikasi oleh", 26, wrap=True),
        Column(f"Diverifikasi pada ({abbr})", 16),
    ]
    ncols = len(columns)
    start_sheet(
        sheet,
        [
            "REKAPITULASI PENGUKURAN KINERJA",
            f"{data.office.nama.upper()} — {data.office.kabupaten.upper()}",
            data.period_label,
        ],
        columns,
        f"Rekapitulasi Pengukuran Kinerja — {data.period_label}",
    )
    cell = sheet.cell
    for i, section in enumerate(data.sections, start=1):
        not_measured = sum(1 for r in section.rows if r.predikat is None)
        submitted_at = local_time(section.submitted_at, data.tz)
        verified_at = local_time(section.verified_at, data.tz)
        sheet.add(
            [
                cell(i, "Rekap Tengah"),
                cell(section.kode, "Rekap Tengah"),
                cell(section.nama, "Rekap Teks"),
                cell(section.kepala_nama, "Rekap Teks"),
                cell(len(section.rows), "Rekap Angka"),
                number_cell(sheet, section.average_capaian, NA, capaian=True),
                predikat_cell(sheet, section.predikat, levels),
                *[cell(section.predikat_counts.get(lvl, 0), "Rekap Angka") for lvl in levels],
                cell(not_measured, "Rekap Angka"),
                cell(submitted_at, "Rekap Waktu") if submitted_at else cell(DASH, "Rekap Tengah"),
                cell(section.submitted_by or DASH, "Rekap Teks"),
                cell(_verifier(data, section), "Rekap Teks"),
                cell(verified_at, "Rekap Waktu") if verified_at else cell(DASH, "Rekap Tengah"),
            ],
            height=row_height(
                [
                    (section.nama, 34),
                    (section.kepala_nama, 28),
                    (section.submitted_by or "", 26),
                    (section.verified_by or "", 26),
                ]
            ),
        )
    # Office total
    total: list[Cell | None] = [cell("", "Rekap Total") for _ in range(ncols)]
    total[2] = cell(f"{data.office.nama} (seluruh indikator)", "Rekap Total Teks")
    total[4] = cell(sum(len(s.rows) for s in data.sections), "Rekap Total Angka")
    if data.office_average is None:
        total[5] = cell(NA, "Rekap Total Teks")
    else:
        total[5] = cell(round_half_up(data.office_average), "Rekap Total Capaian")
    total[6] = predikat_cell(sheet, data.office_predikat, levels, bold=True)
    for j, level in enumerate(levels):
        count = sum(s.predikat_counts.get(level, 0) for s in data.sections)
        total[7 + j] = cell(count, "Rekap Total Angka")
    unmeasured = sum(1 for r in data.all_rows if r.predikat is None)
    total[7 + len(levels)] = cell(unmeasured, "Rekap Total Angka")
    sheet.add(total)
    sheet.add()
    # Sasaran averages
    sheet.add([cell("Rata-rata capaian per sasaran", "Rekap Subjudul Kiri")])
    sheet.add(
        [
            cell("No", "Rekap Kepala Kolom"),
            cell("Sasaran", "Rekap Kepala Kolom"),
            None,
            None,
            None,
            cell("Rata-rata capaian (%)", "Rekap Kepala Kolom"),
        ],
        height=30,
        merge=(2, 5),
    )
    for i, (sasaran, avg) in enumerate(data.sasaran_averages, start=1):
        sheet.add(
            [
                cell(i, "Rekap Tengah"),
                cell(sasaran, "Rekap Teks"),
                None,
                None,
                None,
                number_cell(sheet, avg, NA, capaian=True),
            ],
            merge=(2, 5),
        )
    sheet.add()
    sheet.add([cell(NOTE, "Rekap Catatan")])


def write_evidence(sheet: Sheet, data: ReportData) -> None:
    """Bukti: one row per piece of evidence (or one "none yet" row per indicator)."""
    start_sheet(
        sheet,
        ["DAFTAR BUKTI DUKUNG", f"{data.office.nama} — {data.period_label}"],
        [
            Column("No", 5),
            Column("Seksi / Subbagian", 30, wrap=True),
            Column("Kode", 9),
            Column("Indikator", 50, wrap=True),
            Column("Bukti dukung (nama berkas / tautan)", 60, wrap=True),
        ],
        f"Daftar Bukti Dukung — {data.period_label}",
    )
    cell = sheet.cell
    n = 0
    for section in data.sections:
        for item in section.rows:
            for evidence in item.evidence or ("(belum ada bukti dukung)",):
                n += 1
                if _URL.match(evidence):
                    link = cell(Link(evidence), "Rekap Tautan")
                else:
                    link = cell(evidence, "Rekap Teks")
                sheet.add(
                    [
                        cell(n, "Rekap Tengah"),
                        cell(section.nama, "Rekap Teks"),
                        cell(item.kode, "Rekap Teks"),
                        cell(item.indikator, "Rekap Teks"),
                        link,
                    ],
                    height=row_height([(section.nama, 30), (item.indikator, 50), (evidence, 60)]),
                )


def write_history(sheet: Sheet, data: ReportData) -> None:
    """Riwayat: every step of the approval chain, oldest first."""
    start_sheet(
        sheet,
        [
            "RIWAYAT PROSES PENGUMPULAN DAN PENGUKURAN DATA KINERJA",
            f"{data.office.nama} — {data.period_label}",
        ],
        [
            Column("No", 5),
            Column(f"Waktu ({tz_abbr(data.tz)})", 17),
            Column("Nama", 30, wrap=True),
            Column("Jabatan", 30, wrap=True),
            Column("Tindakan", 34, wrap=True),
            Column("Catatan", 40, wrap=True),
            Column("Ketepatan waktu", 13),
        ],
        f"Riwayat Proses — {data.period_label}",
    )
    cell = sheet.cell
    for i, entry in enumerate(data.history, start=1):
        late = entry.on_time is False
        sheet.add(
            [
                cell(i, "Rekap Tengah"),
                cell(local_time(entry.at, data.tz), "Rekap Waktu"),
                cell(entry.actor, "Rekap Teks"),
                cell(entry.role_title, "Rekap Teks"),
                cell(entry.action, "Rekap Teks"),
                cell(entry.note, "Rekap Teks"),
                cell(
                    on_time_label(entry.on_time, entry.late_days),
                    "Rekap Terlambat" if late else "Rekap Tengah",
                ),
            ],
            height=row_height(
                [
                    (entry.actor, 30),
                    (entry.role_title, 30),
                    (entry.action, 34),
                    (entry.note, 40),
                ]
            ),
        )


def _verifier(data: ReportData, section: SectionReport) -> str:
    """Who accepted the sheet; in words when the SOP has no verification step."""
    if section.verified_by:
        return section.verified_by
    return DASH if data.verification_step else NO_VERIFICATION


def build_rekap(data: ReportData) -> bytes:
    """The rekap workbook: Ringkasan, one sheet per section, Bukti, Riwayat, Riwayat Nilai."""
    buf = io.BytesIO()
    with streamed_workbook(buf) as wb:
        styles = Styles(wb)
        taken = {"ringkasan", "bukti", "riwayat", VALUE_HISTORY_SHEET.lower()}
        write_summary(Sheet(wb, styles, "Ringkasan"), data)
        for section in data.sections:
            write_section(Sheet(wb, styles, sheet_title(section.kode, taken)), data, section)
        write_evidence(Sheet(wb, styles, "Bukti"), data)
        write_history(Sheet(wb, styles, "Riwayat"), data)
        write_value_history(wb, data)
        wb.set_properties(
            {
                "title": f"Rekap Pengukuran Kinerja {data.period_label} {data.office.nama}",
                "author": "Kinerja Bot",
            }
        )
    return buf.getvalue()
