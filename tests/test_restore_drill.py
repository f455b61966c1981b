"""The restore drill of the README: back up, lose the database, restore, and the bot continues
the cycle where it was (the real bot process against the local Bot API emulator)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.offline.emulator import BotApiEmulator
from storage.db import Database, is_sqlite
from storage.models import Entry, Indicator, InviteCode, Person
from tests.botproc import BotProcess, User
from tests.conftest import SAMPLE_OFFICE

BUDI = "198305072006041011"


async def budi_code(url: str) -> str:
    db = Database(url)
    try:
        async with db.transaction() as s:
            person = await s.scalar(select(Person).where(Person.nip == BUDI))
            assert person is not None
            code = await s.scalar(select(InviteCode.code).where(InviteCode.person_id == person.id))
            assert code is not None
            return code
    finally:
        await db.dispose()


@pytest.mark.e2e
async def test_backup_wipe_restore_and_the_cycle_goes_on(
    emu: BotApiEmulator, db_url: str, tmp_path: Path
):
    if not is_sqlite(db_url):
        pytest.skip("cadangkan copies SQLite; PostgreSQL is restored with pg_restore")
    database = Path(make_url(db_url).database or "")
    backup = tmp_path / "cadangan" / "kinerja-20261005.db"
    bot = BotProcess(emu, db_url, tmp_path / "bot.log")
    await bot.cli("impor-kantor", str(SAMPLE_OFFICE))
    await bot.cli("buka-siklus", "kecamatan-sukamaju", "TW III 2026")
    code = await budi_code(db_url)
    await bot.start()
    try:
        budi = User(emu, 5002, "Budi")
        await budi.say(f"/start {code}", "Selamat datang")
        await budi.wait("telah dimulai")
        await budi.tap("Isi sekarang", "dua angka")
        await budi.say("48", "penyebut")
        await budi.say("50", "kendala")  # PEM-1 is saved; the bot waits for the kendala

        printed = await bot.cli("cadangkan", str(backup))  # while the bot runs
        assert "pemeriksaan integritas: baik" in printed
    finally:
        await bot.stop()

    # The disk is lost: the database and its WAL files are gone.
    for path in database.parent.glob(database.name + "*"):
        path.unlink()
    assert not database.exists()

    # Restore as the README says: the backup copied to the database's name, then start.
    shutil.copyfile(backup, database)
    await bot.start()
    try:
        await budi.say("Aplikasi SIMPATEN sempat gangguan", "bukti")
        question = await budi.tap("Lewati", "Berapa realisasi pada TW III")  # PEM-2, kumulatif
        assert "PEM-2" in question.text or "PEM-2" in emu.transcript(budi.id)
        await budi.say("7", "kendala")
    finally:
        await bot.stop()

    db = Database(db_url)
    try:
        async with db.transaction() as s:
            rows = {
                kode: e
                for e, kode in await s.execute(select(Entry, Indicator.kode).join(Indicator))
                if kode.startswith("PEM")
            }
    finally:
        await db.dispose()
    assert rows["PEM-1"].numerator == 48 and rows["PEM-1"].denominator == 50
    assert rows["PEM-1"].keterangan == "Aplikasi SIMPATEN sempat gangguan"
    assert rows["PEM-2"].realisasi == 7
