"""The PK workbook: template, reading (tolerant headers, Indonesian numbers, row/column
errors), per-quarter targets, and the import that shares the office file's rules."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import yaml
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from flows.setup.office_file import OfficeFileError, parse_office
from flows.setup.office_import import import_office
from flows.setup.pk_workbook import COLUMNS, GUIDE_SHEET, SHEET, import_pk, read_pk, write_template
from storage.db import Database
from storage.models import Event, Indicator
from tests.conftest import SAMPLE_OFFICE

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
CODE = "kecamatan-sukamaju"
HEADERS = [c.header for c in COLUMNS if c.in_template]


def sample() -> dict[str, Any]:
    return yaml.safe_load(SAMPLE_OFFICE.read_text(encoding="utf-8"))


def sample_rows() -> list[list[Any]]:
    """The sample office's 26 indicators as PK sheet rows."""
    rows = []
    for i in sample()["indikator"]:
        rentang = i.get("rentang") or {}
        rows.append(
            [
                i["kode"], i["seksi"], i["sasaran"], i["nama"], i["satuan"], i["polaritas"],
                i["agregasi"], i["target_tahunan"], *i["target_tw"], rentang.get("bawah"),
                rentang.get("atas"), i.get("sub_kegiatan"),
            ]
        )  # fmt: skip
    return rows


def template() -> Workbook:
    buffer = io.BytesIO()
    write_template(buffer)
    return load_workbook(io.BytesIO(buffer.getvalue()))


def filled(rows: list[list[Any]], *, start: int = 2, wb: Workbook | None = None) -> bytes:
    """The template with ``rows`` typed in (strings starting with "=" typed as text)."""
    wb = wb or template()
    ws = next(w for w in wb.worksheets if w.title.casefold() == SHEET.casefold())
    for r, values in enumerate(rows, start=start):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_errors(data: bytes, **kw: Any) -> list[str]:
    with pytest.raises(OfficeFileError) as info:
        read_pk(data, **kw)
    return info.value.errors


async def import_office_file(db: Database, *, with_indicators: bool) -> None:
    data = sample()
    if not with_indicators:
        del data["indikator"]
    async with db.transaction() as s:
        await import_office(s, parse_office(data), now=NOW)


async def indicators(db: Database) -> dict[str, Indicator]:
    async with db.transaction() as s:
        return {i.kode: i for i in await s.scalars(select(Indicator))}


# --- the template ------------------------------------------------------------------------------


def test_template_layout() -> None:
    wb = template()
    assert wb.sheetnames == [SHEET, GUIDE_SHEET]
    ws = wb[SHEET]
    assert [c.value for c in ws[1]] == [
        "Kode", "Seksi", "Sasaran", "Indikator", "Satuan", "Polaritas", "Agregasi",
        "Target Tahunan", "Target TW I", "Target TW II", "Target TW III", "Target TW IV",
        "Rentang Bawah", "Rentang Atas", "Sub Kegiatan", "Wajib Bukti",
    ]  # fmt: skip
    assert ws.max_row == 1  # no example row in PK
    assert ws.freeze_panes == "A2"
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in ws.data_validations.dataValidation}
    assert lists == {
        "F2": '"positif,negatif,stabil"',
        "G2": '"kumulatif,terakhir,rata-rata,rasio"',
        "P2": '"ya,tidak"',
    }
    guide = wb[GUIDE_SHEET]
    texts = [str(c.value) for row in guide.iter_rows() for c in row if c.value is not None]
    for header in HEADERS:
        assert header in texts
    assert "PEM-2" in texts  # the example row
    assert any("makin tinggi makin baik" in t for t in texts)
    assert any("s.d." in t for t in texts)


def test_blank_template_reads_as_no_rows() -> None:
    assert read_errors(filled([])) == ["lembar PK: belum ada baris indikator yang diisi"]


# --- round trip --------------------------------------------------------------------------------


async def test_round_trip_matches_the_office_file(db: Database) -> None:
    await import_office_file(db, with_indicators=True)
    from_yaml = await indicators(db)
    rows = read_pk(filled(sample_rows()))
    assert len(rows) == 26
    assert rows[0]["baris"] == 2 and rows[0]["kode"] == "PEM-1"
    assert rows[12]["target_tw"] == [None, Decimal(40), Decimal(40), Decimal(40)]
    async with db.transaction() as s:
        report = await import_pk(s, CODE, rows, now=NOW)
    # the sheet says exactly what the file said: nothing changes
    assert (report.indicators.created, report.indicators.updated) == (0, 0)
    assert report.indicators.unchanged == 26
    after = await indicators(db)
    for kode, before in from_yaml.items():
        row = after[kode]
        for attr in (
            "section_id", "nama", "satuan", "polarity", "aggregation", "target_tahunan",
            "target_tw1", "target_tw2", "target_tw3", "target_tw4", "range_lo", "range_hi",
            "sub_kegiatan", "position",
        ):  # fmt: skip
            assert getattr(row, attr) == getattr(before, attr), (kode, attr)


