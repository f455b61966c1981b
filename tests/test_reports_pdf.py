"""The laporan PDF: chapters, Indonesian numbers, signature, Bab IV, page numbers, async path.

WeasyPrint is slow (seconds per laporan), so the full sample is rendered once per session;
the async test renders a one-indicator laporan.
"""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from pypdf import PdfReader

from reports._fmt import fmt_capaian, fmt_date, fmt_datetime, fmt_nip, fmt_number
from reports.chart import Bar, bar_chart_svg
from reports.data import ReportData
from reports.pdf import (
    make_render_executor,
    render_laporan_html,
    render_laporan_pdf,
    render_laporan_pdf_async,
)
from tests.report_fixtures import HYPERLINK_TEXT, sample_report_data

CHAPTERS = [
    "KATA PENGANTAR",
    "DAFTAR ISI",
    "BAB I PENDAHULUAN",
    "BAB II PERJANJIAN KINERJA DAN RENCANA AKSI",
    "BAB III PENGUKURAN KINERJA",
    "BAB IV KENDALA DAN UPAYA",
    "BAB V PENUTUP",
    "LAMPIRAN 1 FORMULIR PENGUKURAN KINERJA",
    "LAMPIRAN 2 RENCANA AKSI DAN BUKTI DUKUNG",
    "LAMPIRAN 3 RIWAYAT PERSETUJUAN",
]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def has(haystack: str, needle: str) -> bool:
    """Substring test that ignores whitespace (PDF text breaks lines after "-" and "/")."""
    return re.sub(r"\s+", "", needle) in re.sub(r"\s+", "", haystack)


def comma2(x: Decimal) -> str:
    """Independent check of the expected text: 97.8947… → "97,89"."""
    return str(x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)).replace(".", ",")


@pytest.fixture(scope="session")
def data() -> ReportData:
    return sample_report_data("TW")


@pytest.fixture(scope="session")
def pdf(data: ReportData) -> bytes:
    return render_laporan_pdf(data)


