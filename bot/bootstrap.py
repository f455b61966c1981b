"""The composition root: build everything once, run the bot, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from urllib.parse import urlsplit

from bot.settings import Settings
from bot.workers.delivery import Delivery
from flows.chat import admin_cmds, ask, cycle_cmds, deadline_cmds, onboarding, rekap_cmd, worksheet
from flows.core.context import Clock, SystemClock
from flows.core.router import Core, Router
from flows.sop.kinds import catalog as step_kinds
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)

#: The clock of a bot run without an explicit one. Production never changes it; only the
#: offline entry point ``python -m bot.offline.clocked`` installs a file clock (tests).
make_clock: Callable[[], Clock] = SystemClock


def build_router() -> Router:
    """Every flow registers its commands, buttons and conversations here, in one place."""
    router = Router()
    onboarding.register(router)
    worksheet.register(router)
    cycle_cmds.register(router)
    rekap_cmd.register(router)
    deadline_cmds.register(router)
    admin_cmds.register(router)
    ask.register(router)
    step_kinds.install(router)  # every SOP step kind: the engine's registry, taps, answers
    return router


def whatsapp_enabled(settings: Settings) -> bool:
    """WhatsApp runs when its phone number id and token are set."""
    token = settings.whatsapp_token
    return bool(settings.whatsapp_phone_id and token and token.get_secret_value().strip())


def telegram_enabled(settings: Settings) -> bool:
    token = settings.telegram_token
    return token is not None and bool(token.get_secret_value().strip())


async def _start_whatsapp(
    settings: Settings, core: Core, delivery: Delivery, stack: contextlib.AsyncExitStack
) -> None:
    """The WhatsApp sender and webhook server, in this event loop, closed when ``stack`` is."""
    from aiohttp import web

    from handlers.whatsapp.inbound import CHANNEL as WA
    from handlers.whatsapp.sender import (
        TemplateNames,
        WhatsAppSender,
        build_client,
        graph_client,
    )
    from handlers.whatsapp.webhook import WhatsAppWebhook

    secret = settings.whatsapp_app_secret
    if secret is None or not secret.get_secret_value().strip():
        raise SystemExit(
            "WHATSAPP_APP_SECRET is not set: refusing to start WhatsApp without checking "
            "webhook signatures"
        )
    assert settings.whatsapp_token is not None
    http = graph_client(settings.whatsapp_graph_url)
    stack.push_async_callback(http.aclose)
    client = build_client(
        settings.whatsapp_phone_id,
        settings.whatsapp_token.get_secret_value(),
        settings.whatsapp_graph_url,
        session=http,
    )
    templates = TemplateNames(
        language=settings.whatsapp_template_language,
        names={
            "pengingat": settings.whatsapp_template_pengingat,
            "persetujuan": settings.whatsapp_template_persetujuan,
        },
        generic=settings.whatsapp_template_pemberitahuan,
    )
    sender = WhatsAppSender(client, templates)
    delivery.senders[WA] = sender
    verify = settings.whatsapp_verify_token
    hook = WhatsAppWebhook(
        core,
        client,
        sender,
        app_secret=secret.get_secret_value(),
        verify_token=verify.get_secret_value() if verify else "",
        path=settings.whatsapp_path,
    )
    runner = web.AppRunner(hook.app(), access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, settings.whatsapp_listen, settings.whatsapp_port).start()
    log.info(
        "whatsapp webhook listening on %s:%s%s",
        settings.whatsapp_listen,
        settings.whatsapp_port,
        settings.whatsapp_path,
    )


#: What a process runs, by ``kinerja-bot jalan --peran``: the channels' intake (``web``), the
#: workers and the scheduler (``pekerja``), or both (``semua``).
ROLES = {"web": {"web"}, "pekerja": {"pekerja"}, "semua": {"web", "pekerja"}}


async def run_telegram(
    settings: Settings,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    role: str = "semua",
) -> None:
    """Run what is configured: Telegram (polling or webhook), WhatsApp (webhook), or both,
    with the scheduler and workers, in one event loop until stopped; ``role`` (a key of
    :data:`ROLES`) leaves out the intake or the workers."""
    from bot.leader import Leader
    from bot.scheduler import ReminderScheduler
    from bot.workers.documents import DocumentWorker
    from reports.pdf import make_render_executor

    clock = clock or make_clock()
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
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    intake, work = "web" in ROLES[role], "pekerja" in ROLES[role]
    leader = Leader(db.engine)
    async with contextlib.AsyncExitStack() as stack:
        if telegram_enabled(settings):
            await stack.enter_async_context(_telegram(settings, core, delivery, intake=intake))
        if whatsapp_enabled(settings) and intake:
            await _start_whatsapp(settings, core, delivery, stack)
        tasks: list[asyncio.Task[None]] = []
        if work:
            tasks.append(asyncio.create_task(delivery.run_forever(), name="delivery"))
            tasks.append(asyncio.create_task(documents.run_forever(), name="documents"))
        reminders = ReminderScheduler(core, settings.sweep_interval_seconds, leader=leader)
        try:
            if work:
                await reminders.start()
            await stop.wait()
        finally:
            reminders.stop()
            await leader.release()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if documents.executor is not None:
                # Wait for the pool's manager thread, so its queues (and their semaphores) are
                # released now and not at some later garbage collection.
                pool, documents.executor = documents.executor, None
                await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
    await db.dispose()
    log.info("bot stopped")


#: The one entry point; the old name stays for callers.
run = run_telegram


@contextlib.asynccontextmanager
async def _telegram(  # noqa: ANN202
    settings: Settings, core: Core, delivery: Delivery, *, intake: bool = True
):
    """The PTB application, polling or on its webhook (when ``intake``; else it only sends),
    for the duration of the block."""
    from handlers.telegram import CHANNEL, TelegramSender, build_application

    assert settings.telegram_token is not None
    app = build_application(
        settings.telegram_token.get_secret_value(),
        settings.bot_api_url,
        settings.bot_file_url,
        core,
    )
    delivery.senders[CHANNEL] = TelegramSender(app)
    async with app:
        me = await app.bot.get_me()
        log.info("bot @%s started", me.username)
        await app.start()
        assert app.updater is not None
        if intake and settings.telegram_webhook_url:
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
        elif intake:
            await app.updater.start_polling(drop_pending_updates=False, timeout=10)
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            await app.stop()
