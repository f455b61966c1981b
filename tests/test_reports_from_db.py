"""ReportData from the database: numbers from flows.domain.measure, roll-ups, history, files."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from flows.domain.capaian import average_capaian
from flows.domain.measure import Reported, figures
from flows.sop.report_data import normalize_period_key, report_data
from flows.sop.sheet_data import targets_of
from reports.data import ReportData, file_name
from reports.pdf import render_laporan_pdf
from reports.xlsx import build_rekap
from storage.db import Database
from storage.models import Cycle, Entry, Event, Indicator, Office, StoredFile, Worksheet
from tests.flowkit import seed_small_office

D = Decimal
HYPERLINK = '=HYPERLINK("http://x","y")'
NOW = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)  # 5 Oktober 2026, 10.00 WIB

# The answers each quarter, as a Kasi reports them: the new amount (kumulatif), the level,
# the rate, or (numerator, denominator) for a rasio indicator.
ANSWERS: dict[int, dict[str, Any]] = {
    1: {"PEM-1": (90, 100), "PEM-2": 3, "PEM-4": "2.5", "PK-1": 1},
    2: {"PEM-1": (95, 100), "PEM-2": 2, "PEM-3": 88, "PEM-4": "2.8", "PK-1": 2},
    3: {"PEM-1": (93, 100), "PEM-2": 2, "PEM-4": "3.4", "PK-1": 3},
    4: {"PEM-1": (97, 100), "PEM-2": 5, "PEM-3": 91, "PEM-4": "2.6", "PK-1": 4},
}
KENDALA = {"PEM-2": HYPERLINK, "PEM-4": "Petugas loket cuti"}
UPAYA = {"PEM-2": "@Kasi mohon tindak lanjut", "PEM-4": "+1 petugas cadangan"}


def reported(answer: Any) -> Reported:
    if isinstance(answer, tuple):
        n, d = D(answer[0]), D(answer[1])
        return Reported(n / d * 100, n, d)
    return Reported(D(str(answer)))


async def seed_quarter(
    db: Database,
    ids: dict[str, int],
    q: int,
    *,
    status: dict[str, str] | None = None,
    answers: dict[str, Any] | None = None,
    finished: datetime | None = None,
) -> dict[str, Any]:
    """A TW cycle of the small office with both sheets, filled with ``answers``."""
    status = {"PEM": "accepted", "PK": "submitted", **(status or {})}
    answers = ANSWERS[q] if answers is None else answers
    at = datetime(2026, 3 * q + 1 if q < 4 else 12, 5, 2, 0, tzinfo=UTC)
    out: dict[str, Any] = {"entries": {}, "sheets": {}}
    async with db.transaction() as s:
        cycle = Cycle(
            office_id=ids["office"],
            period_key=f"2026-TW{q}",
            preset="kebasen-pengumpulan",
            step="olah_data",
            status="selesai" if finished else "running",
            created_at=at,
            finished_at=finished,
        )
        s.add(cycle)
        await s.flush()
        out["cycle"] = cycle.id
        owners = {"PEM": ids["kasi"], "PK": ids["perencana"]}
        indicators = list(await s.scalars(select(Indicator).order_by(Indicator.position)))
        for kode, person_id in owners.items():
            mine = [i for i in indicators if i.kode.startswith(kode + "-")]
            ws = Worksheet(
                cycle_id=cycle.id,
                person_id=person_id,
                section_id=mine[0].section_id,
                status=status[kode],
                submitted_at=at + timedelta(days=2)
                if status[kode] in ("submitted", "accepted")
                else None,
                reviewed_by=ids["perencana"] if status[kode] == "accepted" else None,
                reviewed_at=at + timedelta(days=3) if status[kode] == "accepted" else None,
            )
            s.add(ws)
            await s.flush()
            out["sheets"][kode] = ws.id
            for ind in mine:
                rep = reported(answers[ind.kode]) if ind.kode in answers else None
                entry = Entry(
                    worksheet_id=ws.id,
                    indicator_id=ind.id,
                    realisasi=rep.realisasi if rep else None,
                    numerator=rep.numerator if rep else None,
                    denominator=rep.denominator if rep else None,
                    keterangan=KENDALA.get(ind.kode, "draf kendala" if kode == "PK" else ""),
                    upaya=UPAYA.get(ind.kode, ""),
                    filled=rep is not None,
                )
                s.add(entry)
                await s.flush()
                out["entries"][ind.kode] = entry.id
    return out


async def indicators_by_kode(db: Database) -> dict[str, Indicator]:
    async with db.transaction() as s:
        return {i.kode: i for i in await s.scalars(select(Indicator))}


async def build(db: Database, cycle_id: int, key: str | None = None) -> ReportData:
    async with db.transaction() as s:
        return await report_data(s, cycle_id, key, now=NOW)


def row_of(data: ReportData, kode: str):  # noqa: ANN201
    return next(r for r in data.all_rows if r.kode == kode)


def cap2(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture
async def office(db: Database) -> dict[str, int]:
    return await seed_small_office(db)


async def seed_year_to_tw3(db: Database, ids: dict[str, int]) -> dict[int, dict[str, Any]]:
    """TW I and II done; TW III with the planner's own sheet still open."""
    return {
        1: await seed_quarter(db, ids, 1, finished=datetime(2026, 4, 20, 3, tzinfo=UTC)),
        2: await seed_quarter(db, ids, 2, finished=datetime(2026, 7, 20, 3, tzinfo=UTC)),
        3: await seed_quarter(db, ids, 3, status={"PK": "open"}),
    }


