"""Wake the workers of other processes at once: PostgreSQL ``LISTEN``/``NOTIFY``.

In a split deployment a ``web`` process writes outbox rows (and document jobs) that a
``pekerja`` process sends (and renders). Without a wake-up the pekerja finds them only on its
next idle check; with it, the web process sends one ``NOTIFY`` after its commit (coalesced:
one at a time, however many updates commit meanwhile) and every pekerja listening wakes its
workers. A lost notification costs only latency: the idle check still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

#: The notification channel (any name the deployment does not use elsewhere).
CHANNEL = "kinerja_kerja"
#: Wait before listening again after the listening connection failed.
RETRY_SECONDS = 5.0


class Notifier:
    """Sends ``NOTIFY`` after commits, one at a time; :meth:`poke` never blocks or fails."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.wanted = asyncio.Event()

    def poke(self) -> None:
        self.wanted.set()

    async def run_forever(self) -> None:
        while True:
            await self.wanted.wait()
            self.wanted.clear()
            try:
                async with self.engine.connect() as conn:
                    await conn.execute(text(f"NOTIFY {CHANNEL}"))
                    await conn.commit()
            except Exception:  # only latency is at stake: the pekerja's idle check remains
                log.warning("wake-up notification failed", exc_info=True)


class Listener:
    """Keeps one connection listening and calls ``on_wake`` for every notification."""

    def __init__(self, engine: AsyncEngine, on_wake: Callable[[], None]) -> None:
        self.engine = engine
        self.on_wake = on_wake
        self.listening = asyncio.Event()

    async def run_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("wake-up listener failed; listening again shortly", exc_info=True)
            self.listening.clear()
            await asyncio.sleep(RETRY_SECONDS)

    async def _listen(self) -> None:
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection  # asyncpg's own connection
            ended = asyncio.Event()

            def notified(*_: object) -> None:
                self.on_wake()

            driver.add_termination_listener(lambda *_: ended.set())
            await driver.add_listener(CHANNEL, notified)
            self.listening.set()
            try:
                await ended.wait()
            finally:
                with contextlib.suppress(Exception):
                    await driver.remove_listener(CHANNEL, notified)
