"""End to end (issue 17), through the real bot on a file clock: the planner (admin by the office
file) sets a Plh from the chat; on the office's opening day the order card reaches the Camat
and the Plh by itself; the Plh taps it and the cycle starts in his name; the leaders ask in
plain words and get answers. Nothing sleeps: the test waits for messages at the emulator.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.offline.emulator import BotApiEmulator
from flows.domain.periods import Period
from flows.setup.office_file import calendar_for
from flows.sop.opening import opening_moment
from storage.db import Database
from storage.models import Cycle, Event, Office, Person
from tests.botproc import User
from tests.conftest import SAMPLE_OFFICE
from tests.test_e2e_reminders import ClockedBot, set_clock
from tests.test_e2e_telegram import invite_code

WIB = ZoneInfo("Asia/Jakarta")
CAMAT, SEKCAM, PLANNER = "197203151993031004", "198009212001122002", "198407162008012006"


def next_opening(now: datetime) -> tuple[Period, datetime]:
    """The quarter running at ``now`` and the moment its cycle is offered (default office)."""
    today = now.astimezone(WIB).date()
    period = Period.quarter(today.year, (today.month - 1) // 3 + 1)
    office = Office(tz="Asia/Jakarta", settings={})
    return period, opening_moment(calendar_for("Asia/Jakarta", {}), office, period)


@pytest.mark.e2e  # starts the bot process
async def test_plh_from_the_chat_offered_cycle_and_leader_questions_through_the_real_bot(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    now = datetime.now(UTC)
    period, opening = next_opening(now)
    office_file = tmp_path / "kantor.yaml"
    text = SAMPLE_OFFICE.read_text(encoding="utf-8").replace(
        "  tahun: 2026\n", f"  tahun: {period.year}\n  admin_perencana: true\n"
    )
    office_file.write_text(text, encoding="utf-8")
    logo = "lambang-contoh.svg"  # the sample's lambang lives beside it
    (tmp_path / logo).write_bytes((SAMPLE_OFFICE.parent / logo).read_bytes())
    clock_file = tmp_path / "jam.txt"
    set_clock(clock_file, now)
    bot = ClockedBot(emu, db_url, tmp_path / "bot.log", clock_file)
    await bot.cli("impor-kantor", str(office_file))
    codes = {nip: await invite_code(db, nip) for nip in (CAMAT, SEKCAM, PLANNER)}
    await bot.start()
    try:
        ahmad, rina, maya = (
            User(emu, 7001, "Ahmad"),
            User(emu, 7002, "Rina"),
            User(emu, 7003, "Maya"),
        )
        for user, nip in ((ahmad, CAMAT), (rina, SEKCAM), (maya, PLANNER)):
            await user.say(f"/start {codes[nip]}", "Selamat datang")
        await maya.say("/belumdaftar", "Budi Santoso")

        day = opening.astimezone(WIB).date()
        until = day + timedelta(days=5)
        mark = emu.mark(rina.id)
        await maya.say(
            f"/plh Rina camat {day:%d-%m-%Y} {until:%d-%m-%Y} Camat dinas luar",
            "Plh Camat ditetapkan oleh Maya Sari Dewi",
        )
        await emu.wait_for_message(rina.id, "Plh Camat ditetapkan", after=mark, timeout=30)

        marks = {u.id: emu.mark(u.id) for u in (ahmad, rina)}
        set_clock(clock_file, opening + timedelta(minutes=5))
        for user in (ahmad, rina):
            card = await emu.wait_for_message(
                user.id, "sudah berakhir", after=marks[user.id], timeout=60
            )
            assert period.label in card.text
        await rina.tap("Mulai sekarang", f"Pengumpulan data kinerja {period.label} dimulai")

        answer = await rina.say("kapan batas waktu?", "Batas waktu")
        assert period.label in answer.text
        await ahmad.say("siapa yang belum isi?", "belum dibagikan")
        await ahmad.say(f"capaian {period.label}?", f"Capaian kinerja {period.label}")
        await ahmad.say("bagaimana seksi trantib?", "Seksi Ketenteraman dan Ketertiban Umum")
        await ahmad.say("selamat pagi", "belum saya pahami")
    finally:
        await bot.stop()

    async with db.transaction() as s:
        start = await s.scalar(select(Event).where(Event.action == "siklus.mulai"))
        plh = await s.scalar(select(Event).where(Event.action == "plt.tetapkan"))
        offers = list(await s.scalars(select(Event).where(Event.action == "siklus.tawarkan")))
    assert start is not None and start.acting_as == "Plh Camat" and start.channel == "telegram"
    assert plh is not None and plh.actor_id is not None and plh.channel == "telegram"
    assert len(offers) == 1 and offers[0].subject == period.key
    assert not emu.unknown_calls


# --- corrections after Kirim, with the history of every value (issue 17, part B) ------------

KASI_PEM = "198305072006041011"


@pytest.mark.e2e  # starts the bot process
async def test_a_correction_after_kirim_shows_in_riwayat_and_in_the_rekap_through_the_real_bot(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    """Budi sends, asks to change PEM-2 (7 → 8), Maya allows, Budi corrects and sends again;
    /riwayat and the rekap's Riwayat Nilai sheet show both values, who, when, why, channel."""
    sent_at = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09.00 WIB
    clock_file = tmp_path / "jam.txt"
    set_clock(clock_file, sent_at)
    bot = ClockedBot(emu, db_url, tmp_path / "bot.log", clock_file)
    await bot.cli("impor-kantor", str(SAMPLE_OFFICE))
    await bot.cli("buka-siklus", "kecamatan-sukamaju", "TW III 2026")
    codes = {nip: await invite_code(db, nip) for nip in (KASI_PEM, PLANNER)}
    await bot.start()
    try:
        budi, maya = User(emu, 7101, "Budi"), User(emu, 7102, "Maya")
        await maya.say(f"/start {codes[PLANNER]}", "Selamat datang")
        await budi.say(f"/start {codes[KASI_PEM]}", "Selamat datang")
        await budi.wait("telah dimulai")
        await budi.tap("Isi sekarang", "dua angka")
        for typed, expect in (("48", "penyebut"), ("50", "kendala")):
            await budi.say(typed, expect)
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "PEM-2")
        await budi.say("7", "kendala")
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "PEM-3")
        await budi.say("3", "kendala")
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "rata-rata")
        await budi.say("2,5", "kendala")
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "Ringkasan")
        await budi.tap("Kirim", "sudah dikirim")

        corrected_at = sent_at + timedelta(hours=1)  # 10.00 WIB
        set_clock(clock_file, corrected_at)
        await budi.say("/isi", "Minta ubah")
        await budi.tap("Minta ubah", "Indikator mana")
        await budi.tap("PEM-2", "alasan")
        mark = emu.mark(maya.id)
        await budi.say("Salah ketik, register mencatat 8 desa", "dikirim ke Maya")
        await emu.wait_for_message(maya.id, "minta mengubah", after=mark, timeout=30)
        await maya.tap("Izinkan", "dibuka kembali")
        await budi.wait("diizinkan oleh Maya")
        await budi.tap("Perbaiki sekarang", "PEM-2")
        await budi.say("8", "kendala")
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "Ringkasan")
        await budi.tap("Kirim", "sudah dikirim")

        riwayat = await budi.say("/riwayat PEM-2", "Riwayat nilai PEM-2")
        assert "Realisasi: - → 7" in riwayat.text and "Realisasi: 7 → 8" in riwayat.text
        assert (
            "10.00 WIB" in riwayat.text and "Salah ketik, register mencatat 8 desa" in riwayat.text
        )

        mark = emu.mark(maya.id)
        await maya.say("/rekap", None)
        rekap = await emu.wait_for_message(
            maya.id, lambda m: m.kind == "document", after=mark, timeout=60
        )
        assert rekap.file_bytes is not None
    finally:
        await bot.stop()

    ws = load_workbook(io.BytesIO(rekap.file_bytes))["Riwayat Nilai"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=6) if row[1].value == "PEM-2"]
    assert [r[3:] for r in rows] == [
        [
            "Realisasi",
            "-",
            "7",
            "Budi Santoso, S.IP",
            datetime(2026, 10, 5, 9, 0),
            None,
            "Telegram",
        ],
        [
            "Realisasi",
            "7",
            "8",
            "Budi Santoso, S.IP",
            datetime(2026, 10, 5, 10, 0),
            "Salah ketik, register mencatat 8 desa",
            "Telegram",
        ],
    ]
    assert ws.cell(5, 8).value == "Waktu (WIB)"
    async with db.transaction() as s:
        asked = await s.scalar(select(Event).where(Event.action == "lembar.minta_ubah"))
        allowed = await s.scalar(select(Event).where(Event.action == "lembar.ubah_diizinkan"))
    assert asked is not None and asked.channel == "telegram"
    assert allowed is not None and allowed.reason == "Salah ketik, register mencatat 8 desa"
    assert not emu.unknown_calls


