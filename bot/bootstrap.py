"""The composition root: build everything once, run the bot, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from bot.settings import Settings
from bot.workers.delivery import Delivery
from bot.workers.inbox import InboxWorker
from bot.workers.ratelimit import channel_limiters
from bot.workers.wakeup import Listener, Notifier
from flows.chat import (
    admin_cmds,
    ask,
    correction,
    cycle_cmds,
    deadline_cmds,
    history_cmd,
    onboarding,
    rekap_cmd,
    worksheet,
)
from flows.core import texts
from flows.core.context import Clock, SystemClock
from flows.core.router import Core, Router
from flows.sop.kinds import catalog as step_kinds
from storage import retention
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
    correction.register(router)
    history_cmd.register(router)
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


async def _start_whatsapp(
    settings: Settings,
    core: Core,
    delivery: Delivery,
    stack: contextlib.AsyncExitStack,
    *,
    receive: bool = True,
) -> None:
    """The WhatsApp sender and (when ``receive``) the webhook server, in this event loop,
    closed when ``stack`` is."""
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
    if not receive:
        return
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


#: What a process runs, by ``kinerja-bot jalan --peran``: the channels' intake and the inbox
#: (``web``), the delivery and document workers, retention and the scheduler (``pekerja``), or
#: both (``semua``).
ROLES = {"web": {"web"}, "pekerja": {"pekerja"}, "semua": {"web", "pekerja"}}


async def run_telegram(
    settings: Settings,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    role: str = "semua",
) -> None:
    """Run what is configured: Telegram (polling or webhook, through the inbox), WhatsApp
    (webhook), or both, with the scheduler and workers, in one event loop until stopped;
    ``role`` (a key of :data:`ROLES`) leaves out the intake or the workers."""
    from bot.leader import Leader
    from bot.scheduler import ReminderScheduler
    from bot.workers.documents import DocumentWorker
    from reports.pdf import make_render_executor

    check_webhook_settings(settings)
    clock = clock or make_clock()
    db = Database(settings.database_url)
    await upgrade(db.engine)
    delivery = Delivery(
        db,
        {},
        clock,
        patience=timedelta(hours=settings.delivery_patience_hours),
        limiters=channel_limiters(settings.delivery_workers) if settings.delivery_limits else {},
        concurrency=settings.delivery_concurrency,
        lease=timedelta(seconds=settings.delivery_lease_seconds),
    )
    # Documents render in a separate process; a new document's messages wake the delivery.
    documents = DocumentWorker(db, clock, make_render_executor(), on_outbox=delivery.notify)

    receive, work = "web" in ROLES[role], "pekerja" in ROLES[role]
    # Split roles on PostgreSQL: a web process's commits wake the pekerja processes at once.
    split = db.engine.dialect.name == "postgresql" and receive != work
    notifier = Notifier(db.engine) if split and receive else None

    def wake() -> None:
        """New outbox rows (and maybe a new document job): wake both workers."""
        delivery.notify()
        documents.notify()
        if notifier is not None:
            notifier.poke()

    core = Core(db, build_router(), clock, on_outbox=wake)
    delivery.on_failed = core.run
    intake = InboxWorker(db, {}, clock)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = []
    leader = Leader(db.engine)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if telegram_enabled(settings):
                await stack.enter_async_context(
                    _telegram(settings, db, clock, core, delivery, intake, stop, tasks, receive)
                )
            if whatsapp_enabled(settings):
                await _start_whatsapp(settings, core, delivery, stack, receive=receive)
            tasks.append(asyncio.create_task(_warm_templates(), name="templates"))
            if receive:
                tasks.append(asyncio.create_task(intake.run_forever(), name="inbox"))
            if notifier is not None:
                tasks.append(asyncio.create_task(notifier.run_forever(), name="wake-notify"))
            if split and work:
                listener = Listener(db.engine, wake)
                tasks.append(asyncio.create_task(listener.run_forever(), name="wake-listen"))
            if work:
                tasks += [
                    asyncio.create_task(delivery.run_forever(), name="delivery"),
                    asyncio.create_task(documents.run_forever(), name="documents"),
                    asyncio.create_task(
                        prune_forever(db, clock, settings.retention_days), name="retention"
                    ),
                ]
            reminders = ReminderScheduler(core, settings.sweep_interval_seconds, leader=leader)
            try:
                if work:
                    await reminders.start()
                await stop.wait()
                _raise_what_stopped(tasks)
            finally:
                reminders.stop()
                await leader.release()
                for task in reversed(tasks):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                if documents.executor is not None:
                    # Wait for the pool's worker process to exit and its manager thread, so its
                    # queues (and their semaphores) are released now, not at a later collection.
                    pool, documents.executor = documents.executor, None
                    await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
    finally:
        for task in tasks:  # start-up failed half-way: nothing keeps running
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if documents.executor is not None:  # start-up failed before the loop's own clean-up
            pool, documents.executor = documents.executor, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
        await db.dispose()
    log.info("bot stopped")


async def _warm_templates() -> None:
    """Every chat template compiled at start, one per turn of the loop (~1 ms each)."""
    for _ in texts.warm_up():
        await asyncio.sleep(0)


def _raise_what_stopped(tasks: list[asyncio.Task[None]]) -> None:
    """The poller ended by itself (displaced, 409 Conflict, token refused): the bot stops with
    its error, explained to the operator."""
    from bot.failures import ExitCode, Failure
    from handlers.telegram_intake import NotThePoller

    for task in tasks:
        if task.get_name() != "polling" or not task.done() or task.cancelled():
            continue
        if (error := task.exception()) is not None:
            if isinstance(error, NotThePoller):
                raise Failure(ExitCode.POLLER, "poller_ganda") from error
            raise error


#: The one entry point; the old name stays for callers.
run = run_telegram


@contextlib.asynccontextmanager
async def _telegram(  # noqa: ANN202
    settings: Settings,
    db: Database,
    clock: Clock,
    core: Core,
    delivery: Delivery,
    intake: InboxWorker,
    stop: asyncio.Event,
    tasks: list[asyncio.Task[None]],
    receive: bool = True,
):
    """Telegram for the duration of the block: updates are committed to the inbox (our own
    getUpdates loop, or the webhook server) before they are acknowledged, then handled. Without
    ``receive`` (a ``pekerja`` process) it only sends."""
    from bot.poller_guard import PollerGuard
    from handlers.telegram import CHANNEL, TelegramInbox, TelegramSender, build_application
    from handlers.telegram_intake import ALLOWED_UPDATES, TelegramPoller, TelegramWebhook

    assert settings.telegram_token is not None
    app = build_application(
        settings.telegram_token.get_secret_value(), settings.bot_api_url, settings.bot_file_url
    )
    delivery.senders[CHANNEL] = TelegramSender(app)
    intake.handlers[CHANNEL] = TelegramInbox(app.bot, core)
    webhook: TelegramWebhook | None = None
    guard: PollerGuard | None = None
    async with app:
        me = await app.bot.get_me()
        log.info("bot @%s started", me.username)
        if receive and settings.telegram_webhook_url:
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
        elif receive:
            guard = PollerGuard(db, clock)
            await guard.acquire()  # a second poller on this database stops here, explained
            await app.bot.delete_webhook(drop_pending_updates=False)
            poller = TelegramPoller(app.bot, db, clock, on_stored=intake.notify, keep=guard.holds)
            polling = asyncio.create_task(poller.run(stop), name="polling")
            polling.add_done_callback(lambda _: stop.set())  # its error stops the bot
            tasks.append(polling)
        try:
            yield app
        finally:
            if webhook is not None:
                await webhook.stop()
            if guard is not None:
                await guard.release()
