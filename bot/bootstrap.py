"""The composition root: build everything once, run the bot, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from urllib.parse import urlsplit

from bot.settings import Settings
from bot.workers.delivery import Delivery
from flows.chat import cycle_cmds, deadline_cmds, onboarding, rekap_cmd, worksheet
from flows.core.context import Clock, SystemClock
from flows.core.router import Core, Router
from flows.sop import review as sheet_review
from flows.sop import step_talk, steps
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


def build_router() -> Router:
    """Every flow registers its commands, buttons and conversations here, in one place."""
    router = Router()
    onboarding.register(router)
    worksheet.register(router)
    cycle_cmds.register(router)
    rekap_cmd.register(router)
    deadline_cmds.register(router)
    router.conversation(steps.FLOW, step_talk.on_message)
    router.action("sop.lanjut", steps.on_next)
    router.action("sop.bagikan", steps.on_hand_out)
    router.action("sop.setujui", steps.on_approve)
    router.action("sop.kembalikan", steps.on_return_ask)
    router.action("sop.tulis", steps.on_write_ask)
    router.action("sop.pilih_lembar", sheet_review.on_pick_sheet)
    router.action("sop.lembar", sheet_review.on_sheet_picked)
    router.action("lembar.terima", sheet_review.on_accept)
    router.action("lembar.kembalikan", sheet_review.on_return_ask)
    return router


async def run_telegram(
    settings: Settings, clock: Clock | None = None, stop: asyncio.Event | None = None
) -> None:
    """Poll Telegram (or the emulator at TELEGRAM_BASE_URL) until stopped."""
    from bot.scheduler import FileClock, ReminderScheduler
    from bot.workers.documents import DocumentWorker
    from handlers.telegram import CHANNEL, TelegramSender, build_application
    from reports.pdf import make_render_executor

    assert settings.telegram_token is not None
    if clock is None:
        # TEST_CLOCK_FILE is for end-to-end tests only (time read from a file).
        clock = FileClock(settings.test_clock_file) if settings.test_clock_file else SystemClock()
    db = Database(settings.database_url)
    await upgrade(db.engine)
    delivery = Delivery(db, {}, clock)
    # Documents render in a separate process; a new document's messages wake the delivery.
    documents = DocumentWorker(db, clock, make_render_executor(), on_outbox=delivery.notify)

    def wake() -> None:
        """New outbox rows (and maybe a new document job): wake both workers."""
        delivery.notify()
        documents.notify()

    core = Core(db, build_router(), clock, on_outbox=wake)
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
        if settings.telegram_webhook_url:
            secret = settings.telegram_webhook_secret
            await app.updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
                webhook_url=settings.telegram_webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                drop_pending_updates=False,
            )
            log.info(
                "webhook mode, listening on %s:%s", settings.webhook_listen, settings.webhook_port
            )
        else:
            await app.updater.start_polling(drop_pending_updates=False, timeout=10)
        sender_task = asyncio.create_task(delivery.run_forever(), name="delivery")
        documents_task = asyncio.create_task(documents.run_forever(), name="documents")
        reminders = ReminderScheduler(core, settings.sweep_interval_seconds)
        try:
            await reminders.start()
            await stop.wait()
        finally:
            reminders.stop()
            for task in (documents_task, sender_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if documents.executor is not None:
                # Wait for the pool's manager thread, so its queues (and their semaphores) are
                # released now and not at some later garbage collection.
                pool, documents.executor = documents.executor, None
                await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
            await app.updater.stop()
            await app.stop()
    await db.dispose()
    log.info("bot stopped")
