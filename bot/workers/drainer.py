"""A background worker that drains a database queue and sleeps until woken (or idle time)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)


class Drainer:
    """Subclasses implement ``drain() -> int``; ``notify()`` wakes ``run_forever`` at once."""

    #: Name used in the log line when a sweep fails.
    what = "queue"

    def __init__(self) -> None:
        self.wake = asyncio.Event()

    def notify(self) -> None:
        self.wake.set()

    async def drain(self) -> int:
        raise NotImplementedError

    async def run_forever(self, idle_seconds: float = 5.0) -> None:
        """Drain until nothing is left, then wait for ``notify()`` or ``idle_seconds``."""
        while True:
            self.wake.clear()
            try:
                done = await self.drain()
            except Exception:  # keep working whatever one bad row or a DB hiccup does
                log.exception("%s sweep failed", self.what)
                done = 0
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.idle_for(idle_seconds))

    def idle_for(self, idle_seconds: float) -> float:
        """How long to wait for ``notify()`` when nothing is due: a subclass that knows when
        its next row falls due may wait less."""
        return idle_seconds
