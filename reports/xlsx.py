"""The rekap workbook (Formulir Pengukuran Kinerja) built with openpyxl.

Decisions:
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports._fmt import (
    DASH,
    NA,
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
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
WRAP_CENTER = Alignment(wrap_text=True, vertical="center", horizontal="center")
NUM_ALIGN = Alignment(vertical="top", horizontal="right")
MID_ALIGN = Alignment(vertical="top", horizontal="center", wrap_text=True)

NO_VERIFICATION = "tidak ada langkah verifikasi per lembar dalam SOP ini"
NOTE = (
    "Keterangan: – = tidak diukur pada periode ini (belum dilaporkan atau tidak ada target). "
    "Capaian disimpan dan ditampilkan dengan pembulatan dua desimal."
)


# ---------------------------------------------------------------- cell helpers


def _excel_number(x: Decimal | int | float) -> int | float:
    d = Decimal(str(x))
    return int(d) if d == d.to_integral_value() else float(d)


def _number_format(x: Decimal) -> str:
    """Shown with the decimals the chat and the PDF show: at most 2, trailing zeros dropped."""
    places = decimals_of(round_half_up(Decimal(x)), 2)
    return "#,##0" + ("." + "0" * places if places else "")


def _clean_text(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_CELL_TEXT]


def put(ws: Worksheet, row: int, col: int, value: object, **style: object) -> Cell:
    """Write one cell safely: strings are always plain strings, numbers always numbers."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        cell.value = _clean_text(value)
        cell.data_type = "s"  # never a formula, whatever the first character is
    elif isinstance(value, bool) or value is None:
        cell.value = value
    elif isinstance(value, Decimal | int | float):
        cell.value = _excel_number(value)
    elif isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = FMT_DATETIME
    else:
        cell.value = _clean_text(str(value))
        cell.data_type = "s"
    for key, val in style.items():
        setattr(cell, key, val)
    return cell


def put_number(
    ws: Worksheet,
    row: int,
    col: int,
    value: Decimal | None,
    empty: str = DASH,
    *,
    capaian: bool = False,
) -> Cell:
    """A target/realisasi (exact) or a capaian (rounded HALF_UP to 2 decimals) cell."""
    if value is None:
        return put(ws, row, col, empty, alignment=MID_ALIGN, font=BODY_FONT, border=BORDER)
    if capaian:
        cell = put(
            ws, row, col, round_half_up(value), alignment=NUM_ALIGN, font=BODY_FONT, border=BORDER
        )
        cell.number_format = FMT_CAPAIAN
    else:
        cell = put(ws, row, col, value, alignment=NUM_ALIGN, font=BODY_FONT, border=BORDER)
        cell.number_format = _number_format(value)
    return cell


def put_predikat(
    ws: Worksheet,
    row: int,
    col: int,
    predikat: str | None,
    levels: tuple[str, ...],
    *,
    bold: bool = False,
) -> Cell:
    cell = put(
        ws,
        row,
        col,
        predikat or DASH,
        alignment=MID_ALIGN,
        font=BOLD_FONT if bold else BODY_FONT,
        border=BORDER,
    )
    if predikat:
        cell.fill = PatternFill("solid", fgColor=predikat_color(predikat, levels))
    return cell


def local_time(dt: datetime | None, tz: str) -> datetime | None:
    return None if dt is None else to_local(dt, tz).replace(tzinfo=None)


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    wrap: bool = False  # free text that decides the row height


def write_heading(ws: Worksheet, lines: Sequence[str], ncols: int) -> int:
    """Title lines merged across the table width; returns the next free row."""
    for i, text in enumerate(lines, start=1):
        put(
            ws,
            i,
            1,
            text,
            font=TITLE_FONT if i == 1 else SUBTITLE_FONT,
            alignment=Alignment(horizontal="left", vertical="center"),
        )
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=ncols)
    return len(lines) + 2


def write_header(ws: Worksheet, row: int, columns: Sequence[Column]) -> None:
    for col, spec in enumerate(columns, start=1):
        put(
            ws,
            row,
            col,
            spec.header,
            font=BOLD_FONT,
            fill=HEAD_FILL,
            border=BORDER,
            alignment=WRAP_CENTER,
        )
        ws.column_dimensions[get_column_letter(col)].width = spec.width
    longest = max(_lines(c.header, c.width) for c in columns)
    ws.row_dimensions[row].height = max(30, 13 * longest + 4)


