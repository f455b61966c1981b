"""Start-up to "scheduler ready" with many open sheets, against a bare PTB + SQLAlchemy +
APScheduler start. The product side follows ``bot.bootstrap.run_telegram`` up to the moment the
reminder scheduler has started; its replan and first sweep run in the background after that
(their time is reported beside the figure). Polling is not started (no network).
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from telegram.ext import ApplicationBuilder

from bench.bigdb import NOW, big_db
from bench.common import TOKEN, Fixed, Result, Timer
from bench.fakeapi import FakeBotApi
from bench.inbound import FAKE_URL
from bot.bootstrap import build_router
from bot.scheduler import ReminderScheduler
from bot.workers.delivery import Delivery
from flows.core.router import Core
from handlers.telegram import build_application
from storage.db import Database
from storage.migrate import upgrade


async def _product(url: str) -> tuple[float, float]:
    clock = Fixed(NOW)
    fake = FakeBotApi()
    with Timer() as t:
        db = Database(url)
        await upgrade(db.engine)
        delivery = Delivery(db, {}, clock)
        core = Core(db, build_router(), clock, on_outbox=delivery.notify)
        app = build_application(TOKEN, FAKE_URL, FAKE_URL)
        app.bot._request = (fake, fake)  # noqa: SLF001 - build_application takes no request
        await app.initialize()
        await app.start()
        scheduler = ReminderScheduler(core, 300)
        await scheduler.start()
    with Timer() as warm:  # the replan and first sweep, in the background after ready
        assert scheduler.warm_up is not None
        await scheduler.warm_up
    scheduler.stop()
    await app.stop()
    await app.shutdown()
    await db.dispose()
    return t.seconds, warm.seconds


async def _floor(url: str) -> float:
    fake = FakeBotApi()
    with Timer() as t:
        db = Database(url)
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        app = ApplicationBuilder().token(TOKEN).request(fake).get_updates_request(fake).build()
        await app.initialize()
        await app.start()
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.start()
    scheduler.shutdown(wait=False)
    await app.stop()
    await app.shutdown()
    await db.dispose()
    return t.seconds


async def measure(workdir: Path, sheets: int) -> list[Result]:
    big = await big_db(workdir, sheets)
    floor = await _floor(big.url)
    value, warm_up = await _product(big.url)
    return [
        Result(
            "start-up to scheduler ready",
            value,
            "s",
            floor,
            "s",
            "bare PTB + SQLAlchemy + APScheduler start",
            "< 2 s",
            f"{sheets:,} open sheets",
            met=value < 2.0,
            extra={
                "seed_s": big.seed_s,
                "first_plan_and_sweep_s": big.first_sweep_s,
                "background_warm_up_s": warm_up,
            },
        )
    ]
