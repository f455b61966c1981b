"""The rekap workbook: structure, every number, print setup, and formula-safe text."""

from __future__ import annotations

import dataclasses
import io
import re
import tempfile
import zipfile
from decimal import ROUND_HALF_UP, Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from reports.data import IndicatorRow, ReportData, SectionReport, file_name
from reports.xlsx import build_rekap, sheet_title
from tests.report_fixtures import HYPERLINK_TEXT, sample_report_data

HEADER_ROW = 5  # three heading lines, a blank row, then the column headings


@pytest.fixture(scope="module")
def data() -> ReportData:
    return sample_report_data("TW")


@pytest.fixture(scope="module")
def rekap(data: ReportData) -> bytes:
    return build_rekap(data)


@pytest.fixture(scope="module")
def wb(rekap: bytes) -> Workbook:
    return load_workbook(io.BytesIO(rekap))


def cap2(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def assert_exact(cell_value: object, expected: Decimal | None) -> None:
    if expected is None:
        assert cell_value == "–"
    else:
        assert isinstance(cell_value, int | float)
        assert cell_value == pytest.approx(float(expected), rel=1e-12, abs=0)


def assert_capaian(cell_value: object, expected: Decimal | None) -> None:
    if expected is None:
        assert cell_value == "–"
    else:
        assert isinstance(cell_value, int | float)
        assert Decimal(str(cell_value)) == cap2(expected)


def indicator_rows(ws, section: SectionReport) -> dict[str, tuple]:
    """Sheet rows keyed by indicator text (column B), only rows with a number in column A."""
    found = {}
    for values in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True):
        if isinstance(values[0], int):
            found[values[1]] = values
    assert len(found) == len(section.rows)
    return found


def test_sheets_and_file_names(wb: Workbook, data: ReportData) -> None:
    assert wb.sheetnames == [
        "Ringkasan",
        "PEM",
        "TRA",
        "KES",
        "EKB",
        "PMD",
        "UMP",
        "PK",
        "Bukti",
        "Riwayat",
        "Riwayat Nilai",
    ]
    assert file_name("Rekap", data) == "Rekap_Kinerja_TW_III_2026_Kecamatan_Sukamaju.xlsx"
    assert file_name("Laporan", data) == "Laporan_Kinerja_TW_III_2026_Kecamatan_Sukamaju.pdf"
    odd = dataclasses.replace(
        data,
        period_slug="TW III/2026",
        office=dataclasses.replace(data.office, nama="Kecamatan Sukamaju (Kota) Émile"),
    )
    name = file_name("Rekap", odd)
    assert name == "Rekap_Kinerja_TW_III_2026_Kecamatan_Sukamaju_Kota_Emile.xlsx"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)


def test_summary_sheet(wb: Workbook, data: ReportData) -> None:
    ws = wb["Ringkasan"]
    assert ws["A1"].value == "REKAPITULASI PENGUKURAN KINERJA"
    assert "KECAMATAN SUKAMAJU" in ws["A2"].value
    assert ws["A3"].value == "Triwulan III 2026"
    header = [c.value for c in ws[HEADER_ROW]]
    assert header[:7] == [
        "No",
        "Kode",
        "Seksi / Subbagian",
        "Kepala",
        "Jumlah indikator",
        "Rata-rata capaian (%)",
        "Predikat",
    ]
    assert header[7:12] == list(data.predikat_levels)
    assert header[13:] == [
        "Dikirim pada (WIB)",
        "Dikirim oleh",
        "Diverifikasi oleh",
        "Diverifikasi pada (WIB)",
    ]
    for i, section in enumerate(data.sections):
        row = [c.value for c in ws[HEADER_ROW + 1 + i]]
        assert row[1] == section.kode and row[2] == section.nama
        assert row[4] == len(section.rows)
        assert_capaian(row[5], section.average_capaian)
        assert row[6] == section.predikat
        assert row[7:12] == [section.predikat_counts[lvl] for lvl in data.predikat_levels]
        assert row[13] == section.submitted_at.replace(tzinfo=None)  # fixture times are WIB
        assert row[14] == section.submitted_by and row[15] == section.verified_by
    total = [c.value for c in ws[HEADER_ROW + 1 + len(data.sections)]]
    assert total[4] == 26
    assert_capaian(total[5], data.office_average)
    assert total[6] == data.office_predikat
    # Sasaran averages follow the total row.
    values = list(ws.iter_rows(values_only=True))
    for sasaran, average in data.sasaran_averages:
        row = next(r for r in values if r[1] == sasaran)
        assert_capaian(row[5], average)