def _lines(text: str, width: float) -> int:
    per_line = max(1.0, width * 1.15)
    return sum(max(1, math.ceil(len(part) / per_line)) for part in str(text).split("\n"))


def fit_row(ws: Worksheet, row: int, texts: Iterable[tuple[str, float]]) -> None:
    """Estimate the height of a row of wrapped text (Excel does not auto-fit on open)."""
    n = max((_lines(t, w) for t, w in texts if t), default=1)
    ws.row_dimensions[row].height = max(15, 13 * n + 3)


def setup_print(ws: Worksheet, header_row: int, freeze: str, page_title: str) -> None:
    """Freeze the heading, repeat it on every printed page, A4 landscape, fit to width."""
    ws.freeze_panes = freeze
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
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


def _write_section(ws: Worksheet, data: ReportData, section: SectionReport) -> None:
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
    row = write_heading(
        ws,
        [
            f"FORMULIR PENGUKURAN KINERJA {data.period_label.upper()}",
            f"{section.nama} — {data.office.nama}, {data.office.kabupaten}",
            sub,
        ],
        ncols,
    )
    header_row = row
    write_header(ws, header_row, columns)
    row += 1
    levels = data.predikat_levels
    for sasaran, items in group_by_sasaran(section.rows):
        put(ws, row, 1, "", fill=GROUP_FILL, border=BORDER)
        put(
            ws,
            row,
            2,
            f"Sasaran: {sasaran}",
            font=BOLD_FONT,
            fill=GROUP_FILL,
            border=BORDER,
            alignment=WRAP_TOP,
        )
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=ncols)
        row += 1
        for item in items:
            _write_indicator(ws, row, data, item, levels)
            fit_row(
                ws,
                row,
                [
                    (item.indikator, widths[1]),
                    (item.satuan, widths[2]),
                    (item.kendala, widths[-3]),
                    (item.upaya, widths[-2]),
                    (item.penanggung_jawab, widths[-1]),
                ],
            )
            row += 1
    # Section average
    put(ws, row, 1, "", fill=TOTAL_FILL, border=BORDER)
    put(
        ws,
        row,
        2,
        f"Rata-rata capaian {section.nama}",
        font=BOLD_FONT,
        fill=TOTAL_FILL,
        border=BORDER,
        alignment=WRAP_TOP,
    )
    for col in range(3, ncols + 1):
        put(ws, row, col, "", fill=TOTAL_FILL, border=BORDER)
    avg = put_number(ws, row, 8, section.average_capaian, NA, capaian=True)
    avg.font, avg.fill = BOLD_FONT, TOTAL_FILL
    pred_col = next(i for i, c in enumerate(columns, 1) if c.header == "Predikat")
    put_predikat(ws, row, pred_col, section.predikat, levels, bold=True)
    row += 2
    put(ws, row, 1, NOTE, font=NOTE_FONT)
    setup_print(ws, header_row, f"A{header_row + 1}", f"{section.nama} — {data.period_label}")