async def test_pk_creates_indicators_for_an_office_without_them(db: Database) -> None:
    await import_office_file(db, with_indicators=False)
    assert await indicators(db) == {}
    rows = sample_rows()
    rows[1][7] = "12"  # text
    rows[3][8] = "2,5"  # Indonesian decimal
    rows[1][0] = "  PEM-2 "
    async with db.transaction() as s:
        report = await import_pk(s, CODE, read_pk(filled(rows)), now=NOW)
        event = await s.scalar(select(Event).where(Event.action == "pk.impor"))
        assert event is not None
    assert report.indicators.created == 26
    assert "Perjanjian Kinerja Kecamatan Sukamaju (kecamatan-sukamaju) berhasil diimpor." in (
        report.summary()
    )
    saved = await indicators(db)
    assert saved["PEM-2"].target_tahunan == Decimal(12)
    assert saved["PEM-4"].target_tw1 == Decimal("2.5")
    assert saved["PK-2"].range_lo == Decimal(90)
    assert saved["PEM-1"].sub_kegiatan == "7.01.02.2.02.0003"


async def test_reimport_updates_in_place_and_keeps_columns_it_lacks(db: Database) -> None:
    data = sample()
    data["indikator"][0]["pembilang"] = "Jumlah layanan selesai sesuai SOP"
    async with db.transaction() as s:
        await import_office(s, parse_office(data), now=NOW)
    rows = sample_rows()
    rows[1][3] = "Jumlah desa yang dibina"
    rows[1][7], rows[1][8:12] = 16, [4, 8, 12, 16]
    async with db.transaction() as s:
        report = await import_pk(s, CODE, read_pk(filled(rows)), now=NOW)
    assert (report.indicators.updated, report.indicators.created) == (1, 0)
    saved = await indicators(db)
    assert len(saved) == 26
    assert saved["PEM-2"].nama == "Jumlah desa yang dibina"
    assert saved["PEM-2"].target_tw2 == Decimal(8)
    assert saved["PEM-1"].label_pembilang == "Jumlah layanan selesai sesuai SOP"


async def test_rows_missing_from_the_sheet_are_deactivated(db: Database) -> None:
    await import_office_file(db, with_indicators=True)
    rows = read_pk(filled(sample_rows()[:20]))
    async with db.transaction() as s:
        partial = await import_pk(s, CODE, rows, now=NOW, deactivate_missing=False)
    assert partial.indicators.deactivated == 0
    async with db.transaction() as s:
        report = await import_pk(s, CODE, rows, now=NOW)
    assert report.indicators.deactivated == 6
    saved = await indicators(db)
    assert len(saved) == 26 and sum(i.active for i in saved.values()) == 20


# --- reading: tolerance ------------------------------------------------------------------------


def test_headers_are_matched_loosely_below_a_title() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "pk"
    ws["A1"] = "PERJANJIAN KINERJA KECAMATAN SUKAMAJU 2026"
    messy = [f"  {h.upper()}  " if i % 2 else h.lower().replace(" ", "   ") for i, h in
             enumerate(HEADERS)]  # fmt: skip
    messy[8:12] = ["Target TW 1", "target triwulan II", "Target s.d. TW III", "TARGET TW IV"]
    for c, header in enumerate(messy, start=1):
        ws.cell(row=3, column=c, value=header)
    ws.cell(row=3, column=16, value="Catatan")  # extra column, ignored
    data = filled(sample_rows()[:2], start=4, wb=wb)
    rows = read_pk(data)
    assert [r["baris"] for r in rows] == [4, 5]
    assert rows[1]["target_tw"] == [Decimal(3), Decimal(6), Decimal(9), Decimal(12)]


def test_numbers_as_text_empty_cells_and_percent_cells() -> None:
    rows = sample_rows()[:1]
    rows[0][7:12] = ["1.234,5", None, "1.000", " 95 ", "95%"]
    wb = template()
    data = filled(rows, wb=wb)
    wb2 = load_workbook(io.BytesIO(data))
    wb2[SHEET]["I2"] = 0.955
    wb2[SHEET]["I2"].number_format = "0.0%"
    out = io.BytesIO()
    wb2.save(out)
    (row,) = read_pk(out.getvalue())
    assert row["target_tahunan"] == Decimal("1234.5")
    assert row["target_tw"] == [Decimal("95.5"), Decimal(1000), Decimal(95), Decimal(95)]