# --- A filling window that closes, and required evidence (issue 17, part A) ------------------

BUDI = "198305072006041011"
MONDAY_09 = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)  # TW III opens at isi; due Thu 8 Oct 16.00
FRIDAY_10 = datetime(2026, 10, 9, 10, 0, tzinfo=WIB)  # 150 office minutes after the deadline


@pytest.mark.e2e  # starts the bot process
async def test_late_sheet_allowed_and_evidence_required_through_the_real_bot(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    from flows.sop.report_data import report_data
    from storage.models import StoredFile, Worksheet
    from tests.flowkit import Chat, FakeClock, open_quarter
    from tests.test_e2e_telegram import PHOTO

    office_file = tmp_path / "kantor.yaml"
    lines = SAMPLE_OFFICE.read_text(encoding="utf-8").splitlines()
    lines = [
        line.replace("}", ", wajib_bukti: true}") if "{kode: PEM-2," in line else line
        for line in lines
    ]
    office_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    logo = "lambang-contoh.svg"
    (tmp_path / logo).write_bytes((SAMPLE_OFFICE.parent / logo).read_bytes())
    clock_file = tmp_path / "jam.txt"
    set_clock(clock_file, MONDAY_09)
    bot = ClockedBot(emu, db_url, tmp_path / "bot.log", clock_file)
    await bot.cli("impor-kantor", str(office_file))
    admin = Chat(db, FakeClock(MONDAY_09.astimezone(UTC)))
    await open_quarter(admin, "kecamatan-sukamaju", "2026-TW3")
    codes = {nip: await invite_code(db, nip) for nip in (BUDI, PLANNER)}
    await bot.start()
    try:
        budi, maya = User(emu, 7101, "Budi"), User(emu, 7102, "Maya")
        await budi.say(f"/start {codes[BUDI]}", "Selamat datang")
        await maya.say(f"/start {codes[PLANNER]}", "Selamat datang")
        await budi.say("/isi", "dua angka")
        await budi.say("48", "penyebut")
        await budi.say("50", "kendala")
        await budi.tap("Lewati", "bukti")
        card = await budi.tap("Lewati", "Bukti dukung wajib dilampirkan untuk indikator ini")
        assert "PEM-2" in card.text
        await budi.say("7", "kendala")
        await budi.tap("Lewati", "wajib dilampirkan sebelum Kirim")
        await budi.tap("Lewati", "PEM-3")
        await budi.say("3", "kendala")
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "rata-rata")
        await budi.say("2,5", "kendala")
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "Ringkasan")

        set_clock(clock_file, FRIDAY_10)  # the filling window has closed
        refused = await budi.tap("Kirim", "wajib dilengkapi bukti dukung")
        assert "PEM-2 · Jumlah desa yang difasilitasi" in refused.text
        await budi.wait("Kirim foto atau dokumen buktinya")
        await budi.photo(PHOTO, "Ringkasan")
        mark = emu.mark(maya.id)
        await budi.tap("Kirim", "Batas waktu pengisian")
        ask = await emu.wait_for_message(maya.id, "meminta izin", after=mark, timeout=30)
        assert "Budi Santoso" in ask.text and [t for t, _ in ask.buttons] == [
            "Izinkan terlambat",
            "Tolak",
        ]
        mark = emu.mark(budi.id)
        await maya.tap("Izinkan terlambat", "Izin kirim terlambat diberikan")
        await emu.wait_for_message(budi.id, "mengizinkan", after=mark, timeout=30)
        await budi.tap("Kirim", "sudah dikirim")
        await maya.wait("dari Budi Santoso")
    finally:
        await bot.stop()

    async with db.transaction() as s:
        budi_id = await s.scalar(select(Person.id).where(Person.nip == BUDI))
        ws = await s.scalar(select(Worksheet).where(Worksheet.person_id == budi_id))
        assert ws is not None and ws.status == "submitted" and ws.late_minutes == 150
        files = list(await s.scalars(select(StoredFile)))
        allowed = await s.scalar(select(Event).where(Event.action == "lembar.izin_terlambat"))
        data = await report_data(s, ws.cycle_id, now=FRIDAY_10)
    assert len(files) == 1 and files[0].content == PHOTO
    assert allowed is not None and allowed.channel == "telegram"
    assert allowed.actor_id == ws.late_allowed_by
    sent = [h for h in data.history if h.action.endswith("dikirim") and h.on_time is False]
    assert len(sent) == 1 and sent[0].late_minutes == 150 and "diizinkan oleh Maya" in sent[0].note
    assert not emu.unknown_calls


