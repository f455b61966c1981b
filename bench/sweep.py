"""The idle reminder sweep over many open sheets (nothing is due), against the queue floor
``SELECT min(due_at)`` over pending reminders; and an ``/isi`` sent while that sweep runs,
against the same ``/isi`` when nothing else runs."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.bigdb import NOW, big_db, sweep_once
from bench.common import Fixed, Result, Timer
from bot.bootstrap import build_router
from flows.core.messages import Inbound
from flows.core.router import Core
from storage.db import Database
from storage.models import Reminder

_keys = itertools.count(1)  # a fresh update id per /isi (a repeated one would be a duplicate)
#: How long the sweep runs before the /isi arrives.
HEAD_START = 0.2


async def _queue_floor(db: Database) -> tuple[float, int]:
    with Timer() as t:
        async with db.transaction() as s:
            await s.scalar(select(func.min(Reminder.due_at)).where(Reminder.status == "pending"))
    async with db.transaction() as s:
        pending = await s.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.status == "pending")
        )
    return t.seconds, int(pending or 0)


async def _isi(core: Core, chat: int, key: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    try:
        await core.handle(Inbound("telegram", str(chat), key, command="isi"))
    except Exception as exc:  # noqa: BLE001 - the figure is how it fails
        return time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"[:160]
    return time.perf_counter() - t0, ""


async def measure(workdir: Path, sheets: int) -> list[Result]:
    big = await big_db(workdir, sheets)
    db = Database(big.url)
    core = Core(db, build_router(), Fixed(NOW))
    try:
        floor, pending = await _queue_floor(db)
        with Timer() as t:
            await sweep_once(core)
        idle = t.seconds
        alone, _ = await _isi(core, big.chats[0], f"bench-isi-{next(_keys)}")
        task = asyncio.create_task(sweep_once(core))
        await asyncio.sleep(HEAD_START)
        sweep_running = not task.done()
        during, error = await _isi(core, big.chats[1], f"bench-isi-{next(_keys)}")
        await task
    finally:
        await db.dispose()
    size = f"{sheets:,} open sheets, {pending:,} pending reminders"
    return [
        Result(
            "idle reminder sweep",
            idle,
            "s",
            floor,
            "s",
            "SELECT min(due_at) over pending reminders",
            "<= 5x floor",
            size,
            met=idle <= 5 * floor,
        ),
        Result(
            "/isi during that sweep",
            during * 1000,
            "ms",
            alone * 1000,
            "ms",
            "the same /isi with no sweep running",
            "<= 100 ms",
            size,
            met=not error and during <= 0.1,
            extra={"error": error, "sweep_still_running_when_sent": sweep_running},
        ),
    ]