def test_section_sheets_every_number(wb: Workbook, data: ReportData) -> None:
    for section in data.sections:
        ws = wb[section.kode]
        assert ws["A1"].value == "FORMULIR PENGUKURAN KINERJA TRIWULAN III 2026"
        assert section.nama in ws["A2"].value
        header = [c.value for c in ws[HEADER_ROW]]
        assert header == [
            "No",
            "Sasaran / Indikator",
            "Satuan",
            "Target tahunan",
            "Target s.d. TW III",
            "Realisasi TW III",
            "Realisasi s.d. TW III",
            "Capaian s.d. TW III (%)",
            "Capaian thd target tahunan (%)",
            "Predikat",
            "Kendala",
            "Upaya / tindak lanjut",
            "Penanggung jawab",
        ]
        rows = indicator_rows(ws, section)
        for item in section.rows:
            got = rows[item.indikator]
            assert got[0] == item.no and got[2] == item.satuan
            assert_exact(got[3], item.target_tahunan)
            assert_exact(got[4], item.target_sd)
            assert_exact(got[5], item.realisasi_tw)
            assert_exact(got[6], item.realisasi_sd)
            assert_capaian(got[7], item.capaian_sd)
            assert_capaian(got[8], item.capaian_tahunan)
            assert got[9] == (item.predikat or "–")
            assert (got[10] or "") == item.kendala and (got[11] or "") == item.upaya
            assert got[12] == item.penanggung_jawab


def test_grouped_by_sasaran(wb: Workbook, data: ReportData) -> None:
    ws = wb["PEM"]
    col_b = [r[1] for r in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True)]
    sasaran_rows = [v for v in col_b if isinstance(v, str) and v.startswith("Sasaran: ")]
    expected = list(dict.fromkeys(r.sasaran for r in data.sections[0].rows))
    assert sasaran_rows == [f"Sasaran: {s}" for s in expected]
    # Each indicator sits below its own sasaran row.
    current = None
    for values in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True):
        if isinstance(values[1], str) and values[1].startswith("Sasaran: "):
            current = values[1].removeprefix("Sasaran: ")
        elif isinstance(values[0], int):
            row = next(r for r in data.sections[0].rows if r.indikator == values[1])
            assert row.sasaran == current


def test_number_formats_and_fills(wb: Workbook, data: ReportData) -> None:
    ws = wb["PEM"]
    row = next(r for r in ws.iter_rows(min_row=HEADER_ROW + 1) if r[0].value == 1)
    assert row[7].number_format == "#,##0.00"
    assert row[3].number_format == "#,##0"
    realisasi = next(r for r in ws.iter_rows(min_row=HEADER_ROW + 1) if r[5].value == 2.9)
    assert realisasi[5].number_format == "#,##0.0"
    pred = row[9]
    assert pred.value == "Sangat Tinggi" and pred.fill.fgColor.rgb.endswith("63BE7B")
    tra = wb["TRA"]
    low = next(r for r in tra.iter_rows(min_row=HEADER_ROW + 1) if r[9].value == "Sangat Rendah")
    assert low[9].fill.fgColor.rgb.endswith("F8696B")