def test_text_starting_with_equals_stays_text() -> None:
    rows = sample_rows()[:1]
    rows[0][3] = "=Persentase layanan"
    rows[0][2] = '=HYPERLINK("http://x")'
    (row,) = read_pk(filled(rows))
    assert row["nama"] == "=Persentase layanan"
    assert row["sasaran"] == '=HYPERLINK("http://x")'


def test_a_formula_in_a_number_column_is_not_evaluated() -> None:
    wb = template()
    data = filled(sample_rows()[:1], wb=wb)
    wb2 = load_workbook(io.BytesIO(data))
    wb2[SHEET]["H2"] = "=SUM(I2:L2)"  # a real formula, no saved result (openpyxl computes none)
    out = io.BytesIO()
    wb2.save(out)
    assert read_errors(out.getvalue()) == [
        'baris 2, kolom "Target Tahunan": "=SUM(I2:L2)" bukan angka (tulis misalnya 12 atau 87,5)'
    ]


# --- reading: errors name the row and the column -----------------------------------------------


def test_errors_name_row_and_column() -> None:
    rows = sample_rows()[:6]
    rows[1][5] = "naik"  # row 3
    rows[2][9] = "abc"  # row 4, Target TW II
    rows[3][0] = "PEM-1"  # row 5, duplicate kode
    rows[4][4] = None  # row 6, Satuan
    rows[5][12] = 5  # row 7, range without an upper bound
    errors = read_errors(filled(rows))
    assert errors == [
        'baris 3, kolom "Polaritas": "naik" tidak dikenal (pilih: positif, negatif, stabil)',
        'baris 4, kolom "Target TW II": "abc" bukan angka (tulis misalnya 12 atau 87,5)',
        'baris 5, kolom "Kode": "PEM-1" ganda (sama dengan baris 2)',
        'baris 6, kolom "Satuan": wajib diisi',
        'baris 7, kolom "Rentang Bawah": rentang harus berisi bawah dan atas sekaligus',
    ]


def test_missing_and_duplicated_columns() -> None:
    wb = template()
    wb[SHEET]["G1"] = None  # Agregasi gone
    wb[SHEET]["P1"] = "kode"
    errors = read_errors(filled(sample_rows()[:1], wb=wb))
    assert errors == [
        'baris 1: kolom "Kode" ada lebih dari sekali',
        'baris 1: kolom "Agregasi" tidak ditemukan',
    ]


def test_sheet_without_header_row() -> None:
    wb = template()
    wb[SHEET]["A1"] = "Nomor"
    assert read_errors(filled(sample_rows()[:1], wb=wb)) == [
        'lembar PK: baris judul kolom tidak ditemukan (harus ada kolom "Kode" dan "Indikator")'
    ]


def test_unreadable_file_and_missing_sheet() -> None:
    assert read_errors(b"bukan excel") == ["berkas: berkas tidak dapat dibuka (lampiran)"]
    wb = Workbook()
    wb.create_sheet("Lain")
    out = io.BytesIO()
    wb.save(out)
    assert read_errors(out.getvalue()) == ['berkas: lembar "PK" tidak ditemukan']


def test_cumulative_targets_per_quarter_need_the_option() -> None:
    rows = sample_rows()[1:2]  # PEM-2, kumulatif, 12 a year
    rows[0][8:12] = [3, 3, 3, 3]
    (error,) = read_errors(filled(rows))
    assert error.startswith('baris 2, kolom "Target TW IV": target s.d. TW IV (3) harus sama')
    assert "atau impor dengan pilihan per triwulan" in error


def test_per_quarter_targets_become_sd_tw_for_cumulative_only() -> None:
    rows = sample_rows()
    expected = {r[0]: [None if v is None else Decimal(v) for v in r[8:12]] for r in rows}
    for row in rows:  # write each kumulatif row's own quarter targets
        if row[6] == "kumulatif":
            sd = row[8:12]
            row[8:12] = [sd[0], *(b - a for a, b in zip(sd, sd[1:], strict=False))]
    by_kode = {r[0]: r for r in rows}
    assert by_kode["PEM-2"][8:12] == [3, 3, 3, 3]
    assert by_kode["TRA-4"][8:12] == [1, 2, 2, 1]
    by_kode["PEM-3"][8:12] = [None, 2, None, 2]  # measured in TW II and TW IV only
    by_kode["EKB-1"][8:12] = ["10", "10", "10,0", "10"]
    result = {r["kode"]: r["target_tw"] for r in read_pk(filled(rows), per_quarter=True)}
    d = Decimal
    assert result["PEM-3"] == [None, d(2), None, d(4)]
    del result["PEM-3"], expected["PEM-3"]
    assert result == expected  # kumulatif summed back; terakhir / rata-rata / rasio unchanged
    assert result["PEM-2"] == [d(3), d(6), d(9), d(12)]
    assert result["PK-2"] == [d(20), d(45), d(70), d(95)]


