"""The composition root: build everything once, run the bot, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from datetime import timedelta
from urllib.parse import urlsplit

from bot.settings import Settings
from bot.workers.delivery import Delivery
from flows.chat import cycle_cmds, deadline_cmds, onboarding, rekap_cmd, worksheet
from flows.core import texts
from flows.core.context import Clock, SystemClock
from flows.core.router import Core, Router
from flows.sop import review as sheet_review
from flows.sop import step_talk, steps
from storage import retention
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


class StartupError(Exception):
    """The bot cannot start as configured; the message is for the operator (Indonesian)."""


def check_webhook_settings(settings: Settings) -> None:
    """Webhook mode without a valid secret would accept forged updates: refuse to start."""
    if not settings.telegram_webhook_url:
        return
    secret = settings.telegram_webhook_secret
    value = secret.get_secret_value() if secret is not None else ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
        raise StartupError(texts.render("admin/webhook_tanpa_rahasia"))


async def prune_forever(db: Database, clock: Clock, days: int, every: float = 6 * 3600) -> None:
    """Retention: prune old delivery and dedupe rows at start and then every few hours."""
    while True:
        try:
            async with db.transaction() as session:
                counts = await retention.prune(session, clock.now(), days)
            log.info("retention pruned %s", " ".join(f"{k}={v}" for k, v in counts.items()))
        except Exception:
            log.exception("retention sweep failed")
        await asyncio.sleep(every)


async def run_telegram(
    settings: Settings, clock: Clock | None = None, stop: asyncio.Event | None = None
) -> None:
    """Take Telegram updates (polling, or the webhook) into the inbox and handle them."""
    from bot.scheduler import FileClock, ReminderScheduler
    from bot.workers.documents import DocumentWorker
    from bot.workers.inbox import InboxWorker
    from handlers.telegram import CHANNEL, TelegramInbox, TelegramSender, build_application
    from handlers.telegram_intake import ALLOWED_UPDATES, TelegramPoller, TelegramWebhook
    from reports.pdf import make_render_executor

    assert settings.telegram_token is not None
    check_webhook_settings(settings)
    # Delivery handles a 429 itself (that chat waits); PTB's limiter would log each at ERROR.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    if clock is None:
        # TEST_CLOCK_FILE is for end-to-end tests only (time read from a file).
        clock = FileClock(settings.test_clock_file) if settings.test_clock_file else SystemClock()
    db = Database(settings.database_url)
    await upgrade(db.engine)
    delivery = Delivery(db, {}, clock, patience=timedelta(hours=settings.delivery_patience_hours))
    # Documents render in a separate process; a new document's messages wake the delivery.
    documents = DocumentWorker(db, clock, make_render_executor(), on_outbox=delivery.notify)

    def wake() -> None:
        """New outbox rows (and maybe a new document job): wake both workers."""
        delivery.notify()
        documents.notify()

    core = Core(db, build_router(), clock, on_outbox=wake)
    app = build_application(
        settings.telegram_token.get_secret_value(), settings.bot_api_url, settings.bot_file_url
    )
    delivery.senders[CHANNEL] = TelegramSender(app)
    delivery.on_failed = core.run
    intake = InboxWorker(db, {CHANNEL: TelegramInbox(app.bot, core)}, clock)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    webhook: TelegramWebhook | None = None
    async with app:
        me = await app.bot.get_me()
        log.info("bot @%s started", me.username)
        tasks = [
            asyncio.create_task(intake.run_forever(), name="inbox"),
            asyncio.create_task(delivery.run_forever(), name="delivery"),
            asyncio.create_task(documents.run_forever(), name="documents"),
            asyncio.create_task(
                prune_forever(db, clock, settings.retention_days), name="retention"
            ),
        ]
        if settings.telegram_webhook_url:
            secret = settings.telegram_webhook_secret
            assert secret is not None
            webhook = TelegramWebhook(
                db,
                clock,
                secret=secret.get_secret_value(),
                path=urlsplit(settings.telegram_webhook_url).path,
                max_body=settings.webhook_max_body_bytes,
                on_stored=intake.notify,
            )
            await webhook.start(settings.webhook_listen, settings.webhook_port)
            await app.bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
            log.info(
                "webhook mode, listening on %s:%s", settings.webhook_listen, settings.webhook_port
            )
        else:
            await app.bot.delete_webhook(drop_pending_updates=False)
            poller = TelegramPoller(app.bot, db, clock, on_stored=intake.notify)
            tasks.append(asyncio.create_task(poller.run(stop), name="polling"))
        reminders = ReminderScheduler(core, settings.sweep_interval_seconds)
        try:
            await reminders.start()
            await stop.wait()
        finally:
            reminders.stop()
            if webhook is not None:
                await webhook.stop()
            for task in reversed(tasks):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if documents.executor is not None:  # wait for the worker process to exit
                pool = documents.executor
                await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
    await db.dispose()
    log.info("bot stopped")
