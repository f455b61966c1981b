"""Handle the durable inbox: each stored update once, in arrival order, never blocking others.

The channel's handler turns a raw payload into an ``Inbound`` and calls the core, whose
transaction records the update key (``inbound_seen``); so a crash after handling but before
``done`` is written only makes the core see a duplicate on restart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.workers.drainer import Drainer
from flows.core.context import Clock
from handlers.ports import UnreadableUpdate
from storage import inbox
from storage.db import Database
from storage.models import InboxItem

log = logging.getLogger(__name__)

InboxHandler = Callable[[dict[str, Any]], Awaitable[None]]


class InboxWorker(Drainer):
    """Drains pending inbox rows through the handler registered for their channel."""

    what = "inbox"

    def __init__(self, db: Database, handlers: dict[str, InboxHandler], clock: Clock) -> None:
        super().__init__()
        self.db = db
        self.handlers = handlers
        self.clock = clock

    async def drain(self) -> int:
        async with self.db.transaction() as session:
            rows = await inbox.due(session, list(self.handlers), self.clock.now())
        for row in rows:
            await self._handle(row)
        return len(rows)

    async def _handle(self, row: InboxItem) -> None:
        error, final = "", False
        try:
            await self.handlers[row.channel](row.payload)
        except UnreadableUpdate as exc:
            error, final = f"unreadable: {exc}"[:300], True
        except Exception as exc:  # one bad update must not stop the others
            error = f"{type(exc).__name__}: {exc}"[:300]
            log.debug("inbox %s failed", row.id, exc_info=True)
        async with self.db.transaction() as session:
            current = await session.get(InboxItem, row.id)
            if current is None or current.status != "pending":
                return
            now = self.clock.now()
            if not error:
                inbox.mark_done(current, now)
            elif inbox.mark_failed(current, now, error, final=final):
                log.error(
                    "inbox %s channel=%s key=%s is a dead letter after %s tries: %s",
                    current.id,
                    current.channel,
                    current.key,
                    current.attempts,
                    error,
                )
            else:
                log.warning("inbox %s try %s failed; will retry", current.id, current.attempts)