# --- importing: errors -------------------------------------------------------------------------


async def test_unknown_section_is_reported_and_nothing_changes(db: Database) -> None:
    await import_office_file(db, with_indicators=True)
    rows = sample_rows()
    rows[2][1] = "XYZ"
    rows[2][3] = "Nama baru"
    parsed = read_pk(filled(rows))
    with pytest.raises(OfficeFileError) as info:
        async with db.transaction() as s:
            await import_pk(s, CODE, parsed, now=NOW)
    assert info.value.errors == [
        'baris 4, kolom "Seksi": "XYZ" tidak dikenal (pilih: EKB, KES, PEM, PK, PMD, TRA, UMP)'
    ]
    saved = await indicators(db)
    assert saved["PEM-3"].nama != "Nama baru"
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Indicator)) == 26


async def test_section_by_name_and_unknown_office(db: Database) -> None:
    await import_office_file(db, with_indicators=False)
    rows = sample_rows()[:1]
    rows[0][1] = "seksi pemerintahan"
    parsed = read_pk(filled(rows))
    async with db.transaction() as s:
        await import_pk(s, CODE, parsed, now=NOW)
        with pytest.raises(OfficeFileError) as info:
            await import_pk(s, "kantor-lain", parsed, now=NOW)
    assert info.value.errors == [
        'kantor "kantor-lain" tidak ditemukan; impor berkas kantornya dulu'
    ]
    saved = await indicators(db)
    assert saved["PEM-1"].section_id is not None


async def test_optional_extra_columns(db: Database) -> None:
    await import_office_file(db, with_indicators=False)
    wb = template()
    ws = wb[SHEET]
    for column, header in ((16, "Invers"), (17, "Label Pembilang"), (18, "label  penyebut")):
        ws.cell(row=1, column=column, value=header)
    rows = sample_rows()[:4]
    rows[0] += [None, "Layanan selesai sesuai SOP", "Layanan masuk"]
    rows[3] += ["ya", None, None]
    parsed = read_pk(filled(rows, wb=wb))
    assert parsed[3]["invers"] is True and parsed[0]["pembilang"] == "Layanan selesai sesuai SOP"
    async with db.transaction() as s:
        await import_pk(s, CODE, parsed, now=NOW)
    saved = await indicators(db)
    assert saved["PEM-4"].inverse and not saved["PEM-1"].inverse
    assert (saved["PEM-1"].label_pembilang, saved["PEM-1"].label_penyebut) == (
        "Layanan selesai sesuai SOP",
        "Layanan masuk",
    )
    rows[3][15] = "mungkin"
    assert read_errors(filled(rows, wb=wb)) == [
        'baris 5, kolom "Invers": "mungkin" harus true (ya) atau false (tidak)'
    ]


async def test_wajib_bukti_column_marks_indicators_and_a_sheet_without_it_keeps_them(
    db: Database,
) -> None:
    await import_office_file(db, with_indicators=False)
    rows = sample_rows()[:4]
    rows[1] += ["ya"]
    rows[2] += ["Tidak"]
    parsed = read_pk(filled(rows))
    assert [r["wajib_bukti"] for r in parsed] == [False, True, False, False]
    async with db.transaction() as s:
        await import_pk(s, CODE, parsed, now=NOW)
    saved = await indicators(db)
    kode = [r["kode"] for r in parsed]
    assert [saved[k].requires_evidence for k in kode] == [False, True, False, False]

    wb = template()
    wb[SHEET].delete_cols(16)  # an older sheet without the column: stored flags stay
    older = read_pk(filled([r[:15] for r in rows], wb=wb))
    assert all("wajib_bukti" not in r for r in older)
    async with db.transaction() as s:
        await import_pk(s, CODE, older, now=NOW)
    assert (await indicators(db))[kode[1]].requires_evidence is True

    rows[1][15] = "mungkin"
    errors = read_errors(filled(rows))
    assert len(errors) == 1 and "Wajib Bukti" in errors[0] and "mungkin" in errors[0]