def test_print_setup_and_frozen_heading(wb: Workbook) -> None:
    for ws in wb.worksheets:
        assert ws.freeze_panes == f"A{HEADER_ROW + 1}" or ws.title in ("Bukti", "Riwayat")
        assert ws.page_setup.orientation == "landscape"
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert int(ws.page_setup.fitToWidth or 1) == 1  # left out: the file format's default, 1
        assert int(ws.page_setup.fitToHeight) == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert ws.print_title_rows
        frozen_row = int(re.sub(r"\D", "", ws.freeze_panes))
        title_row = int(ws.print_title_rows.split(":")[0].strip("$"))
        assert frozen_row == title_row + 1
        assert ws.cell(title_row, 1).value == "No"
        assert "Halaman &P dari &N" in ws.oddFooter.center.text
    pem = wb["PEM"]
    assert pem.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert pem.column_dimensions["B"].width >= 40


def test_user_text_never_becomes_a_formula(wb: Workbook, rekap: bytes) -> None:
    ws = wb["PMD"]
    cells = [c for row in ws.iter_rows() for c in row if c.value == HYPERLINK_TEXT]
    assert len(cells) == 1
    assert cells[0].data_type == "s"
    for text in ("+2 kegiatan", "- Menjadwalkan", "@Kasi PMD"):
        hits = [
            c
            for s in wb.worksheets
            for row in s.iter_rows()
            for c in row
            if isinstance(c.value, str) and c.value.startswith(text)
        ]
        assert hits and all(c.data_type == "s" for c in hits)
    with zipfile.ZipFile(io.BytesIO(rekap)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        xml = {n: z.read(n).decode() for n in sheets}
    assert not any("<f>" in x or "<f " in x for x in xml.values())
    holder = [x for x in xml.values() if "HYPERLINK" in x]
    assert len(holder) == 1
    cell_xml = re.search(r"<c [^>]*>(?:(?!</c>).)*HYPERLINK(?:(?!</c>).)*</c>", holder[0]).group(0)
    assert 't="inlineStr"' in cell_xml or 't="s"' in cell_xml
    assert "<f" not in cell_xml


def test_illegal_characters_and_long_text_do_not_break(data: ReportData) -> None:
    section = data.sections[0]
    bad = dataclasses.replace(
        section.rows[0], kendala="bel\x07um\x00 " + "x" * 40_000, upaya="=1+1"
    )
    odd = dataclasses.replace(data, sections=(dataclasses.replace(section, rows=(bad,)),))
    wb = load_workbook(io.BytesIO(build_rekap(odd)))
    ws = wb[section.kode]
    row = next(r for r in ws.iter_rows(min_row=HEADER_ROW + 1) if r[0].value == bad.no)
    assert row[10].value.startswith("belum ") and len(row[10].value) == 32_767
    assert row[11].value == "=1+1" and row[11].data_type == "s"


def test_evidence_sheet(wb: Workbook, data: ReportData) -> None:
    ws = wb["Bukti"]
    assert ws["A1"].value == "DAFTAR BUKTI DUKUNG"
    values = list(ws.iter_rows(min_row=5, values_only=True))
    listed = [v[4] for v in values if v[4]]
    for item in data.all_rows:
        for evidence in item.evidence:
            assert evidence in listed
    assert sum(1 for v in listed if v == "(belum ada bukti dukung)") == sum(
        1 for r in data.all_rows if not r.evidence
    )
    link = next(
        c
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("https://")
    )
    assert link.hyperlink is not None and link.hyperlink.target == link.value


def test_a_link_excel_cannot_take_stays_text(data: ReportData) -> None:
    section = data.sections[0]
    long_url = "https://drive.example.go.id/" + "a" * 3_000
    item = dataclasses.replace(section.rows[0], evidence=(long_url,))
    odd = dataclasses.replace(data, sections=(dataclasses.replace(section, rows=(item,)),))
    ws = load_workbook(io.BytesIO(build_rekap(odd)))["Bukti"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == long_url)
    assert cell.hyperlink is None and cell.data_type == "s" and cell.font.u == "single"


def test_no_temp_file_is_left_behind(
    data: ReportData, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    build_rekap(data)
    assert list(tmp_path.iterdir()) == []


def test_history_sheet(wb: Workbook, data: ReportData) -> None:
    ws = wb["Riwayat"]
    header = [c.value for c in ws[4]]
    assert header == [
        "No",
        "Waktu (WIB)",
        "Nama",
        "Jabatan",
        "Tindakan",
        "Catatan",
        "Ketepatan waktu",
    ]
    rows = [r for r in ws.iter_rows(min_row=5, values_only=True) if r[0] is not None]
    assert len(rows) == len(data.history)
    for got, entry in zip(rows, data.history, strict=True):
        assert got[1] == entry.at.replace(tzinfo=None)
        assert got[2] == entry.actor and got[4] == entry.action
        assert got[6] == {True: "Tepat waktu", False: "Terlambat", None: "–"}[entry.on_time]
    assert ws.cell(5, 2).number_format == "dd/mm/yyyy hh:mm"


def test_annual_trend_columns() -> None:
    data = sample_report_data("TAHUN")
    wb = load_workbook(io.BytesIO(build_rekap(data)))
    ws = wb["PEM"]
    header = [c.value for c in ws[HEADER_ROW]]
    assert header[9:13] == [f"Capaian {q} (%)" for q in data.quarter_labels]
    assert header[13] == "Predikat"
    rows = indicator_rows(ws, data.sections[0])
    for item in data.sections[0].rows:
        got = rows[item.indikator]
        for i, value in enumerate(item.trend):
            assert_capaian(got[9 + i], value)
        assert got[13] == (item.predikat or "–")


def test_sheet_titles_are_safe_and_unique() -> None:
    taken = {"ringkasan", "bukti", "riwayat"}
    assert sheet_title("Bukti", taken) == "Bukti_2"
    long = sheet_title("A/B:C*D?E[F]G" + "x" * 40, taken)
    assert len(long) <= 31 and not re.search(r"[\[\]:*?/\\]", long)
    again = sheet_title("A/B:C*D?E[F]G" + "x" * 40, taken)
    assert again != long and len(again) <= 31


def test_empty_section_and_missing_times(data: ReportData) -> None:
    empty = SectionReport(
        kode="KOSONG",
        nama="Seksi Kosong",
        kepala_nama="-",
        rows=(),
        average_capaian=None,
        predikat_counts={},
        submitted_at=None,
        submitted_by=None,
        verified_by=None,
        verified_at=None,
    )
    odd = dataclasses.replace(data, sections=(*data.sections, empty), history=())
    wb = load_workbook(io.BytesIO(build_rekap(odd)))
    assert "KOSONG" in wb.sheetnames
    row = next(r for r in wb["Ringkasan"].iter_rows(values_only=True) if r[1] == "KOSONG")
    assert row[5] == "–" and row[13] == "–"


def test_row_type_is_picklable_dataclass() -> None:
    import pickle

    data = sample_report_data("TW")
    assert pickle.loads(pickle.dumps(data)) == data
    assert isinstance(data.sections[0].rows[0], IndicatorRow)


@pytest.mark.parametrize(
    ("label", "kind", "short"),
    [
        ("Triwulan III 2026", "TW", "TW III"),
        ("Semester I 2026", "SEMESTER", "Semester I"),
        ("Tahun 2026", "TAHUN", "Tahun 2026"),
    ],
)
def test_period_short_is_derived_from_the_label(
    data: ReportData, label: str, kind: str, short: str
) -> None:
    odd = dataclasses.replace(data, period_label=label, period_kind=kind, period_short="")
    assert odd.short == short
    header = [c.value for c in load_workbook(io.BytesIO(build_rekap(odd)))["PEM"][HEADER_ROW]]
    assert f"Realisasi s.d. {short}" in header