# --- the whole year: four quarters open by themselves, one runs to the e-SAKIP hand-off -------


def year_office(year: int) -> str:
    """The sample office cut to its smallest chain: the Camat, the Sekcam, the planner (PK-1)
    and one Kasi (PEM-1 a ratio, PEM-2 a count), bound to Telegram ids, opening by itself."""
    doc = yaml.safe_load(SAMPLE_OFFICE.read_text(encoding="utf-8"))
    doc["kantor"].update(tahun=year, buka_siklus={"otomatis": True})
    doc["kantor"].pop("logo")
    ids = {CAMAT: 7201, SEKCAM: 7202, PLANNER: 7203, BUDI: 7204}
    people = []
    for person in doc["pegawai"]:
        nip = person["nip"].replace(" ", "")
        if nip in ids:
            people.append({**person, "telegram_id": ids[nip]})
    doc["pegawai"] = people
    doc["seksi"] = [s for s in doc["seksi"] if s["kode"] in ("PEM", "PK")]
    doc["indikator"] = [i for i in doc["indikator"] if i["kode"] in ("PEM-1", "PEM-2", "PK-1")]
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@pytest.mark.e2e  # starts the bot process
@pytest.mark.slow
async def test_a_whole_year_of_one_office_through_the_real_bot(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    """The file clock walks one office (seed 003, ``buka_siklus: otomatis``) through a year:
    each quarter's cycle opens by itself on its opening day and the Camat is told; TW I runs
    its whole chain in the chat to the "input ke aplikasi" step, whose e-SAKIP file is read
    cell by cell before the planner taps "Sudah diinput". The quarters after TW I only open:
    each is marked finished in the database (its chain is the one played in TW I), since an
    office opens no quarter while another of its cycles runs."""
    now = datetime.now(UTC)
    year = now.astimezone(WIB).year + 1  # every opening comes after the import (real time)
    office_file = tmp_path / "kantor.yaml"
    office_file.write_text(year_office(year), encoding="utf-8")
    clock_file = tmp_path / "jam.txt"
    set_clock(clock_file, now)
    bot = ClockedBot(emu, db_url, tmp_path / "bot.log", clock_file)
    await bot.cli("impor-kantor", str(office_file))
    async with db.transaction() as s:
        office = await s.scalar(select(Office))
    assert office is not None and office.settings["buka_siklus"] == {"otomatis": True}
    cal = calendar_for("Asia/Jakarta", {})
    quarters = [Period.quarter(year, n) for n in (1, 2, 3, 4)]
    openings = [opening_moment(cal, office, p) for p in quarters]
    ahmad, rina, maya, budi = (
        User(emu, 7201, "Ahmad"),
        User(emu, 7202, "Rina"),
        User(emu, 7203, "Maya"),
        User(emu, 7204, "Budi"),
    )

    async def card(user: User, label: str, after: int):  # noqa: ANN202
        return await emu.wait_for_message(
            user.id, lambda m: label in [t for t, _ in m.buttons], after=after, timeout=30
        )

    async def opens_by_itself(period: Period, at: datetime) -> dict[int, int]:
        marks = {u.id: emu.mark(u.id) for u in (ahmad, rina)}
        set_clock(clock_file, at + timedelta(minutes=5))
        told = await emu.wait_for_message(
            ahmad.id, "dibuka otomatis", after=marks[ahmad.id], timeout=60
        )
        assert period.label in told.text
        return marks

    await bot.start()
    try:
        # TW I: opens by itself, then the whole chain of seed 003 in the chat.
        marks = await opens_by_itself(quarters[0], openings[0])
        await card(rina, "Teruskan", marks[rina.id])
        mark = emu.mark(maya.id)
        await rina.tap("Teruskan", None)
        await card(maya, "Bagikan", mark)
        await maya.tap("Bagikan", "kertas kerja sudah dibagikan")
        await budi.wait("telah dimulai")
        await budi.tap("Isi sekarang", "dua angka")
        for typed, expect in (("48", "penyebut"), ("50", "kendala")):
            await budi.say(typed, expect)
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "PEM-2")
        await budi.say("3", "kendala")
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "Ringkasan")
        await budi.tap("Kirim", "sudah dikirim")
        await maya.wait("telah dimulai")
        await maya.tap("Isi sekarang", "PK-1")
        await maya.say("1", "kendala")
        await maya.tap("Lewati", "bukti")
        await maya.tap("Lewati", "Ringkasan")
        mark = emu.mark(maya.id)
        await maya.tap("Kirim", "sudah dikirim")
        await card(maya, "Teruskan", mark)
        mark = emu.mark(rina.id)
        await maya.tap("Teruskan", None)
        await card(rina, "Setujui", mark)
        mark = emu.mark(ahmad.id)
        await rina.tap("Setujui", None)
        await card(ahmad, "Setujui", mark)
        mark = emu.mark(maya.id)
        await ahmad.tap("Setujui", None)
        step = await card(maya, "Sudah diinput", mark)
        assert "Berkas input e-SAKIP Triwulan I" in step.text
        esakip = await emu.wait_for_message(
            maya.id,
            lambda m: m.kind == "document" and (m.file_name or "").startswith("Input_eSAKIP"),
            after=mark,
            timeout=60,
        )
        await maya.tap("Sudah diinput", "telah selesai")

        # TW II, III and IV open by themselves on their days; the Camat is told each time.
        for period, moment in zip(quarters[1:], openings[1:], strict=True):
            async with db.transaction() as s:  # the office finished its running cycle
                await s.execute(update(Cycle).values(status="selesai"))
            await opens_by_itself(period, moment)
    finally:
        await bot.stop()

    assert esakip.file_name == f"Input_eSAKIP_TW_I_{year}_Kecamatan_Sukamaju.xlsx"
    assert f"Berkas input e-SAKIP Triwulan I {year} – Kecamatan Sukamaju" in esakip.text
    assert esakip.file_bytes is not None
    ws = load_workbook(io.BytesIO(esakip.file_bytes)).active
    assert ws.max_row == 4 and ws.max_column == 17
    header = [ws.cell(1, c).value for c in range(1, 18)]
    assert header[:5] == ["No", "Kode", "Indikator", "Satuan", "Target Tahunan"]
    for n, tw in enumerate(("I", "II", "III", "IV")):
        assert header[5 + 3 * n : 8 + 3 * n] == [
            f"Target TW {tw}",
            f"Realisasi TW {tw}",
            f"Capaian TW {tw} (%)",
        ]
    expected = {  # kode, indikator, satuan, target tahunan; TW I target, realisasi, capaian
        2: (
            "PEM-1",
            "Persentase layanan administrasi (PATEN) yang diselesaikan sesuai SOP",
            "%",
            95,
            (95, 96, 101.05),
        ),
        3: (
            "PEM-2",
            "Jumlah desa yang difasilitasi administrasi tata pemerintahan desa",
            "Desa",
            12,
            (3, 3, 100),
        ),
        4: (
            "PK-1",
            "Jumlah Laporan Capaian Kinerja dan Ikhtisar Realisasi Kinerja SKPD",
            "Laporan",
            4,
            (1, 1, 100),
        ),
    }
    for row, (kode, name, unit, annual, tw1) in expected.items():
        assert ws.cell(row, 1).value == row - 1
        assert [ws.cell(row, c).value for c in (2, 3, 4, 5)] == [kode, name, unit, annual]
        assert tuple(ws.cell(row, c).value for c in (6, 7, 8)) == tw1, kode
        assert [ws.cell(row, c).value for c in range(9, 18)] == [None] * 9, kode  # TW II–IV

    async with db.transaction() as s:
        cycles = list(await s.scalars(select(Cycle).order_by(Cycle.id)))
        offers = list(await s.scalars(select(Event).where(Event.action == "siklus.tawarkan")))
        marked = list(await s.scalars(select(Event).where(Event.action == "esakip.diinput")))
        maya_id = await s.scalar(select(Person.id).where(Person.nip == PLANNER))
    assert [c.period_key for c in cycles] == [p.key for p in quarters]
    assert all(c.started_by is None for c in cycles)  # opened by the bot, not by a tap
    assert [(e.subject, e.data) for e in offers] == [(p.key, {"otomatis": True}) for p in quarters]
    assert cycles[0].data.get("final")
    assert len(marked) == 1 and marked[0].cycle_id == cycles[0].id
    assert marked[0].actor_id == maya_id and marked[0].channel == "telegram"
    assert not emu.unknown_calls
