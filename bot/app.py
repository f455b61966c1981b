"""The composition root: build everything once, run the bot, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.delivery import Delivery
from bot.settings import Settings
from flows import onboarding, worksheet
from flows.context import Clock, SystemClock
from flows.router import Core, Router
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


def build_router() -> Router:
    """Every flow registers its commands, buttons and conversations here, in one place."""
    router = Router()
    onboarding.register(router)
    worksheet.register(router)
    return router


async def run_telegram(
    settings: Settings, clock: Clock | None = None, stop: asyncio.Event | None = None
) -> None:
    """Poll Telegram (or the emulator at TELEGRAM_BASE_URL) until stopped."""
    from handlers.telegram import CHANNEL, TelegramSender, build_application

    assert settings.telegram_token is not None
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    await upgrade(db.engine)
    delivery = Delivery(db, {}, clock)
    core = Core(db, build_router(), clock, on_outbox=delivery.notify)
    app = build_application(
        settings.telegram_token.get_secret_value(),
        settings.bot_api_url,
        settings.bot_file_url,
        core,
    )
    delivery.senders[CHANNEL] = TelegramSender(app)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with app:
        me = await app.bot.get_me()
        log.info("bot @%s started", me.username)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(drop_pending_updates=False, timeout=10)
        sender_task = asyncio.create_task(delivery.run_forever(), name="delivery")
        try:
            await stop.wait()
        finally:
            sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender_task
            await app.updater.stop()
            await app.stop()
    await db.dispose()
    log.info("bot stopped")
