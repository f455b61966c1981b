"""Crash: a full cycle through the real bot process, SIGKILLed at 30+ points and restarted.

The kill lands at a random moment after a person acted: before the update is stored, between
storing and handling, mid-handling, mid-delivery, mid-render. After each restart the cycle goes
on; at the end every tap acted on once, every message delivered in order, no orphan process.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.offline.emulator import BotApiEmulator
from storage.db import Database
from storage.models import Cycle, DocumentJob, Event, InboxItem, Outbox
from tests.botproc import BotProcess, User
from tests.test_e2e_presets import Autopilot, office_file

pytestmark = [
    pytest.mark.slow,
    # About nine minutes: CI runs it once, in its SQLite pass (the default deployment).
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")), reason="run once in CI, on SQLite"
    ),
]

PRESET = "kebasen-pengukuran"
KILLS = 32
#: Kills while the final documents render, in a row: below the document worker's poison-pill
#: limit (a render that dies three times is given up and the recipients are told).
RENDER_KILLS = 2


def children_of(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from /proc), to find orphans after a kill."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


class CrashPilot(Autopilot):
    """The autopilot, but the bot is killed at random moments right after people act."""

    def __init__(self, emu: BotApiEmulator, db: Database, bot: BotProcess, seed: int) -> None:
        super().__init__(emu, db, 1, PRESET)
        self.bot = bot
        self.rng = random.Random(seed)
        self.kills = 0
        self.orphans: list[int] = []

    async def crash(self) -> None:
        assert self.bot.proc is not None
        pid = self.bot.proc.pid
        workers = children_of(pid)
        await self.bot.kill()
        self.kills += 1
        for _ in range(100):
            if not [w for w in workers if _not_zombie(w)]:
                break
            await asyncio.sleep(0.05)  # waiting on the kernel to end the workers
        self.orphans += [w for w in workers if _not_zombie(w)]
        await self.bot.start()

    async def settle(self) -> None:
        for _ in range(1200):
            async with self.db.transaction() as s:
                pending = await s.scalar(
                    select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
                )
                pending += await s.scalar(
                    select(func.count()).select_from(InboxItem).where(InboxItem.status == "pending")
                )
            if not pending:
                return
            await asyncio.sleep(0.05)  # polling a condition, not waiting for time
        raise AssertionError("outbox did not drain")

    async def act(self, user: User, *, tap: str | None = None, say: str | None = None) -> None:
        await self.settle()
        if tap is not None:
            await self.emu.wait_for(
                lambda: self.emu.find_button(user.id, tap) is not None,
                timeout=60,
                description=f"button {tap!r} for {user.name}",
            )
            update_id = self.emu.user_taps_button(user.id, tap)
        else:
            assert say is not None
            update_id = self.emu.user_sends_text(user.id, say, first_name=user.name)
        if self.kills < KILLS - RENDER_KILLS:
            # The moment of the crash: somewhere from "not yet fetched" to "mid-delivery".
            await asyncio.sleep(self.rng.uniform(0, 0.6))
            await self.crash()
        for _ in range(1200):
            async with self.db.transaction() as s:
                row = await s.scalar(
                    select(InboxItem).where(
                        InboxItem.channel == "telegram", InboxItem.key == str(update_id)
                    )
                )
                if row is not None and row.status == "done":
                    break
            await asyncio.sleep(0.05)  # polling a condition, not waiting for time
        else:
            raise AssertionError(f"update {update_id} of {user.name} was not handled")
        await self.settle()


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def in_order(expected: list[str], seen: list[str]) -> bool:
    """``expected`` is a subsequence of ``seen`` (duplicates in ``seen`` allowed)."""
    it = iter(seen)
    return all(any(text == s for s in it) for text in expected)


async def test_a_full_cycle_survives_32_kills(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    bot = BotProcess(emu, db_url, tmp_path / "bot.log")
    path = tmp_path / "kantor.yaml"
    path.write_text(office_file(1, PRESET), encoding="utf-8")
    await bot.cli("impor-kantor", str(path))
    await bot.start()
    pilot = CrashPilot(emu, db, bot, seed=13)
    try:
        cycle = await asyncio.wait_for(pilot.run(), timeout=900)
        for _ in range(RENDER_KILLS):  # the documents render now: kill mid-render too
            await asyncio.sleep(pilot.rng.uniform(0.5, 3))  # a moment inside the render
            await pilot.crash()
        for _ in range(2400):
            async with db.transaction() as s:
                busy = await s.scalar(
                    select(func.count())
                    .select_from(DocumentJob)
                    .where(DocumentJob.status == "pending")
                )
            if not busy:
                break
            await asyncio.sleep(0.1)  # polling a condition, not waiting for time
        await pilot.settle()
        while pilot.kills < KILLS:  # if the chain had fewer acts: kills at rest, then restarts
            await pilot.crash()
        await pilot.settle()
    finally:
        await bot.stop()

    assert pilot.kills >= 30
    assert not pilot.orphans, f"worker processes outlived a SIGKILLed bot: {pilot.orphans}"
    async with db.transaction() as s:
        cycle = await s.get(Cycle, cycle.id)
        events = list(
            await s.scalars(select(Event).where(Event.cycle_id == cycle.id).order_by(Event.id))
        )
        rows = list(await s.scalars(select(Outbox).order_by(Outbox.id)))
        inbox_rows = list(await s.scalars(select(InboxItem)))
        jobs = list(await s.scalars(select(DocumentJob).where(DocumentJob.final.is_(True))))
    assert cycle.status == "selesai"
    acts = Counter(e.action for e in events)
    # Every transition happened once: one return and one approval per approval level.
    assert acts["siklus.mulai"] == 1 and acts["siklus.selesai"] == 1
    assert acts["langkah.kembalikan"] == 2, acts  # telaah and sahkan, once each
    assert acts["lembar.kembalikan"] == 1, acts
    assert sorted(j.kind for j in jobs) == ["laporan", "rekap"]
    assert [(j.status, j.error) for j in jobs] == [("done", "")] * 2
    assert {r.status for r in inbox_rows} == {"done"}
    # Every promised message delivered, in order per chat (a duplicate per kill at most).
    assert {r.status for r in rows} <= {"sent", "skipped"}, Counter(r.status for r in rows)
    by_chat: dict[str, list[str]] = {}
    for r in rows:
        plain = r.payload.get("document_id") is None and not r.payload.get("edit_of")
        if r.status == "sent" and plain and r.payload.get("text"):
            by_chat.setdefault(r.address, []).append(r.payload["text"].split("\n", 1)[0])
    duplicates = 0
    for address, expected in by_chat.items():
        seen = [
            (m.text or "").split("\n", 1)[0]
            for m in emu.chat_messages(int(address))
            if m.kind != "document"
        ]
        assert in_order(expected, seen), address
        duplicates += len(seen) - len(expected)
    assert duplicates <= pilot.kills
