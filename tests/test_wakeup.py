"""A web process's commit wakes the pekerja of another process at once (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import text

from bot.workers import wakeup
from bot.workers.wakeup import Listener, Notifier
from storage.db import Database
from tests.test_concurrency import URL, pytestmark  # noqa: F401  # skipped without PostgreSQL


async def test_a_notification_from_one_engine_wakes_a_listener_on_another() -> None:
    web, pekerja = Database(URL), Database(URL)  # two processes' engines
    woken = asyncio.Event()
    listener = Listener(pekerja.engine, woken.set)
    notifier = Notifier(web.engine)
    tasks = [
        asyncio.create_task(listener.run_forever()),
        asyncio.create_task(notifier.run_forever()),
    ]
    try:
        await asyncio.wait_for(listener.listening.wait(), timeout=30)
        assert not woken.is_set()
        for _ in range(5):  # several commits at once: coalesced, and at least one arrives
            notifier.poke()
        await asyncio.wait_for(woken.wait(), timeout=30)
        woken.clear()
        notifier.poke()  # and the next commit wakes it again
        await asyncio.wait_for(woken.wait(), timeout=30)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await web.dispose()
        await pekerja.dispose()


async def test_a_listener_whose_connection_dies_listens_again() -> None:
    web, pekerja = Database(URL), Database(URL)
    woken = asyncio.Event()
    listener = Listener(pekerja.engine, woken.set)
    notifier = Notifier(web.engine)
    listener_task = asyncio.create_task(listener.run_forever())
    notifier_task = asyncio.create_task(notifier.run_forever())
    saved, wakeup.RETRY_SECONDS = wakeup.RETRY_SECONDS, 0.0
    try:
        await asyncio.wait_for(listener.listening.wait(), timeout=30)
        listener.listening.clear()  # set again only when it listens on a new session
        async with web.engine.connect() as conn:  # the pekerja's listening session is killed
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
                    " AND datname = current_database()"
                )
            )
        await asyncio.wait_for(listener.listening.wait(), timeout=30)
        notifier.poke()
        await asyncio.wait_for(woken.wait(), timeout=30)
    finally:
        wakeup.RETRY_SECONDS = saved
        for task in (listener_task, notifier_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await web.dispose()
        await pekerja.dispose()
