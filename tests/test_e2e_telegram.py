"""End to end: the real bot process, polling the local Bot API emulator over HTTP."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.offline.emulator import BotApiEmulator
from storage.db import Database
from storage.models import Entry, Indicator, InviteCode, Person, StoredFile, Worksheet
from tests.botproc import BotProcess, User
from tests.conftest import SAMPLE_OFFICE

pytestmark = pytest.mark.e2e  # starts the bot process


PHOTO = b"\xff\xd8\xff\xe0" + b"bukti-foto-layanan" * 50


async def invite_code(db: Database, nip: str) -> str:
    async with db.transaction() as s:
        person = await s.scalar(select(Person).where(Person.nip == nip))
        assert person is not None
        code = await s.scalar(select(InviteCode.code).where(InviteCode.person_id == person.id))
        assert code is not None
        return code


async def test_kasi_fills_sheet_through_real_bot_and_survives_a_crash(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    bot = BotProcess(emu, db_url, tmp_path / "bot.log")
    printed = await bot.cli("impor-kantor", str(SAMPLE_OFFICE))
    assert "Kecamatan Sukamaju" in printed
    await bot.cli("buka-siklus", "kecamatan-sukamaju", "TW III 2026")
    budi_code = await invite_code(db, "198305072006041011")
    maya_code = await invite_code(db, "198407162008012006")
    await bot.start()
    try:
        stranger = User(emu, 999, "Orang Lain")
        await stranger.say("/isi", "belum terdaftar")
        await stranger.say("/start SALAH123", "tidak dikenal")

        maya = User(emu, 5001, "Maya")
        await maya.say(f"/start {maya_code}", "Selamat datang")
        budi = User(emu, 5002, "Budi")
        await budi.say(f"/start {budi_code}", "Selamat datang")
        await budi.wait("telah dimulai")  # the hand-out kept for him until he registered
        await User(emu, 5003, "Penyusup").say(f"/start {budi_code}", "sudah dipakai")

        await budi.tap("Isi sekarang", "dua angka")
        assert "PEM-1" in emu.transcript(budi.id)
        await budi.say("abc", "Silakan coba lagi")
        await budi.say("48", "penyebut")
        await budi.say("50", "kendala")
        assert "101,05%" in emu.transcript(budi.id)
        await budi.say("Aplikasi SIMPATEN sempat gangguan", "bukti")
        await budi.photo(PHOTO, "tambahan pada triwulan ini")
        assert "PEM-2" in emu.chat_messages(budi.id)[-2].text

        await bot.kill()  # mid-worksheet
        await bot.start()

        await budi.say("7", "kendala")
        assert "77,78%" in emu.transcript(budi.id)
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "tambahan pada triwulan ini")
        await budi.say("3", "kendala")
        await budi.tap("Lewati", "bukti")
        await budi.tap("Lewati", "rata-rata")
        await budi.say("2.5", "Maksud Anda 2,5?")
        await budi.tap("Ya, benar", "kendala")
        await budi.tap("Lewati", "bukti")
        summary = await budi.tap("Lewati", "Ringkasan")
        assert [t for t, _ in summary.buttons] == ["Kirim", "Ubah"]
        await budi.tap("Kirim", "sudah dikirim")
        note = await maya.wait("dari Budi Santoso")
        assert "101,05%" in note.text and "SIMPATEN" in note.text
    finally:
        await bot.stop()

    async with db.transaction() as s:
        rows = {
            kode: e
            for e, kode in await s.execute(select(Entry, Indicator.kode).join(Indicator))
            if kode.startswith("PEM")
        }
        assert rows["PEM-1"].numerator == 48 and rows["PEM-1"].denominator == 50
        assert rows["PEM-1"].keterangan == "Aplikasi SIMPATEN sempat gangguan"
        assert rows["PEM-2"].realisasi == 7
        assert rows["PEM-3"].realisasi == 3
        assert rows["PEM-4"].realisasi == Decimal("2.5")
        files = list(await s.scalars(select(StoredFile)))
        assert len(files) == 1 and files[0].content == PHOTO
        assert files[0].entry_id == rows["PEM-1"].id
        sheet = await s.get(Worksheet, rows["PEM-1"].worksheet_id)
        assert sheet is not None and sheet.status == "submitted"
    # Every message the bot sent fits Telegram's limits and no unknown method was called.
    assert not emu.unknown_calls
