"""The rekap's Riwayat Nilai sheet, opened with openpyxl and read cell by cell."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime

import xlsxwriter
from openpyxl import load_workbook

from reports.data import ReportData, ValueChange
from reports.value_history_sheet import HEADER_ROW, SHEET, write_value_history
from reports.xlsx import build_rekap
from tests.report_fixtures import sample_report_data

HEADERS = [
    "No",
    "Kode",
    "Indikator",
    "Kolom",
    "Nilai lama",
    "Nilai baru",
    "Oleh",
    "Waktu (WITA)",
    "Alasan",
    "Kanal",
]
CHANGES = (
    ValueChange(
        kode="PEM-2",
        indikator="Jumlah desa difasilitasi",
        kolom="Realisasi",
        lama="-",
        baru="7",
        oleh="Budi",
        at=datetime(2026, 10, 5, 2, 10, tzinfo=UTC),
        alasan="",
        kanal="Telegram",
    ),
    ValueChange(
        kode="PEM-2",
        indikator="Jumlah desa difasilitasi",
        kolom="Realisasi",
        lama="7",
        baru="8",
        oleh="Budi",
        at=datetime(2026, 10, 6, 1, 30, tzinfo=UTC),
        alasan='=HYPERLINK("http://x")',  # typed by a person: must stay text
        kanal="WhatsApp",
    ),
)


def data_with_changes() -> ReportData:
    return dataclasses.replace(sample_report_data(), value_changes=CHANGES, tz="Asia/Makassar")


def rows_of(ws) -> list[list[object]]:  # noqa: ANN001
    return [[c.value for c in row] for row in ws.iter_rows(min_row=HEADER_ROW)]


def check_sheet(ws) -> None:  # noqa: ANN001
    rows = rows_of(ws)
    assert ws.cell(1, 1).value == "RIWAYAT NILAI KERTAS KERJA"
    assert rows[0] == HEADERS
    assert rows[1] == [
        1,
        "PEM-2",
        "Jumlah desa difasilitasi",
        "Realisasi",
        "-",
        "7",
        "Budi",
        datetime(2026, 10, 5, 10, 10),  # 02.10 UTC is 10.10 WITA
        None,  # no reason: an empty cell
        "Telegram",
    ]
    assert rows[2] == [
        2,
        "PEM-2",
        "Jumlah desa difasilitasi",
        "Realisasi",
        "7",
        "8",
        "Budi",
        datetime(2026, 10, 6, 9, 30),
        '=HYPERLINK("http://x")',
        "WhatsApp",
    ]
    assert len(rows) == 3
    assert ws.cell(HEADER_ROW + 2, 9).data_type == "s"  # a formula-looking reason stays text
    assert ws.cell(HEADER_ROW + 2, 5).data_type == "s"  # "7" as written, not a number
    assert ws.cell(HEADER_ROW, 1).font.bold


def test_the_rekap_has_the_sheet_with_one_row_per_change():
    wb = load_workbook(io.BytesIO(build_rekap(data_with_changes())))
    assert wb.sheetnames[-1] == SHEET
    check_sheet(wb[SHEET])


def test_the_sheet_is_written_the_same_in_a_bare_constant_memory_workbook():
    buf = io.BytesIO()
    with xlsxwriter.Workbook(buf, {"constant_memory": True}) as wb:
        write_value_history(wb, data_with_changes())
    check_sheet(load_workbook(io.BytesIO(buf.getvalue()))[SHEET])


def test_no_change_yet_says_so():
    wb = load_workbook(io.BytesIO(build_rekap(sample_report_data())))
    rows = rows_of(wb[SHEET])
    assert rows[0][:2] == ["No", "Kode"] and rows[1][:2] == ["-", "Belum ada nilai yang tersimpan."]
