"""The rekap workbook (Formulir Pengukuran Kinerja), streamed with openpyxl write-only mode.

Decisions:
- Written row by row (``Workbook(write_only=True)``): memory stays flat in the number of rows.
  Each sheet is one function that appends its rows top to bottom through a :class:`Sheet`;
  column widths, frozen panes and print titles are set before the first row.
- Every cell style is a registered NamedStyle (see :class:`Styles`), so a cell costs a copy of
  a small style array instead of font/fill/border lookups.
- Every number is written as a numeric value, never a formula, so every viewer shows the same.
- Targets and realisasi are stored exactly; capaian is stored already rounded HALF_UP to two
  decimals (what the laporan prints), so a viewer, a sum or a sort sees "97,89" and not
  97.8947…  Number formats (``#,##0.00`` etc.) render with the viewer's locale separators.
- Missing values are text: "–" (not measured this period: not reported / no target).
- Every string is stored as a string cell (data_type "s"): text typed by users that starts with
  "=", "+", "-" or "@" can never become a formula.
- Times are written as local (office time zone) date-time values, format dd/mm/yyyy hh:mm.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

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
from reports.data import IndicatorRow, ReportData, SectionReport
from reports.value_history_sheet import write_value_history

MAX_CELL_TEXT = 32_767
FMT_CAPAIAN = "#,##0.00"
FMT_DATETIME = "dd/mm/yyyy hh:mm"

_THIN = Side(style="thin", color="808080")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
TOTAL_FILL = PatternFill("solid", fgColor="EDEDED")
TITLE_FONT = Font(name="Calibri", size=14, bold=True)
SUBTITLE_FONT = Font(name="Calibri", size=11, bold=True)
BODY_FONT = Font(name="Calibri", size=10)
BOLD_FONT = Font(name="Calibri", size=10, bold=True)
NOTE_FONT = Font(name="Calibri", size=9, italic=True)
LINK_FONT = Font(name="Calibri", size=10, color="0563C1", underline="single")
LATE_FONT = Font(name="Calibri", size=10, bold=True, color="C00000")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
WRAP_CENTER = Alignment(wrap_text=True, vertical="center", horizontal="center")
LEFT_CENTER = Alignment(horizontal="left", vertical="center")
NUM_ALIGN = Alignment(vertical="top", horizontal="right")
MID_ALIGN = Alignment(vertical="top", horizontal="center", wrap_text=True)
NUMBER_FORMATS = ("#,##0", "#,##0.0", FMT_CAPAIAN)  # 0, 1 or 2 decimals

NO_VERIFICATION = "tidak ada langkah verifikasi per lembar dalam SOP ini"
NOTE = (
    "Keterangan: – = tidak diukur pada periode ini (belum dilaporkan atau tidak ada target). "
    "Capaian disimpan dan ditampilkan dengan pembulatan dua desimal."
)
_URL = re.compile(r"https?://\S+$")


# ---------------------------------------------------------------- styles


def _style_table() -> dict[str, NamedStyle]:
    """Every cell style of the rekap, by name (names are shown in Excel's style gallery)."""

    def style(name: str, font: Font = BODY_FONT, **kw: object) -> NamedStyle:
        return NamedStyle(name=name, font=font, **kw)  # type: ignore[arg-type]

    boxed = {"border": BORDER}
    table = [
        style("Rekap Judul", TITLE_FONT, alignment=LEFT_CENTER),
        style("Rekap Subjudul", SUBTITLE_FONT, alignment=LEFT_CENTER),
        style("Rekap Subjudul Kiri", SUBTITLE_FONT),
        style("Rekap Catatan", NOTE_FONT),
        style("Rekap Kepala Kolom", BOLD_FONT, fill=HEAD_FILL, alignment=WRAP_CENTER, **boxed),
        style("Rekap Kelompok", fill=GROUP_FILL, **boxed),
        style("Rekap Kelompok Teks", BOLD_FONT, fill=GROUP_FILL, alignment=WRAP_TOP, **boxed),
        style("Rekap Total", fill=TOTAL_FILL, **boxed),
        style("Rekap Total Teks", BOLD_FONT, fill=TOTAL_FILL, alignment=WRAP_TOP, **boxed),
        style("Rekap Total Angka", BOLD_FONT, fill=TOTAL_FILL, alignment=NUM_ALIGN, **boxed),
        style(
            "Rekap Total Capaian",
            BOLD_FONT,
            fill=TOTAL_FILL,
            alignment=NUM_ALIGN,
            number_format=FMT_CAPAIAN,
            **boxed,
        ),
        style("Rekap Tengah", alignment=MID_ALIGN, **boxed),
        style("Rekap Teks", alignment=WRAP_TOP, **boxed),
        style("Rekap Tautan", LINK_FONT, alignment=WRAP_TOP, **boxed),
        style("Rekap Terlambat", LATE_FONT, alignment=MID_ALIGN, **boxed),
        style("Rekap Angka", alignment=NUM_ALIGN, **boxed),
        style("Rekap Waktu", alignment=MID_ALIGN, number_format=FMT_DATETIME, **boxed),
    ]
    table += [
        style(f"Rekap Angka {places}", alignment=NUM_ALIGN, number_format=fmt, **boxed)
        for places, fmt in enumerate(NUMBER_FORMATS)
    ]
    for color in (*PALETTE, NEUTRAL):
        fill = PatternFill("solid", fgColor=color)
        table.append(style(f"Rekap Predikat {color}", fill=fill, alignment=MID_ALIGN, **boxed))
        table.append(
            style(
                f"Rekap Predikat {color} Tebal",
                BOLD_FONT,
                fill=fill,
                alignment=MID_ALIGN,
                **boxed,
            )
        )
    return {s.name: s for s in table}


class _Cell(Cell):
    """A cell whose style id is fixed when it is made.

    openpyxl looks the id up by hashing the cell's style array each time it writes a cell;
    here the id of the named style is known in advance and stored in the cell.
    """

    __slots__ = ("style_id",)


class Styles:
    """The named styles of one workbook, and cells made with them.

    Each NamedStyle is registered once, with its style array and cell-format id; a cell then
    shares that array and id, which keeps a styled cell almost as cheap as a bare value.
    """

    def __init__(self, wb: Workbook) -> None:
        self._styles: dict[str, tuple[StyleArray, int]] = {}
        for name, named in _style_table().items():
            wb.add_named_style(named)
            array = named.as_tuple()
            self._styles[name] = (array, wb._cell_styles.add(array))

    def cell(self, ws: WriteOnlyWorksheet, value: object, style: str) -> Cell:
        """One cell: strings are always plain strings, numbers always numbers."""
        cell = _Cell(ws, 1, 1)
        cell._style, cell.style_id = self._styles[style]
        if isinstance(value, str):
            cell._value = _clean_text(value)
            cell.data_type = "s"  # never a formula, whatever the first character is
        elif isinstance(value, Decimal):
            cell._value = _excel_number(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            cell._value = value
        elif isinstance(value, datetime):
            cell.value = value.replace(tzinfo=None)
        elif isinstance(value, bool) or value is None:
            cell.value = value
        else:
            cell._value = _clean_text(str(value))
            cell.data_type = "s"
        return cell


class _StreamedSheet(WriteOnlyWorksheet):
    """A write-only sheet whose rows are lists of ready cells.

    openpyxl's own ``_values_to_row`` first tries every item as a plain value and only takes
    it as a cell after a ValueError (whose message formats the cell): a third of the time of
    a styled row. The rows here are never plain values, so that detour is skipped.
    """

    def _values_to_row(self, values: Iterable[Cell | None], row_idx: int) -> Iterator[Cell]:
        for col_idx, cell in enumerate(values, 1):
            if cell is None:
                continue
            cell.column = col_idx
            cell.row = row_idx
            if cell.hyperlink is not None:
                cell.hyperlink.ref = cell.coordinate
            yield cell


# ---------------------------------------------------------------- cell helpers


def _excel_number(x: Decimal | int | float) -> int | float:
    d = Decimal(str(x))
    return int(d) if d == d.to_integral_value() else float(d)


def _number_format(x: Decimal) -> str:
    """Shown with the decimals the chat and the PDF show: at most 2, trailing zeros dropped."""
    return NUMBER_FORMATS[decimals_of(round_half_up(Decimal(x)), 2)]


def _clean_text(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_CELL_TEXT]


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
    """A write-only worksheet filled top to bottom, one ``add`` per row."""

    def __init__(self, wb: Workbook, styles: Styles, title: str) -> None:
        self.ws = _StreamedSheet(parent=wb, title=title)
        wb._add_sheet(self.ws)
        self.styles = styles
        self.row = 0  # the last row written

    def cell(self, value: object, style: str) -> Cell:
        return self.styles.cell(self.ws, value, style)

    def add(self, cells: list[Cell | None] | tuple[()] = (), height: float | None = None) -> int:
        """Append the next row (``None`` leaves a cell empty); returns its number."""
        self.row += 1
        dims = self.ws.row_dimensions
        if height is None:
            self.ws.append(cells)
            return self.row
        # The row's XML attributes, as a RowDimension would give them (without building one);
        # dropped once the row is written, so memory stays flat.
        dict.__setitem__(dims, self.row, {"ht": f"{height:g}", "customHeight": "1"})
        self.ws.append(cells)
        dict.__delitem__(dims, self.row)
        return self.row

    def merge(self, row: int, first: int, last: int) -> None:
        self.ws.merged_cells.add(f"{get_column_letter(first)}{row}:{get_column_letter(last)}{row}")


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
    heading row. Must run before any other row (write-only sheets stream their top first)."""
    ws = sheet.ws
    ncols = len(columns)
    header_row = len(lines) + 2
    for col, spec in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(col)].width = spec.width
    setup_print(ws, header_row, f"A{header_row + 1}", page_title)
    for i, text in enumerate(lines, start=1):
        row = sheet.add([sheet.cell(text, "Rekap Judul" if i == 1 else "Rekap Subjudul")])
        sheet.merge(row, 1, ncols)
    sheet.add()
    longest = max(_lines(c.header, c.width) for c in columns)
    sheet.add(
        [sheet.cell(c.header, "Rekap Kepala Kolom") for c in columns],
        height=max(30, 13 * longest + 4),
    )
    return header_row


def setup_print(ws: WriteOnlyWorksheet, header_row: int, freeze: str, page_title: str) -> None:
    """Freeze the heading, repeat it on every printed page, A4 landscape, fit to width."""
    ws.freeze_panes = freeze
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddHeader.center.text = page_title.replace("&", "&&")
    ws.oddHeader.center.size = 9
    ws.oddFooter.center.text = "Halaman &P dari &N"
    ws.oddFooter.center.size = 9


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
        row = sheet.add(
            [
                cell("", "Rekap Kelompok"),
                cell(f"Sasaran: {sasaran}", "Rekap Kelompok Teks"),
                *[cell("", "Rekap Kelompok") for _ in range(ncols - 2)],
            ]
        )
        sheet.merge(row, 2, ncols)
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
) -> list[Cell | None]:
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
    row = sheet.add(
        [
            cell("No", "Rekap Kepala Kolom"),
            cell("Sasaran", "Rekap Kepala Kolom"),
            None,
            None,
            None,
            cell("Rata-rata capaian (%)", "Rekap Kepala Kolom"),
        ],
        height=30,
    )
    sheet.merge(row, 2, 5)
    for i, (sasaran, avg) in enumerate(data.sasaran_averages, start=1):
        row = sheet.add(
            [
                cell(i, "Rekap Tengah"),
                cell(sasaran, "Rekap Teks"),
                None,
                None,
                None,
                number_cell(sheet, avg, NA, capaian=True),
            ]
        )
        sheet.merge(row, 2, 5)
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
                link = cell(evidence, "Rekap Teks")
                if _URL.match(evidence):
                    link = cell(evidence, "Rekap Tautan")
                    link.hyperlink = evidence
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
    """The rekap workbook: Ringkasan, one sheet per section, Bukti, Riwayat."""
    wb = Workbook(write_only=True)
    styles = Styles(wb)
    taken = {"ringkasan", "bukti", "riwayat"}
    write_summary(Sheet(wb, styles, "Ringkasan"), data)
    for section in data.sections:
        write_section(Sheet(wb, styles, sheet_title(section.kode, taken)), data, section)
    write_evidence(Sheet(wb, styles, "Bukti"), data)
    write_history(Sheet(wb, styles, "Riwayat"), data)
    write_value_history(wb, data)
    wb.properties.title = f"Rekap Pengukuran Kinerja {data.period_label} {data.office.nama}"
    wb.properties.creator = "Kinerja Bot"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