@pytest.fixture(scope="session")
def pages(pdf: bytes) -> list[str]:
    return [flat(p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="session")
def text(pages: list[str]) -> str:
    return " ".join(pages)


def page_of(pages: list[str], heading: str, start: int = 3) -> int:
    """Index of the first page (after the table of contents) that holds ``heading``."""
    return next(i for i, p in enumerate(pages) if i >= start and heading in p)


@pytest.mark.pdf
def test_is_a_pdf_with_chapters_in_order(pdf: bytes, pages: list[str]) -> None:
    assert pdf.startswith(b"%PDF")
    assert len(pages) >= len(CHAPTERS) + 1  # cover + chapters
    cover = pages[0]
    assert "PEMERINTAH KABUPATEN CONTOH" in cover
    assert "LAPORAN PENGUKURAN KINERJA TRIWULAN III 2026" in cover
    assert "KECAMATAN SUKAMAJU" in cover and "TAHUN 2026" in cover
    starts = [page_of(pages, h, start=1 if h in CHAPTERS[:2] else 3) for h in CHAPTERS]
    assert starts == sorted(starts)
    toc = pages[starts[1]]
    for heading in CHAPTERS:
        assert heading in toc


@pytest.mark.pdf
def test_page_numbers(pages: list[str]) -> None:
    n = len(pages)
    assert "Halaman" not in pages[0]  # no number on the cover
    for i in range(1, n):
        assert f"Halaman {i + 1} dari {n}" in pages[i]


@pytest.mark.pdf
def test_dasar_hukum_and_prose(text: str) -> None:
    assert "Peraturan Presiden Nomor 29 Tahun 2014" in text
    assert "Nomor 53 Tahun 2014" in text
    assert "Maksud dan Tujuan" in text


@pytest.mark.pdf
def test_numbers_are_written_the_indonesian_way(data: ReportData, text: str) -> None:
    assert "97,89" in text  # PEM-1: T 95, R 93
    assert comma2(data.office_average) + "%" in text
    for section in data.sections:
        assert comma2(section.average_capaian) in text
    assert "91,67" in text and "2,9" in text
    assert not re.search(r"\b97\.89\b", text)


@pytest.mark.pdf
def test_analysis_per_sasaran(data: ReportData, pages: list[str]) -> None:
    start = page_of(pages, "3.4 Analisis Capaian per Sasaran", start=4)
    analysis = " ".join(pages[start : start + 3])
    for sasaran, average in data.sasaran_averages:
        assert f"Sasaran “{sasaran}”" in analysis
        assert f"sebesar {comma2(average)}%" in analysis
    assert "Capaian tertinggi" in analysis and "capaian terendah" in analysis


@pytest.mark.pdf
def test_signature_block(data: ReportData, pages: list[str]) -> None:
    foreword = pages[page_of(pages, "KATA PENGANTAR", start=1)]
    closing = pages[page_of(pages, "BAB V PENUTUP")]
    for page in (foreword, closing):
        assert "Sukamaju, 13 Oktober 2026" in page
        assert "CAMAT SUKAMAJU" in page
        assert "Drs. H. Ahmad Fauzi, M.Si" in page
        assert "Pembina Tingkat I (IV/b)" in page
        assert "NIP. 19720315 199303 1 004" in page
        assert (
            page.index("CAMAT SUKAMAJU")
            < page.index("Drs. H. Ahmad Fauzi")
            < page.index("NIP. 19720315")
        )


@pytest.mark.pdf
def test_bab_iv_lists_every_low_indicator(data: ReportData, pages: list[str]) -> None:
    start = page_of(pages, "BAB IV KENDALA DAN UPAYA")
    end = page_of(pages, "BAB V PENUTUP")
    bab4 = " ".join(pages[start:end])
    low = [r for r in data.all_rows if r.predikat in data.low_predikat]
    assert {r.predikat for r in low} == {"Sedang", "Rendah", "Sangat Rendah"}
    assert f"terdapat {len(low)} indikator" in bab4
    for row in low:  # by kode: the indicator's full row is in Lampiran 1
        assert has(bab4, row.kode)
        assert has(bab4, row.kendala)
        assert has(bab4, row.upaya)
        assert not has(bab4, row.indikator)
    high = [r for r in data.all_rows if r.predikat == "Sangat Tinggi" and r.kendala]
    assert high and not any(has(bab4, r.kendala) for r in high)


@pytest.mark.pdf
def test_each_indicator_is_printed_once(data: ReportData, pages: list[str]) -> None:
    """Its full row is in Lampiran 1; the chapters refer to it by kode or count it (the
    analysis of 3.4 may name the best and the worst of a sasaran in its prose)."""
    squeezed = [re.sub(r"\s+", "", p) for p in pages]
    analysis = page_of(pages, "3.4 Analisis Capaian per Sasaran", start=4)
    bab4 = page_of(pages, "BAB IV KENDALA DAN UPAYA")
    lampiran = page_of(pages, "LAMPIRAN 1 FORMULIR PENGUKURAN KINERJA")
    before = "".join(squeezed[:analysis]) + "".join(squeezed[bab4:lampiran])
    appendix = "".join(squeezed[lampiran:])
    for row in data.all_rows:
        name = re.sub(r"\s+", "", row.indikator)
        assert name not in before, row.kode
        assert appendix.count(name) == 1, row.kode
    chapters = " ".join(pages[:lampiran])
    for level in data.predikat_levels:  # Tabel 3.2 counts them per section instead
        assert level in chapters
    low = [r for r in data.all_rows if r.predikat in data.low_predikat]
    assert all(has(chapters, r.kode) for r in low)


@pytest.mark.pdf
def test_appendix_sheets_evidence_and_history(data: ReportData, pages: list[str]) -> None:
    start = page_of(pages, "LAMPIRAN 1 FORMULIR PENGUKURAN KINERJA")
    appendix = " ".join(pages[start:])
    for section in data.sections:
        assert section.nama in appendix
    assert has(appendix, HYPERLINK_TEXT)  # user text printed as text
    assert "PEM-1_bukti_TW3.pdf" in appendix
    assert "Belum ada bukti dukung." in appendix
    # Lampiran 1: the unit beside the annual target, kendala and upaya in one cell
    lampiran1 = " ".join(pages[start : page_of(pages, "LAMPIRAN 2 RENCANA AKSI")])
    assert "Target tahunan (satuan)" in flat(lampiran1)
    assert "Kendala / upaya tindak lanjut" in flat(lampiran1)
    for row in data.all_rows:
        assert has(lampiran1, f"{fmt_number(row.target_tahunan)} {row.satuan}"), row.kode
        if row.kendala:
            assert has(lampiran1, f"Kendala: {row.kendala} Upaya: {row.upaya or '–'}"), row.kode
    # the Rencana Aksi targets by kode are printed once, beside the evidence (not in Bab II)
    lampiran2 = flat(" ".join(pages[page_of(pages, "LAMPIRAN 2 RENCANA AKSI DAN BUKTI DUKUNG") :]))
    assert "Tabel 2.2" not in " ".join(pages)
    # one line per indicator: kode, the four cumulative targets in the order given, evidence
    assert "target Rencana Aksi s.d. TW I / TW II / TW III / TW IV (tanda" in lampiran2
    assert "PEM-2 — Target: 3 / 6 / 9 / 12 — Bukti: PEM-2_bukti_TW3.pdf" in lampiran2
    for row in data.all_rows:
        targets = " / ".join(fmt_number(t) for t in row.targets_tw)
        evidence = f"Bukti: {'; '.join(row.evidence)}" if row.evidence else "Belum ada"
        assert has(lampiran2, f"{row.kode} — Target: {targets} — {evidence}"), row.kode
    assert "Terlambat" in appendix and "Tepat waktu" in appendix
    assert "Laporan disahkan" in appendix


def test_chart_is_inline_svg(data: ReportData) -> None:
    html = render_laporan_html(data)
    svg = html[html.index("<svg") : html.index("</svg>")]
    for section in data.sections:
        assert section.nama.split()[-1] in svg
    assert "Target 100%" in svg
    # Bars and legend share the palette: Trantib's bar is Rendah, no bar is Sangat Rendah.
    assert svg.count('fill="#FBA276"') == 2 and svg.count('fill="#F8696B"') == 1
    for tick in range(0, 121, 20):
        assert f">{tick}</text>" in svg
    bars = bar_chart_svg(
        [Bar("A & <B>", None, None), Bar("C", Decimal("150"), "Sangat Tinggi")],
        data.predikat_levels,
    )
    assert "A &amp; &lt;B&gt;" in bars and "–" in bars and "150,00%" in bars


def test_html_escapes_user_text_and_uses_no_network(data: ReportData) -> None:
    row = dataclasses.replace(
        data.sections[0].rows[0], kendala='<img src="http://evil/x">', predikat="Rendah"
    )
    section = dataclasses.replace(data.sections[0], rows=(row,))
    html = render_laporan_html(dataclasses.replace(data, sections=(section,)))
    assert '<img src="http://evil/x">' not in html
    assert "&lt;img src=&#34;http://evil/x&#34;&gt;" in html
    assert "http://" not in re.sub(r"&lt;img[^<]*", "", html).replace("http://www.w3.org", "")
    assert "@import" not in html and "url(" not in html


def test_bab_iv_without_low_indicators(data: ReportData) -> None:
    levels = (*data.predikat_levels, "Gagal")
    odd = dataclasses.replace(data, predikat_levels=levels, low_predikat=frozenset({"Gagal"}))
    html = flat(render_laporan_html(odd))
    assert "tidak terdapat indikator kinerja dengan predikat Gagal" in html
    assert "Tabel 4.1" not in html


def test_annual_report_has_trend_table() -> None:
    data = sample_report_data("TAHUN")
    html = flat(render_laporan_html(data))
    assert "3.5 Perkembangan Capaian per Triwulan" in html
    for q in data.quarter_labels:
        assert f">{q}</th>" in html
    row = data.sections[0].rows[1]
    cells = " ".join(f'<td class="n">{fmt_capaian(v)}</td>' for v in row.trend)
    assert cells in html
    assert "LAPORAN PENGUKURAN KINERJA<br>TAHUN 2026" in html
    quarterly = flat(render_laporan_html(sample_report_data("TW")))
    assert "Perkembangan Capaian per Triwulan" not in quarterly


def test_formatting_helpers() -> None:
    assert fmt_number(Decimal("1234567.891")) == "1.234.567,89"
    assert fmt_number(Decimal("95")) == "95" and fmt_number(None) == "–"
    assert fmt_number(Decimal("0.125")) == "0,13"  # HALF_UP, Babel alone gives 0,12
    assert fmt_capaian(Decimal("97.885")) == "97,89"
    assert fmt_capaian(None) == "–"
    assert fmt_date(date(2026, 10, 5)) == "5 Oktober 2026"
    assert fmt_nip("197912082000031001") == "19791208 200003 1 001"
    assert fmt_nip("19791208 200003 1 001") == "19791208 200003 1 001"
    from datetime import UTC, datetime

    assert fmt_datetime(datetime(2026, 10, 5, 1, 30, tzinfo=UTC), "Asia/Makassar") == (
        "5 Oktober 2026 09.30 WITA"
    )


def tiny_report() -> ReportData:
    data = sample_report_data("TW")
    section = dataclasses.replace(data.sections[0], rows=data.sections[0].rows[:1])
    return dataclasses.replace(data, sections=(section,), history=data.history[:2])


@pytest.mark.pdf
async def test_async_render_runs_in_worker_processes() -> None:
    """Both paths: a one-off spawned process, and a long-lived pool the bot would keep."""
    data = tiny_report()
    pdf = await render_laporan_pdf_async(data)
    assert pdf.startswith(b"%PDF")
    text = flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    assert "97,89" in text and "NIP. 19720315 199303 1 004" in text
    pool = make_render_executor()
    try:
        again = await render_laporan_pdf_async(data, executor=pool)
        assert again.startswith(b"%PDF")
        assert len(PdfReader(io.BytesIO(again)).pages) == len(PdfReader(io.BytesIO(pdf)).pages)
    finally:
        pool.shutdown()


@pytest.mark.pdf
def test_outline_and_lampiran_1_laid_over_numbered_pages(data: ReportData, pdf: bytes) -> None:
    """Lampiran 1 is rendered on its own and laid over numbered pages of the rest: its
    pages keep the running head, the page numbers and a bookmark per section."""
    reader = PdfReader(io.BytesIO(pdf))
    marks = {}
    for item in reader.outline:
        for entry in item if isinstance(item, list) else [item]:
            marks[flat(entry.title)] = reader.get_destination_page_number(entry)
    lampiran = next(p for t, p in marks.items() if t.startswith("LAMPIRAN 1"))
    for i, section in enumerate(data.sections):
        page = marks[f"{chr(ord('A') + i)}. {section.nama}"]
        assert page >= lampiran
        text = flat(reader.pages[page].extract_text())
        assert section.nama in text and "Laporan Pengukuran Kinerja Triwulan III 2026" in text
        assert f"Halaman {page + 1} dari {len(reader.pages)}" in text


def test_each_laporan_gets_a_fresh_render_worker() -> None:
    """A worker renders one laporan and exits, so its peak memory is never kept."""
    import os

    pool = make_render_executor()
    try:
        first = pool.submit(os.getpid).result(timeout=60)
        second = pool.submit(os.getpid).result(timeout=60)
    finally:
        pool.shutdown()
    assert first != second
