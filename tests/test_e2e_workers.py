"""Many real processes on one database: three ``--peran web`` workers behind a round-robin
proxy (as nginx would spread Telegram's webhook POSTs) and one ``--peran pekerja``, driven
through the Bot API emulator; and a second poller refused with its own exit code.

The multi-worker test needs PostgreSQL (``TEST_DATABASE_URL``); every process runs on one
file clock (``python -m bot.offline.clocked``) set to the seeded office's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import delete, func, select

from bot.failures import ExitCode
from bot.offline.emulator import BotApiEmulator
from storage.db import Database
from storage.models import Cycle, InboundSeen, InboxItem, Outbox, Person, Reminder, Worksheet
from tests.botproc import ROOT, BotProcess, User
from tests.conftest import SAMPLE_OFFICE
from tests.test_claims import pytestmark_pg
from tests.test_concurrency import KASI, PLANNER, counts, cycle_of, filled_but_not_sent
from tests.test_e2e_reminders import set_clock
from tests.test_e2e_webhook import free_port
from tests.test_reminders import MONDAY, WED_MORNING
from tests.test_reminders import setup as reminder_setup

pytestmark = pytest.mark.e2e  # starts bot processes

SECRET = "rahasia-pekerja_1"
STRANGERS, BURST = 4, 10


class Worker(BotProcess):
    """``python -m bot.offline.clocked --jam FILE jalan --peran ROLE`` in webhook mode."""

    def __init__(
        self,
        emu: BotApiEmulator,
        url: str,
        log: Path,
        clock: Path,
        role: str,
        hook: str,
        sweep: int = 300,
    ) -> None:
        super().__init__(emu, url, log)
        self.clock_file, self.role, self.hook, self.sweep = clock, role, hook, sweep
        self.port = free_port()

    def command(self) -> list[str]:
        return ["-m", "bot.offline.clocked", "--jam", str(self.clock_file), "jalan"] + [
            "--peran",
            self.role,
        ]

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            TELEGRAM_WEBHOOK_URL=self.hook,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            WEBHOOK_PORT=str(self.port),
            SWEEP_INTERVAL_SECONDS=str(self.sweep),
        )
        return env

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *self.command(), cwd=ROOT, env=self.env(), stdout=log, stderr=log
        )
        log.close()


class RoundRobin:
    """The reverse proxy: each POST to the next worker; a worker not up yet answers 502 (and
    the emulator, like Telegram, tries that update again)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = itertools.cycle(ports)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/telegram-kinerja"
        self.received: dict[int, list[int]] = {}  # port → update ids it stored
        self.runner: web.AppRunner | None = None

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        port = next(self.ports)
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"http://127.0.0.1:{port}{request.path}", data=body, headers=request.headers
                ) as resp,
            ):
                status = resp.status
        except aiohttp.ClientError:
            return web.Response(status=502)
        if status == 200:
            update_id = int(re.search(rb'"update_id":\s*(\d+)', body).group(1))  # type: ignore[union-attr]
            self.received.setdefault(port, []).append(update_id)
        return web.Response(status=status)

    async def __aenter__(self) -> RoundRobin:
        app = web.Application()
        app.router.add_post("/telegram-kinerja", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@contextlib.asynccontextmanager
async def running(workers: list[Worker]) -> AsyncIterator[None]:
    for w in workers:
        await w.start()
    try:
        yield
    finally:
        await asyncio.gather(*(w.stop() for w in workers))


async def rekap_cards(db: Database) -> int:
    """How many times the rekap step was entered (its card; a later edit closes it)."""
    async with db.transaction() as s:
        return sum(
            1
            for r in await s.scalars(select(Outbox))
            if "Rekap sementara" in r.payload.get("text", "") and not r.payload.get("edit_of")
        )


async def all_handled(db: Database) -> bool:
    async with db.transaction() as s:
        return not await s.scalar(select(func.count()).where(InboxItem.status != "done"))


@pytestmark_pg
@pytest.mark.slow
async def test_three_web_workers_handle_every_update_once_in_order_and_race_correctly(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    chat = await filled_but_not_sent(db)  # both sheets one tap from Kirim (messages queued)
    async with db.transaction() as s:
        await s.execute(delete(InboundSeen))  # the seeding's own update keys: not the emulator's
    clock = tmp_path / "jam.txt"
    set_clock(clock, chat.clock.now())
    emu.add_user(101, "Camat")
    emu.add_user(104, "Sri")
    maya, budi = User(emu, int(PLANNER), "Maya"), User(emu, int(KASI), "Budi")
    strangers = [7000 + i for i in range(STRANGERS)]
    for uid in strangers:
        emu.add_user(uid, f"Tamu {uid}")
    ports = [free_port() for _ in range(3)]
    async with RoundRobin(ports) as proxy:
        web_workers = [
            Worker(emu, db_url, tmp_path / f"web{i}.log", clock, "web", proxy.url) for i in range(3)
        ]
        for w, port in zip(web_workers, ports, strict=True):
            w.port = port
        pekerja = Worker(emu, db_url, tmp_path / "pekerja.log", clock, "pekerja", proxy.url)
        async with running([*web_workers, pekerja]):
            await emu.wait_for(
                lambda: emu.find_button(budi.id, "Kirim") and emu.find_button(maya.id, "Kirim"),
                timeout=90,
                description="the pekerja to deliver the seeded Kirim buttons",
            )
            # 1. Bursts from four chats at once, each answer naming its code.
            for n in range(BURST):
                for uid in strangers:
                    emu.user_sends_text(uid, f"/start KODE{n:02d}", first_name="Tamu")
            # 2. The last two sheets' Kirim at the same moment (stored by different workers).
            card = emu.mark(maya.id)
            emu.user_taps_button(budi.id, "Kirim")
            emu.user_taps_button(maya.id, "Kirim")
            await emu.wait_for_message(maya.id, "Rekap sementara", after=card, timeout=60)
            await until(lambda: all_handled(db), "both Kirim handled")
            assert (await counts(db, "lembar.kirim"))["lembar.kirim"] == 2
            assert (await cycle_of(db)).step == "olah_data"
            assert await rekap_cards(db) == 1  # the cycle moved on exactly once
            # 3. A return from the rekap racing Teruskan: the reason and the tap at once.
            await maya.tap("Kembalikan lembar", "dikembalikan?")
            await maya.tap("PEM", "alasan")
            returned = emu.mark(budi.id)
            emu.user_sends_text(maya.id, "PEM-2: angka desa belum sesuai", first_name="Maya")
            emu.user_taps_button(maya.id, "Teruskan")
            await emu.wait_for_message(budi.id, "Perbaiki sekarang", after=returned, timeout=60)
            await until(lambda: all_handled(db), "the return and Teruskan handled")
            log = await counts(db, "lembar.kembalikan", "langkah.selesai")
            assert log == {"lembar.kembalikan": 1, "langkah.selesai": 0}  # the log says which
            assert (await cycle_of(db)).step == "sampaikan_data"  # and matches the state
            # The Kasi corrects and sends again; the rekap card comes back.
            await budi.tap("Perbaiki sekarang", "Berapa realisasi")
            await budi.say("7", "kendala")
            await budi.tap("Lewati", "bukti")
            await budi.tap("Lewati", "Ringkasan")
            card = emu.mark(maya.id)
            await budi.tap("Kirim", "sudah dikirim")
            await emu.wait_for_message(maya.id, "Rekap sementara", after=card, timeout=60)
            # 4. One card tapped three times at once.
            for _ in range(3):
                emu.user_taps_button(maya.id, "Teruskan")

            def answered() -> bool:
                return all(
                    sum("tidak dikenal" in m.text for m in emu.chat_messages(uid)) == BURST
                    for uid in strangers
                )

            await emu.wait_for(answered, timeout=90, description="every stranger answered")
            await emu.wait_for(
                lambda: not emu.pending_updates, timeout=60, description="every update posted"
            )
            await until(lambda: all_handled(db), "every update handled")

    # Spread: each web worker stored updates (the proxy took turns).
    assert all(proxy.received.get(p) for p in ports), proxy.received
    # Exactly once: every posted update is one inbox row, handled once, seen once by the core.
    async with db.transaction() as s:
        rows = list(await s.scalars(select(InboxItem).order_by(InboxItem.id)))
        seen = int(await s.scalar(select(func.count()).select_from(InboundSeen)) or 0)
        replies = list(
            await s.scalars(
                select(Outbox)
                .where(Outbox.address.in_([str(u) for u in strangers]))
                .order_by(Outbox.id)
            )
        )
    posted = sum(len(v) for v in proxy.received.values())
    assert len(rows) == posted == emu.webhook_posts
    assert all(r.status == "done" and r.attempts == 1 for r in rows)
    assert seen == len(rows)
    # In order per chat: the answers were written (outbox ids) in the order the codes came.
    for uid in strangers:
        codes = [
            re.search(r"KODE(\d\d)", r.payload["text"]).group(1)  # type: ignore[union-attr]
            for r in replies
            if r.address == str(uid)
        ]
        assert codes == [f"{n:02d}" for n in range(BURST)], (uid, codes)
    # The card made one decision; the log matches the state.
    assert (await counts(db, "lembar.kirim"))["lembar.kirim"] == 3
    assert (await counts(db, "langkah.selesai"))["langkah.selesai"] == 1
    assert await rekap_cards(db) == 2
    assert (await cycle_of(db)).step not in ("sampaikan_data", "olah_data")


async def test_a_second_poller_on_the_same_database_stops_with_its_own_exit_code(
    emu: BotApiEmulator, db_url: str, tmp_path: Path
):
    first = BotProcess(emu, db_url, tmp_path / "bot.log")
    await first.cli("impor-kantor", str(SAMPLE_OFFICE))
    await first.start()
    try:
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "jalan",
            cwd=ROOT,
            env=first.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == ExitCode.POLLER, err.decode()
        text = err.decode()
        said = [line for line in text.splitlines() if "mode polling" in line]
        assert len(said) == 1 and said[0] == text.strip().splitlines()[-1]  # one line, the last
        assert "Traceback" not in text
        assert first.proc is not None and first.proc.returncode is None  # the first polls on
    finally:
        await first.stop()


# --- the scheduler leader killed mid-sweep ---------------------------------------------------

MANY = 1_100  # more due reminders than one sweep batch (500): the sweep takes several commits


async def office_with_many_sheets(db: Database) -> datetime:
    """The reminder tests' office with MANY more sheets at the isi step; returns "now"."""
    ids, _ = await reminder_setup(db)
    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
        people = [
            Person(
                office_id=ids["office"],
                nip=f"19900101201501{i:04d}",
                nama=f"Staf {i}",
                jabatan="Kasi",
                role="kasi",
            )
            for i in range(MANY)
        ]
        s.add_all(people)
        await s.flush()
        s.add_all(Worksheet(cycle_id=cycle.id, person_id=p.id, section_id=1) for p in people)
    return (MONDAY + timedelta(hours=1)).astimezone(UTC)


async def count(db: Database, query: Any) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(query) or 0)


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 90) -> None:
    """Re-check an async condition (the database, a log) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def says(worker: Worker, words: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return worker.log_path.exists() and words in worker.log_path.read_text(errors="replace")

    return check


@pytestmark_pg
@pytest.mark.slow
async def test_the_leader_killed_mid_sweep_is_replaced_and_no_reminder_is_lost_or_doubled(
    emu: BotApiEmulator, db: Database, db_url: str, tmp_path: Path
):
    clock = tmp_path / "jam.txt"
    set_clock(clock, await office_with_many_sheets(db))
    a, b = (
        Worker(emu, db_url, tmp_path / f"pekerja{i}.log", clock, "pekerja", "", sweep=1)
        for i in range(2)
    )
    due = (
        select(func.count())
        .select_from(Reminder)
        .where(Reminder.status == "pending", Reminder.due_at <= WED_MORNING.astimezone(UTC))
    )
    sent = select(func.count()).select_from(Reminder).where(Reminder.status == "sent")
    await a.start()
    try:
        await until(says(a, "leads the scheduler"), "the first pekerja to lead")

        async def planned() -> bool:
            return await count(db, due) > 2 * 500

        await until(planned, "the leader to plan the reminders")
        await b.start()
        await until(says(b, "started"), "the second pekerja")
        assert not await says(b, "leads the scheduler")()
        expected = await count(db, due)
        set_clock(clock, WED_MORNING)  # reminders fall due: the leader sweeps, batch by batch

        async def first_batch_committed() -> bool:
            return await count(db, sent) > 0

        await until(first_batch_committed, "the leader's first batch")
        await a.kill()  # SIGKILL mid-sweep: its open batch rolls back, its session (lock) ends
        mid_sweep = await count(db, sent) < expected

        async def swept() -> bool:
            return await count(db, due) == 0

        await until(swept, "the new leader to finish the sweep", timeout=120)
        assert await says(b, "leads the scheduler")()
    finally:
        await a.stop()
        await b.stop()
    async with db.transaction() as s:
        keys = set(await s.scalars(select(Reminder.key).where(Reminder.status == "sent")))
        messages = list(
            await s.scalars(select(Outbox.dedupe_key).where(Outbox.dedupe_key.in_(keys)))
        )
    assert mid_sweep  # the leader died with work left, and the follower did it
    # Nothing due was lost (``swept``: none left pending) and most of it was sent.
    assert len(keys) > expected // 2
    assert sorted(messages) == sorted(keys)  # each sent reminder is one message: none doubled
