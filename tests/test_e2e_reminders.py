"""End to end: a late Kasi reminded and escalated by the real bot process, on a file clock.

The bot runs through ``python -m bot.offline.clocked`` (test-only: "now" is read from a file)
with a one-second safety sweep. Moving the file clock past the deadline to a working morning
makes the next sweep send the reminder to the Kasi and the escalation to the planner and the
Sekcam. Nothing sleeps: the test waits for the messages to arrive at the emulator.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.offline.emulator import BotApiEmulator
from storage.db import Database
from storage.models import Reminder
from tests.botproc import BotProcess, User
from tests.conftest import SAMPLE_OFFICE
from tests.flowkit import Chat, FakeClock, open_quarter
from tests.test_e2e_telegram import invite_code

pytestmark = pytest.mark.e2e  # starts the bot process


WIB = ZoneInfo("Asia/Jakarta")
MONDAY = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)  # the cycle opens; isi due Thu 8 Oct 16.00
FRIDAY_MORNING = datetime(2026, 10, 9, 8, 0, tzinfo=WIB)  # a working morning, overdue


class ClockedBot(BotProcess):
    """The bot process on a file clock with a fast safety sweep."""

    def __init__(self, emu: BotApiEmulator, database_url: str, log: Path, clock: Path) -> None:
        super().__init__(emu, database_url, log)
        self.clock_file = clock

    def command(self) -> list[str]:
        return ["-m", "bot.offline.clocked", "--jam", str(self.clock_file), "jalan"]

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(SWEEP_INTERVAL_SECONDS="1")
        return env


def set_clock(path: Path, moment: datetime) -> None:
    """Rewrite the clock file atomically (the bot may read it at any moment)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(moment.isoformat(), encoding="utf-8")
    os.replace(tmp, path)


async def test_late_kasi_is_reminded_and_escalated_through_the_real_bot(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    clock_file = tmp_path / "jam.txt"
    set_clock(clock_file, MONDAY)
    bot = ClockedBot(emu, db_url, tmp_path / "bot.log", clock_file)
    await bot.cli("impor-kantor", str(SAMPLE_OFFICE))
    # Open TW III at its isi step on the engine, at the file clock's time (the admin shortcut).
    admin = Chat(db, FakeClock(MONDAY.astimezone(UTC)))
    await open_quarter(admin, "kecamatan-sukamaju", "2026-TW3")
    codes = {
        nip: await invite_code(db, nip)
        for nip in ("198305072006041011", "198407162008012006", "198009212001122002")
    }
    await bot.start()
    try:
        budi = User(emu, 6001, "Budi")
        maya = User(emu, 6002, "Maya")
        rina = User(emu, 6003, "Rina")
        await budi.say(f"/start {codes['198305072006041011']}", "Selamat datang")
        await maya.say(f"/start {codes['198407162008012006']}", "Selamat datang")
        await rina.say(f"/start {codes['198009212001122002']}", "Selamat datang")
        handout = await budi.wait("telah dimulai")
        assert "Kamis, 8 Oktober 2026 pukul 16.00 WIB" in handout.text

        mark = {u.id: emu.mark(u.id) for u in (budi, maya, rina)}
        set_clock(clock_file, FRIDAY_MORNING)
        late = await emu.wait_for_message(budi.id, "Terlambat", after=mark[budi.id], timeout=60)
        assert "Kamis, 8 Oktober 2026 pukul 16.00 WIB" in late.text and "/isi" in late.text
        to_planner = await emu.wait_for_message(
            maya.id, "Laporan keterlambatan", after=mark[maya.id], timeout=60
        )
        assert "Budi Santoso" in to_planner.text
        to_sekcam = await emu.wait_for_message(
            rina.id, "Laporan keterlambatan", after=mark[rina.id], timeout=60
        )
        assert "Budi Santoso" in to_sekcam.text and "Maya Sari Dewi" in to_sekcam.text
    finally:
        await bot.stop()

    texts = [m.text for m in emu.chat_messages(budi.id)]
    assert sum("Terlambat" in t for t in texts) == 1
    async with db.transaction() as s:
        sent = list(
            await s.scalars(
                select(Reminder).where(Reminder.kind == "eskalasi", Reminder.status == "sent")
            )
        )
    assert len(sent) == 2  # the planner and the Sekcam, once each
    assert not emu.unknown_calls
