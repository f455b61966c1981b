"""Issue 12: one number everywhere (chat card, xlsx cell, PDF text) and a final laporan that is
what was approved (the same pages however often and whenever it is rendered)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update

from flows.sop.report_data import report_data
from reports.data import ReportData
from reports.pdf import render_laporan_pdf
from reports.xlsx import build_rekap
from storage.db import Database
from storage.models import Cycle, Indicator, Office, Section
from tests.flowkit import (
    SMALL_PEM,
    SMALL_PK,
    Chat,
    FakeClock,
    open_quarter,
    play,
    seed_small_office,
)

CAMAT, PLANNER, KASI, SEKCAM = "101", "102", "103", "104"
MONDAY = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09.00 WIB
D = Decimal

#: DOMAIN.md §1 worked checks: (name, polarity, target, range, inverse, answer, capaian).
WORKED = [
    ("Uji W1", "positif", "95", None, False, "93", "97,89"),
    ("Uji W2", "positif", "6", None, False, "7", "116,67"),
    ("Uji W3", "negatif", "3", None, False, "2,5", "116,67"),
    ("Uji W4", "negatif", "3", None, False, "4", "66,67"),
    ("Uji W5", "negatif", "3", None, True, "4", "75,00"),
    ("Uji W6", "negatif", "3", None, False, "7", "0,00"),
    ("Uji W7", "positif", "85", ("80", "90"), False, "92", "102,22"),  # a range in TW I
    ("Uji W8", "negatif", "8", ("7", "8"), False, "6,5", "107,14"),
    ("Uji W9", "stabil", "100", ("90", "100"), False, "103", "97,00"),
]


def pdf_text(data: ReportData) -> str:
    pdf = render_laporan_pdf(data)
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


async def seed_worked(db: Database) -> None:
    await seed_small_office(db)
    async with db.transaction() as s:
        await s.execute(update(Indicator).values(active=False))
        pem = (await s.scalars(select(Section).where(Section.kode == "PEM"))).one()
        office = (await s.scalars(select(Office))).one()
        for i, (name, pol, t, rng, inv, _a, _c) in enumerate(WORKED, start=1):
            s.add(
                Indicator(
                    office_id=office.id,
                    section_id=pem.id,
                    kode=f"W-{i}",
                    sasaran="Uji rumus",
                    nama=name,
                    satuan="Nilai",
                    polarity=pol,
                    aggregation="terakhir",
                    inverse=inv,
                    target_tahunan=D(t),
                    target_tw1=D(t),
                    target_tw2=D(t),
                    target_tw3=D(t),
                    target_tw4=D(t),
                    range_lo=D(rng[0]) if rng else None,
                    range_hi=D(rng[1]) if rng else None,
                    position=10 + i,
                )
            )


async def test_worked_checks_agree_in_the_chat_card_the_xlsx_cell_and_the_pdf(db):
    await seed_worked(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW1")
    await chat.say(KASI, "/isi")
    cards = {}
    for name, *_rest, answer, want in WORKED:
        out = await chat.say(KASI, answer)
        cards[name] = out[0].text
        assert f"Capaian s.d. TW I: {want}%" in out[0].text, (name, out[0].text)
        while out[-1].labels() == ["Lewati"]:
            _, out = await chat.tap(KASI, "Lewati")
    assert "di atas rentang, sehingga batas atas (90) dipakai sebagai target" in cards["Uji W7"]
    assert "di bawah rentang, sehingga batas bawah (7) dipakai" in cards["Uji W8"]
    await chat.tap(KASI, "Kirim")

    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
        data = await report_data(s, cycle.id, now=MONDAY)
    rows = {r.indikator: r for r in data.all_rows}
    assert rows["Uji W7"].sisi_rentang == "atas" and rows["Uji W9"].sisi_rentang == "atas"

    wb = load_workbook(io.BytesIO(build_rekap(data)))
    sheet = wb["PEM"]
    header = [c.value for c in sheet[5]]
    col = next(i for i, h in enumerate(header) if str(h).startswith("Capaian s.d."))
    cells = {r[1].value: r[col].value for r in sheet.iter_rows(min_row=6) if r[1].value}
    text = pdf_text(data)
    table = text[text.index("LAMPIRAN 1 FORMULIR PENGUKURAN KINERJA") :]  # each row once
    for name, *_rest, want in WORKED:
        assert f"{Decimal(str(cells[name])):.2f}".replace(".", ",") == want, name
        row = table[table.index(f"{name} ") :][:90]
        assert f" {want} " in row, (name, row)
    assert "Uji W7 (W-7), rentang 80–90: realisasi 92 di atas rentang, batas atas 90" in text


async def run_to_approval(chat: Chat) -> None:
    await chat.say(CAMAT, "/mulai TW III 2026 mohon tepat waktu")
    await chat.tap(SEKCAM, "Teruskan")
    await chat.tap(PLANNER, "Bagikan")
    await play(chat, KASI, SMALL_PEM)
    await play(chat, PLANNER, SMALL_PK)
    await chat.tap(PLANNER, "Teruskan")
    await chat.tap(SEKCAM, "Setujui")
    await chat.tap(CAMAT, "Setujui")


async def test_the_final_laporan_is_what_was_approved(db):
    await seed_small_office(db)
    chat = Chat(db, FakeClock(MONDAY))
    await run_to_approval(chat)
    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
        assert cycle.data.get("final") and cycle.status == "running"
        first = pdf_text(await report_data(s, cycle.id, now=chat.clock.now()))
    chat.clock.advance(days=3)
    await chat.tap(PLANNER, "Sudah diinput")  # the input-and-archive step, after the approval
    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
        assert cycle.status == "selesai"
        again = pdf_text(await report_data(s, cycle.id, now=chat.clock.now()))
    assert again == first
    history = first[first.index("RIWAYAT PERSETUJUAN") :]
    assert "mengarsipkan" not in history
    assert history.count("Kertas kerja dibagikan") == 1  # one hand-out, one line
    assert history.count("Mohon data") <= 1 and "Perintah pengumpulan" not in history
    assert "Kasubbag Perencanaan" in history and "Kasi Pemerintahan" in history
    toc = first[first.index("DAFTAR ISI") : first.index("1.1 Latar Belakang")]
    assert "3.1 Metode Pengukuran" in toc
    assert "n/a" not in first
    assert "tidak ada langkah verifikasi per lembar dalam SOP ini" in first  # kebasen has none


def test_the_office_logo_goes_on_the_kop_and_the_cover(tmp_path) -> None:  # noqa: ANN001
    import dataclasses
    from pathlib import Path

    import pytest

    from flows.setup.office_file import OfficeFileError, load_office_file
    from reports.pdf import render_laporan_html
    from tests.report_fixtures import sample_report_data

    sample = Path(__file__).resolve().parents[1] / "examples" / "sukamaju.yaml"
    logo = load_office_file(sample).settings["logo"]
    assert logo.startswith("data:image/svg+xml;base64,")
    data = sample_report_data("TW")
    html = render_laporan_html(
        dataclasses.replace(data, office=dataclasses.replace(data.office, logo=logo))
    )
    assert html.count(f'src="{logo}"') == 2  # the kop and the cover
    assert 'class="kop-logo"' not in render_laporan_html(data)  # no logo, no empty image

    (tmp_path / "kantor.yaml").write_text(
        sample.read_text(encoding="utf-8").replace("lambang-contoh.svg", "lambang.png"),
        encoding="utf-8",
    )
    (tmp_path / "lambang.png").write_bytes(b"not a png")
    with pytest.raises(OfficeFileError) as err:
        load_office_file(tmp_path / "kantor.yaml")
    assert "logo" in str(err.value) and "lambang.png" in str(err.value)


def test_realisasi_has_the_same_decimals_in_the_xlsx_as_in_the_chat_and_pdf() -> None:
    from flows.domain.fmt import fmt_number
    from reports.xlsx import _number_format

    for value, shown in (("94.4954128", "94,5"), ("2.5", "2,5"), ("9", "9"), ("96.206", "96,21")):
        decimals = _number_format(D(value)).partition(".")[2]
        assert fmt_number(D(value)) == shown
        assert len(decimals) == len(shown.partition(",")[2]), value