# --- a quarter ------------------------------------------------------------------------------


async def test_quarter_numbers_equal_flows_measure(db: Database, office: dict[str, int]) -> None:
    cycles = await seed_year_to_tw3(db, office)
    inds = await indicators_by_kode(db)
    data = await build(db, cycles[3]["cycle"])

    assert data.period_label == "Triwulan III 2026" and data.period_kind == "TW"
    assert data.short == "TW III" and data.tahun == 2026
    assert file_name("Rekap", data) == "Rekap_Kinerja_TW_III_2026_Kecamatan_Uji.xlsx"
    assert [s.kode for s in data.sections] == ["PEM", "PK"]
    # grouped by sasaran (Layanan first, then Desa) and numbered in the order printed
    assert [r.kode for r in data.sections[0].rows] == ["PEM-1", "PEM-3", "PEM-4", "PEM-2"]
    assert [r.no for r in data.sections[0].rows] == [1, 2, 3, 4]

    # PK's TW III sheet is still open: its TW III answer does not count.
    counted = {"PEM": [1, 2, 3], "PK": [1, 2]}
    for row in data.all_rows:
        qs = counted[row.kode.split("-")[0]]
        answers = {q: reported(ANSWERS[q][row.kode]) for q in qs if row.kode in ANSWERS[q]}
        fig = figures(targets_of(inds[row.kode]), answers, (3,))
        assert row.target_sd == fig.target_sd
        assert row.realisasi_tw == fig.realisasi_periode
        assert row.realisasi_sd == fig.realisasi_sd
        assert row.capaian_sd == fig.capaian_sd
        assert row.capaian_tahunan == fig.capaian_tahunan
        assert row.predikat == fig.predikat  # default scale
        assert row.target_tahunan == inds[row.kode].target_tahunan

    # Hand checks (DOMAIN §1, §3).
    # rasio s.d. TW III: (90 + 95 + 93) / 300 = 92,67 against 95
    assert cap2(row_of(data, "PEM-1").capaian_sd) == D("97.54")
    pem2 = row_of(data, "PEM-2")
    assert (pem2.realisasi_tw, pem2.realisasi_sd) == (D(2), D(7))  # 7 s.d. TW III − 5
    assert cap2(pem2.capaian_sd) == D("77.78") and pem2.predikat == "Tinggi"
    assert row_of(data, "PEM-3").capaian_sd is None  # no target in TW III: n/a
    assert cap2(row_of(data, "PEM-4").realisasi_sd) == D("2.9")  # mean of 2.5, 2.8, 3.4
    pk1 = row_of(data, "PK-1")
    assert pk1.realisasi_tw is None and pk1.kendala == "" and pk1.evidence == ()

    pem = data.sections[0]
    assert pem.average_capaian == average_capaian(r.capaian_sd for r in pem.rows)
    assert data.office_average == average_capaian(r.capaian_sd for r in data.all_rows)
    assert pem.predikat_counts["Tinggi"] == sum(r.predikat == "Tinggi" for r in pem.rows)
    assert [s for s, _ in data.sasaran_averages] == ["Layanan", "Desa", "Akuntabilitas"]
    assert pem.kepala_nama == "Budi" and pem.submitted_by == "Budi"
    assert pem.verified_by == "Maya" and pem.verified_at is not None
    assert data.sections[1].submitted_at is None and data.sections[1].submitted_by is None
    assert pem2.kendala == HYPERLINK and pem2.upaya == "@Kasi mohon tindak lanjut"
    assert pem2.penanggung_jawab == "Budi"