def _write_indicator(
    ws: Worksheet, row: int, data: ReportData, item: IndicatorRow, levels: tuple[str, ...]
) -> None:
    put(ws, row, 1, item.no, font=BODY_FONT, border=BORDER, alignment=MID_ALIGN)
    for col, text in ((2, item.indikator), (3, item.satuan)):
        put(ws, row, col, text, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
    put_number(ws, row, 4, item.target_tahunan)
    put_number(ws, row, 5, item.target_sd)
    put_number(ws, row, 6, item.realisasi_tw)
    put_number(ws, row, 7, item.realisasi_sd)
    put_number(ws, row, 8, item.capaian_sd, NA, capaian=True)
    put_number(ws, row, 9, item.capaian_tahunan, NA, capaian=True)
    col = 10
    if data.is_annual:
        for i in range(len(data.quarter_labels)):
            value = item.trend[i] if i < len(item.trend) else None
            put_number(ws, row, col, value, NA, capaian=True)
            col += 1
    put_predikat(ws, row, col, item.predikat, levels)
    for offset, text in enumerate((item.kendala, item.upaya, item.penanggung_jawab), 1):
        put(ws, row, col + offset, text, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)


def _write_summary(ws: Worksheet, data: ReportData) -> None:
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
    row = write_heading(
        ws,
        [
            "REKAPITULASI PENGUKURAN KINERJA",
            f"{data.office.nama.upper()} — {data.office.kabupaten.upper()}",
            data.period_label,
        ],
        ncols,
    )
    header_row = row
    write_header(ws, header_row, columns)
    row += 1
    first_level_col = 8
    for i, section in enumerate(data.sections, start=1):
        put(ws, row, 1, i, font=BODY_FONT, border=BORDER, alignment=MID_ALIGN)
        put(ws, row, 2, section.kode, font=BODY_FONT, border=BORDER, alignment=MID_ALIGN)
        put(ws, row, 3, section.nama, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
        put(ws, row, 4, section.kepala_nama, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
        put(ws, row, 5, len(section.rows), font=BODY_FONT, border=BORDER, alignment=NUM_ALIGN)
        put_number(ws, row, 6, section.average_capaian, NA, capaian=True)
        put_predikat(ws, row, 7, section.predikat, levels)
        for j, level in enumerate(levels):
            put(
                ws,
                row,
                first_level_col + j,
                section.predikat_counts.get(level, 0),
                font=BODY_FONT,
                border=BORDER,
                alignment=NUM_ALIGN,
            )
        col = first_level_col + len(levels)
        not_measured = sum(1 for r in section.rows if r.predikat is None)
        put(ws, row, col, not_measured, font=BODY_FONT, border=BORDER, alignment=NUM_ALIGN)
        who_and_when = (
            (local_time(section.submitted_at, data.tz) or DASH, MID_ALIGN),
            (section.submitted_by or DASH, WRAP_TOP),
            (_verifier(data, section), WRAP_TOP),
            (local_time(section.verified_at, data.tz) or DASH, MID_ALIGN),
        )
        for offset, (value, alignment) in enumerate(who_and_when, start=1):
            put(ws, row, col + offset, value, font=BODY_FONT, border=BORDER, alignment=alignment)
        fit_row(
            ws,
            row,
            [
                (section.nama, 34),
                (section.kepala_nama, 28),
                (section.submitted_by or "", 26),
                (section.verified_by or "", 26),
            ],
        )
        row += 1
    # Office total
    for col in range(1, ncols + 1):
        put(ws, row, col, "", fill=TOTAL_FILL, border=BORDER)
    put(
        ws,
        row,
        3,
        f"{data.office.nama} (seluruh indikator)",
        font=BOLD_FONT,
        fill=TOTAL_FILL,
        border=BORDER,
        alignment=WRAP_TOP,
    )
    put(
        ws,
        row,
        5,
        sum(len(s.rows) for s in data.sections),
        font=BOLD_FONT,
        fill=TOTAL_FILL,
        border=BORDER,
        alignment=NUM_ALIGN,
    )
    cell = put_number(ws, row, 6, data.office_average, NA, capaian=True)
    cell.font, cell.fill = BOLD_FONT, TOTAL_FILL
    put_predikat(ws, row, 7, data.office_predikat, levels, bold=True)
    for j, level in enumerate(levels):
        put(
            ws,
            row,
            first_level_col + j,
            sum(s.predikat_counts.get(level, 0) for s in data.sections),
            font=BOLD_FONT,
            fill=TOTAL_FILL,
            border=BORDER,
            alignment=NUM_ALIGN,
        )
    put(
        ws,
        row,
        first_level_col + len(levels),
        sum(1 for r in data.all_rows if r.predikat is None),
        font=BOLD_FONT,
        fill=TOTAL_FILL,
        border=BORDER,
        alignment=NUM_ALIGN,
    )
    row += 2
    # Sasaran averages
    put(ws, row, 1, "Rata-rata capaian per sasaran", font=SUBTITLE_FONT)
    row += 1
    for col, text in ((1, "No"), (2, "Sasaran"), (6, "Rata-rata capaian (%)")):
        put(
            ws, row, col, text, font=BOLD_FONT, fill=HEAD_FILL, border=BORDER, alignment=WRAP_CENTER
        )
    ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=5)
    ws.row_dimensions[row].height = 30
    row += 1
    for i, (sasaran, avg) in enumerate(data.sasaran_averages, start=1):
        put(ws, row, 1, i, font=BODY_FONT, border=BORDER, alignment=MID_ALIGN)
        put(ws, row, 2, sasaran, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=5)
        put_number(ws, row, 6, avg, NA, capaian=True)
        row += 1
    row += 1
    put(ws, row, 1, NOTE, font=NOTE_FONT)
    setup_print(
        ws,
        header_row,
        f"A{header_row + 1}",
        f"Rekapitulasi Pengukuran Kinerja — {data.period_label}",
    )


def _write_evidence(ws: Worksheet, data: ReportData) -> None:
    columns = [
        Column("No", 5),
        Column("Seksi / Subbagian", 30, wrap=True),
        Column("Kode", 9),
        Column("Indikator", 50, wrap=True),
        Column("Bukti dukung (nama berkas / tautan)", 60, wrap=True),
    ]
    row = write_heading(
        ws,
        [
            "DAFTAR BUKTI DUKUNG",
            f"{data.office.nama} — {data.period_label}",
        ],
        len(columns),
    )
    header_row = row
    write_header(ws, header_row, columns)
    row += 1
    n = 0
    for section in data.sections:
        for item in section.rows:
            for evidence in item.evidence or ("(belum ada bukti dukung)",):
                n += 1
                put(ws, row, 1, n, font=BODY_FONT, border=BORDER, alignment=MID_ALIGN)
                put(ws, row, 2, section.nama, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
                put(ws, row, 3, item.kode, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
                put(ws, row, 4, item.indikator, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
                cell = put(ws, row, 5, evidence, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
                if re.match(r"https?://\S+$", evidence):
                    cell.hyperlink = evidence
                    cell.font = Font(name="Calibri", size=10, color="0563C1", underline="single")
                fit_row(ws, row, [(section.nama, 30), (item.indikator, 50), (evidence, 60)])
                row += 1
    setup_print(ws, header_row, f"A{header_row + 1}", f"Daftar Bukti Dukung — {data.period_label}")


def _write_history(ws: Worksheet, data: ReportData) -> None:
    columns = [
        Column("No", 5),
        Column(f"Waktu ({tz_abbr(data.tz)})", 17),
        Column("Nama", 30, wrap=True),
        Column("Jabatan", 30, wrap=True),
        Column("Tindakan", 34, wrap=True),
        Column("Catatan", 40, wrap=True),
        Column("Ketepatan waktu", 13),
    ]
    row = write_heading(
        ws,
        [
            "RIWAYAT PROSES PENGUMPULAN DAN PENGUKURAN DATA KINERJA",
            f"{data.office.nama} — {data.period_label}",
        ],
        len(columns),
    )
    header_row = row
    write_header(ws, header_row, columns)
    row += 1
    for i, entry in enumerate(data.history, start=1):
        put(ws, row, 1, i, font=BODY_FONT, border=BORDER, alignment=MID_ALIGN)
        put(
            ws,
            row,
            2,
            local_time(entry.at, data.tz),
            font=BODY_FONT,
            border=BORDER,
            alignment=MID_ALIGN,
        )
        for col, text in (
            (3, entry.actor),
            (4, entry.role_title),
            (5, entry.action),
            (6, entry.note),
        ):
            put(ws, row, col, text, font=BODY_FONT, border=BORDER, alignment=WRAP_TOP)
        late = entry.on_time is False
        put(
            ws,
            row,
            7,
            on_time_label(entry.on_time, entry.late_days),
            border=BORDER,
            alignment=MID_ALIGN,
            font=Font(name="Calibri", size=10, bold=late, color="C00000" if late else None),
        )
        fit_row(
            ws,
            row,
            [(entry.actor, 30), (entry.role_title, 30), (entry.action, 34), (entry.note, 40)],
        )
        row += 1
    setup_print(ws, header_row, f"A{header_row + 1}", f"Riwayat Proses — {data.period_label}")


def _verifier(data: ReportData, section: SectionReport) -> str:
    """Who accepted the sheet; in words when the SOP has no verification step."""
    if section.verified_by:
        return section.verified_by
    return DASH if data.verification_step else NO_VERIFICATION


def build_rekap(data: ReportData) -> bytes:
    """The rekap workbook: Ringkasan, one sheet per section, Bukti, Riwayat."""
    wb = Workbook()
    summary = wb.active
    summary.title = "Ringkasan"
    taken = {"ringkasan", "bukti", "riwayat"}
    _write_summary(summary, data)
    for section in data.sections:
        _write_section(wb.create_sheet(sheet_title(section.kode, taken)), data, section)
    _write_evidence(wb.create_sheet("Bukti"), data)
    _write_history(wb.create_sheet("Riwayat"), data)
    write_value_history(wb, data)
    wb.properties.title = f"Rekap Pengukuran Kinerja {data.period_label} {data.office.nama}"
    wb.properties.creator = "Kinerja Bot"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
