"""Three real ``kinerja-bot jalan --peran pekerja`` processes on one PostgreSQL outbox, sending
to the Bot API emulator: each message exactly once (at least once when one is SIGKILLed), each
chat in order, never more than 30 sends in any second between them all."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from bench.common import max_in_window
from bot.offline.emulator import BotApiEmulator
from storage.db import Database, is_sqlite
from storage.models import Outbox
from tests.botproc import ROOT, BotProcess
from tests.test_delivery_claims import START

URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not URL or is_sqlite(URL), reason="needs PostgreSQL in TEST_DATABASE_URL"),
]

WORKERS = 3
CHATS, PER_CHAT = 30, 10
FIRST_CHAT = 700_000


class Pekerja(BotProcess):
    """A delivery-only process; it never polls, so it is up once it has asked ``getMe``."""

    def __init__(self, emu: BotApiEmulator, url: str, log_path: Path, lease: float) -> None:
        super().__init__(emu, url, log_path)
        self.lease = lease

    def env(self) -> dict[str, str]:
        return super().env() | {
            "DELIVERY_LIMITS": "true",  # what these tests are about
            "DELIVERY_WORKERS": str(WORKERS),
            "DELIVERY_LEASE_SECONDS": str(self.lease),
        }

    def command(self) -> list[str]:
        return ["-m", "bot", "jalan", "--peran", "pekerja"]

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *self.command(), cwd=ROOT, env=self.env(), stdout=log, stderr=log
        )
        log.close()

    def sends(self) -> int:
        """Rows this process marked sent (its log lines)."""
        text = self.log_path.read_text(errors="replace")
        return len(re.findall(r"result=sent attempt=", text))


async def fill(db: Database) -> None:
    rows = [
        {
            "dedupe_key": f"e2e:{chat}:{n}",
            "channel": "telegram",
            "address": str(FIRST_CHAT + chat),
            "payload": {"text": f"pesan {n}"},
            "created_at": START,
        }
        for n in range(PER_CHAT)
        for chat in range(CHATS)
    ]
    async with db.transaction() as s:
        await s.execute(insert(Outbox), rows)


def texts_by_chat(emu: BotApiEmulator) -> dict[int, list[int]]:
    return {
        FIRST_CHAT + c: [int(m.text.split()[1]) for m in emu.chat_messages(FIRST_CHAT + c)]
        for c in range(CHATS)
    }


async def unsent(db: Database) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).where(Outbox.status != "sent")) or 0)


async def start_all(emu: BotApiEmulator, db: Database, tmp_path: Path, lease: float):  # noqa: ANN201
    for c in range(CHATS):
        emu.add_user(FIRST_CHAT + c, f"Pegawai {c}")
    workers = [Pekerja(emu, db.url, tmp_path / f"pekerja{i}.log", lease) for i in range(WORKERS)]
    for w in workers:
        await w.start()
    await emu.wait_for(
        lambda: len(emu.calls_to("getMe")) >= WORKERS, timeout=90, description="three pekerja up"
    )
    await fill(db)  # every process is idle now: each finds the rows on its next look
    return workers


async def stop_all(workers: list[Pekerja]) -> None:
    for w in workers:
        await w.stop()


async def test_three_pekerja_send_one_outbox_exactly_once_in_order(emu, db, tmp_path):
    workers = await start_all(emu, db, tmp_path, lease=120.0)
    try:
        await emu.wait_for(
            lambda: len(emu.calls_to("sendMessage")) >= CHATS * PER_CHAT,
            timeout=120,
            description="every message sent",
        )
        for _ in range(100):  # the last batch's marks commit after its sends
            if not await unsent(db):
                break
            await asyncio.sleep(0.1)
    finally:
        await stop_all(workers)
    assert len(emu.calls_to("sendMessage")) == CHATS * PER_CHAT  # none twice
    assert all(ns == list(range(PER_CHAT)) for ns in texts_by_chat(emu).values())
    stamps = [c.at for c in emu.calls_to("sendMessage")]
    assert max_in_window(stamps) <= 30
    assert sum(1 for w in workers if w.sends()) >= 2, [w.sends() for w in workers]
    assert sum(w.sends() for w in workers) == CHATS * PER_CHAT
    assert await unsent(db) == 0


async def test_a_pekerja_killed_mid_fan_out_loses_nothing(emu, db, tmp_path):
    workers = await start_all(emu, db, tmp_path, lease=5.0)
    try:
        await emu.wait_for(
            lambda: len(emu.calls_to("sendMessage")) >= CHATS * PER_CHAT // 4,
            timeout=120,
            description="a quarter sent",
        )
        await workers[0].kill()
        await emu.wait_for(
            lambda: all(
                len(ns) >= PER_CHAT and ns[-1] == PER_CHAT - 1 for ns in texts_by_chat(emu).values()
            ),
            timeout=120,
            description="every chat's last message sent",
        )
        for _ in range(100):
            if not await unsent(db):
                break
            await asyncio.sleep(0.1)
    finally:
        await stop_all(workers)
    for ns in texts_by_chat(emu).values():
        collapsed = [n for i, n in enumerate(ns) if i == 0 or n != ns[i - 1]]
        assert collapsed == list(range(PER_CHAT))  # in order; a repeat only right after itself
    sent = len(emu.calls_to("sendMessage"))
    assert CHATS * PER_CHAT <= sent <= CHATS * PER_CHAT + CHATS  # at most one claim repeated
    assert await unsent(db) == 0