async def test_official_office_and_signing_date(db: Database, office: dict[str, int]) -> None:
    cycles = await seed_year_to_tw3(db, office)
    data = await build(db, cycles[3]["cycle"])
    kepala = data.office.kepala
    assert (kepala.name, kepala.nip, kepala.signature_title) == (
        "Camat Uji",
        "197203151993031004",
        "CAMAT UJI",
    )
    assert data.office.nama == "Kecamatan Uji" and data.office.kota_ttd == "Uji"
    assert data.signed_on.isoformat() == "2026-10-05"  # running cycle: the day it is made
    finished = await build(db, cycles[1]["cycle"])
    assert finished.signed_on.isoformat() == "2026-04-20"  # a finished cycle: its last day


async def test_office_predikat_scale(db: Database, office: dict[str, int]) -> None:
    async with db.transaction() as s:
        row = await s.get(Office, office["office"])
        row.settings = {
            "skala_predikat": [
                {"di_atas": 95, "predikat": "Sangat Baik"},
                {"di_atas": 80, "predikat": "Baik"},
                {"predikat": "Kurang"},
            ]
        }
    cycles = await seed_year_to_tw3(db, office)
    data = await build(db, cycles[3]["cycle"])
    assert data.predikat_levels == ("Sangat Baik", "Baik", "Kurang")
    assert data.predikat_ranges == ("C > 95", "80 < C ≤ 95", "C ≤ 80")
    assert row_of(data, "PEM-1").predikat == "Sangat Baik"  # 97,89
    assert row_of(data, "PEM-2").predikat == "Kurang"  # 77,78
    assert "Kurang" in data.low_predikat and "Sangat Baik" not in data.low_predikat


async def test_evidence_and_history(db: Database, office: dict[str, int]) -> None:
    cycles = await seed_year_to_tw3(db, office)
    c3 = cycles[3]
    async with db.transaction() as s:
        for kode, name, kind, caption in (
            ("PEM-1", "foto_AgAD01.jpg", "photo", "Loket PATEN"),
            ("PEM-1", "daftar_hadir.pdf", "document", "Daftar hadir rapat"),
            ("PEM-1", "foto_AgAD02.jpg", "photo", ""),
            ("PEM-1", "register.xlsx", "document", ""),
            ("PK-1", "draf.pdf", "document", ""),
        ):
            s.add(
                StoredFile(
                    entry_id=c3["entries"][kode],
                    kind=kind,
                    caption=caption,
                    file_name=name,
                    size=1,
                    sha256="0" * 64,
                    content=b"x",
                    created_at=NOW,
                )
            )
        t0 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)

        def ev(minutes: int, action: str, actor: str | None, **kw: Any) -> Event:
            return Event(
                office_id=office["office"],
                cycle_id=c3["cycle"],
                actor_id=office[actor] if actor else None,
                action=action,
                at=t0 + timedelta(minutes=minutes),
                **kw,
            )

        s.add_all(
            [
                ev(
                    0,
                    "siklus.mulai",
                    "camat",
                    reason="Mohon segera",
                    data={"step": "disposisi_camat", "tepat_waktu": True},
                ),
                ev(5, "notifikasi.kirim", None),  # unknown: left out
                ev(
                    10,
                    "lembar.kirim",
                    "kasi",
                    subject=f"worksheet:{c3['sheets']['PEM']}",
                    data={"tepat_waktu": False},
                ),
                ev(
                    20,
                    "lembar.kembalikan",
                    "perencana",
                    subject=f"worksheet:{c3['sheets']['PEM']}",
                    reason="Bukti kurang",
                ),
                ev(
                    30,
                    "langkah.setujui",
                    "camat",
                    acting_as="Plt Camat",
                    data={"step": "setujui_camat"},
                ),
                ev(40, "siklus.final", None),
            ]
        )
    data = await build(db, c3["cycle"])
    # listed by the Kasi's caption and the file's own name, never by an internal name
    assert row_of(data, "PEM-1").evidence == (
        "Loket PATEN (foto, 5 Oktober 2026)",
        "Daftar hadir rapat (daftar_hadir.pdf)",
        "Foto tanpa keterangan (5 Oktober 2026)",
        "register.xlsx",
    )
    assert row_of(data, "PK-1").evidence == ()  # the open sheet's file is not in the report
    h = data.history
    assert [e.action for e in h] == [
        "Perintah pengumpulan data kinerja",
        "Lembar kerja Seksi Pemerintahan dikirim",
        "Lembar kerja Seksi Pemerintahan dikembalikan",
        "Disetujui (Menerima konsep dan menyetujuinya)",
        "Laporan disahkan",
    ]
    assert [(e.actor, e.role_title) for e in h] == [  # each person's own jabatan
        ("Camat Uji", "Camat Uji"),
        ("Budi", "Kasi Pemerintahan"),
        ("Maya", "Kasubbag Perencanaan"),
        ("Camat Uji", "Plt Camat"),
        ("Sistem", ""),
    ]
    assert [e.on_time for e in h] == [True, False, None, None, None]
    assert h[0].note == "Mohon segera" and h[2].note == "Bukti kurang"


