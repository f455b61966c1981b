"""The large database shared by the start-up and sweep figures: seeded once per run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench import seed
from bench.common import WIB, Fixed, Timer, fresh_db
from bot.bootstrap import build_router
from bot.scheduler import ReminderScheduler
from flows.core.context import Ctx
from flows.core.router import Core
from flows.sop import reminders

STARTED = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)  # Monday
DUE = datetime(2026, 10, 8, 16, 0, tzinfo=WIB)  # Thursday: nothing is due on Monday morning
NOW = datetime(2026, 10, 5, 10, 0, tzinfo=WIB)


@dataclass
class BigDb:
    url: str
    sheets: int
    chats: list[int]  # the first office's Kasi
    seed_s: float
    first_sweep_s: float


_cache: dict[tuple[Path, int], BigDb] = {}


async def sweep_once(core: Core) -> None:
    async def work(ctx: Ctx) -> None:
        await reminders.sweep(ctx)

    await core.run(work)


async def big_db(workdir: Path, sheets: int) -> BigDb:
    """``sheets`` open worksheets (offices of 1,000), after one sweep (the bot ran before)."""
    key = (workdir, sheets)
    if key not in _cache:
        async with fresh_db(workdir, f"big-{sheets}") as db:
            with Timer() as t_seed:
                chats = await seed.open_sheets(db, sheets, STARTED, DUE)
            with Timer() as t_sweep:  # the rows the flows would have written, then one sweep
                core = Core(db, build_router(), Fixed(NOW))
                await ReminderScheduler(core).reconcile()
                await sweep_once(core)
            _cache[key] = BigDb(db.url, sheets, chats, t_seed.seconds, t_sweep.seconds)
    return _cache[key]