# --- roll-ups -------------------------------------------------------------------------------


async def test_semester_rollup_from_tw1_and_tw2(db: Database, office: dict[str, int]) -> None:
    cycles = await seed_year_to_tw3(db, office)
    inds = await indicators_by_kode(db)
    data = await build(db, cycles[2]["cycle"], "2026-S1")
    assert data.period_label == "Semester I 2026" and data.period_kind == "SEMESTER"
    assert data.short == "Semester I"
    assert file_name("Laporan", data) == "Laporan_Kinerja_Semester_I_2026_Kecamatan_Uji.pdf"
    for row in data.all_rows:
        answers = {q: reported(ANSWERS[q][row.kode]) for q in (1, 2) if row.kode in ANSWERS[q]}
        fig = figures(targets_of(inds[row.kode]), answers, (1, 2))
        assert (row.realisasi_tw, row.realisasi_sd, row.capaian_sd) == (
            fig.realisasi_periode,
            fig.realisasi_sd,
            fig.capaian_sd,
        )
    assert row_of(data, "PEM-2").realisasi_tw == D(5)  # 3 + 2 new villages
    assert row_of(data, "PEM-1").realisasi_sd == D("92.5")  # (90 + 95) / (100 + 100)
    assert row_of(data, "PEM-4").realisasi_sd == D("2.65")  # mean of 2.5 and 2.8
    assert row_of(data, "PEM-3").realisasi_sd == D(88)  # last reported level
    assert row_of(data, "PK-1").target_sd == D(2)
    # The semester ignores TW III; the history is the anchor cycle's (none here).
    assert data.history == ()


async def test_annual_report_has_trend(db: Database, office: dict[str, int]) -> None:
    cycles = await seed_year_to_tw3(db, office)
    async with db.transaction() as s:  # TW III is sent after all
        ws = await s.get(Worksheet, cycles[3]["sheets"]["PK"])
        ws.status = "submitted"
    c4 = await seed_quarter(db, office, 4)
    inds = await indicators_by_kode(db)
    for key in ("2026-TAHUN", "2026-Y"):
        data = await build(db, c4["cycle"], key)
        assert data.period_label == "Tahun 2026" and data.is_annual
        for row in data.all_rows:
            answers = {
                q: reported(ANSWERS[q][row.kode]) for q in range(1, 5) if row.kode in ANSWERS[q]
            }
            t = targets_of(inds[row.kode])
            assert row.capaian_sd == figures(t, answers, (1, 2, 3, 4)).capaian_sd
            assert len(row.trend) == 4
            for q in range(1, 5):
                want = figures(t, answers, (q,)).capaian_sd if q in answers else None
                assert row.trend[q - 1] == want
    pem3 = row_of(data, "PEM-3")
    assert pem3.trend[0] is None and pem3.trend[2] is None  # no answer in TW I / TW III
    assert cap2(pem3.trend[3]) == D("101.11")  # 91 / 90
    assert row_of(data, "PEM-2").realisasi_tw == D(12)
    wb = load_workbook(io.BytesIO(build_rekap(data)))
    header = [c.value for c in wb["PEM"][5]]
    assert header[9:13] == [
        "Capaian TW I (%)",
        "Capaian TW II (%)",
        "Capaian TW III (%)",
        "Capaian TW IV (%)",
    ]


def test_period_keys() -> None:
    assert normalize_period_key("2026-TAHUN").key == "2026-Y"
    assert normalize_period_key("2026-Y").label == "Tahun 2026"
    assert normalize_period_key("2026-S2").quarters == (3, 4)
    assert normalize_period_key("2026-TW3").label == "Triwulan III 2026"
    with pytest.raises(ValueError):
        normalize_period_key("2026-Q9")


# --- the documents made from it -------------------------------------------------------------


def _assert_number(value: object, want: Decimal | None, *, capaian: bool) -> None:
    if want is None:
        assert value == "–"
        return
    assert isinstance(value, int | float)
    if capaian:
        assert Decimal(str(value)) == cap2(want)
    else:
        assert value == pytest.approx(float(want), rel=1e-12, abs=0)


async def test_rekap_xlsx_every_number_from_the_database(
    db: Database, office: dict[str, int]
) -> None:
    cycles = await seed_year_to_tw3(db, office)
    inds = await indicators_by_kode(db)
    data = await build(db, cycles[3]["cycle"])
    wb = load_workbook(io.BytesIO(build_rekap(data)))
    assert wb.sheetnames == ["Ringkasan", "PEM", "PK", "Bukti", "Riwayat", "Riwayat Nilai"]
    counted = {"PEM": [1, 2, 3], "PK": [1, 2]}
    seen = 0
    for section in data.sections:
        ws = wb[section.kode]
        for cells in ws.iter_rows(min_row=6):
            if not isinstance(cells[0].value, int):
                continue
            kode = next(r.kode for r in section.rows if r.indikator == cells[1].value)
            qs = counted[section.kode]
            answers = {q: reported(ANSWERS[q][kode]) for q in qs if kode in ANSWERS[q]}
            fig = figures(targets_of(inds[kode]), answers, (3,))
            values = [c.value for c in cells]
            _assert_number(values[3], inds[kode].target_tahunan, capaian=False)
            _assert_number(values[4], fig.target_sd, capaian=False)
            _assert_number(values[5], fig.realisasi_periode, capaian=False)
            _assert_number(values[6], fig.realisasi_sd, capaian=False)
            _assert_number(values[7], fig.capaian_sd, capaian=True)
            _assert_number(values[8], fig.capaian_tahunan, capaian=True)
            assert values[9] == (fig.predikat or "–")
            seen += 1
            if kode == "PEM-2":
                assert values[10] == HYPERLINK and cells[10].data_type == "s"
                assert cells[11].value.startswith("@Kasi") and cells[11].data_type == "s"
    assert seen == 5
    summary = [c.value for c in wb["Ringkasan"][6]]
    assert summary[1] == "PEM"
    _assert_number(summary[5], data.sections[0].average_capaian, capaian=True)


@pytest.mark.pdf
async def test_laporan_pdf_from_the_database(db: Database, office: dict[str, int]) -> None:
    cycles = await seed_year_to_tw3(db, office)
    data = await build(db, cycles[3]["cycle"])
    pdf = render_laporan_pdf(data)
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    for chapter in (
        "KATA PENGANTAR",
        "BAB I PENDAHULUAN",
        "BAB III PENGUKURAN KINERJA",
        "BAB IV KENDALA DAN UPAYA",
        "BAB V PENUTUP",
        "LAMPIRAN 3 RIWAYAT PERSETUJUAN",
    ):
        assert chapter in text
    assert "LAPORAN PENGUKURAN KINERJA TRIWULAN III 2026" in text
    assert "97,54" in text and "77,78" in text
    assert "Uji, 5 Oktober 2026" in text and "CAMAT UJI" in text
    assert "Camat Uji" in text and "NIP. 19720315 199303 1 004" in text
    assert "Petugas loket cuti" in text  # kendala, in Lampiran 1
