"""Handle the durable inbox: each stored update once, in arrival order per chat, never
blocking other chats; any number of workers (processes) may drain the same inbox.

A worker claims rows (a lease, ``FOR UPDATE SKIP LOCKED``: see ``storage.inbox``), then hands
each to the handler registered for its channel. The handler turns a raw payload into an
``Inbound`` and calls the core, whose transaction records the update key (``inbound_seen``,
``INSERT … ON CONFLICT DO NOTHING``); so a crash after handling but before ``done`` is
written, or a lease taken over from a worker that was only slow, makes the core see a
duplicate: the update acts once.
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
from storage.leases import free_claims_of_the_gone, worker_id
from storage.models import InboxItem

log = logging.getLogger(__name__)

InboxHandler = Callable[[dict[str, Any]], Awaitable[None]]


class InboxWorker(Drainer):
    """Claims and drains pending inbox rows through the handler registered for their channel."""

    what = "inbox"

    def __init__(
        self,
        db: Database,
        handlers: dict[str, InboxHandler],
        clock: Clock,
        holder: str | None = None,
        batch: int = 50,
    ) -> None:
        super().__init__()
        self.db = db
        self.handlers = handlers
        self.clock = clock
        self.holder = holder or worker_id()
        self.batch = batch
        self.fresh = True

    async def drain(self) -> int:
        """Claim and handle until nothing is due; returns how many rows were handled.

        A claim takes at most one row per chat, so a chat's next row comes in the next round.
        """
        if self.fresh:  # the first drain: a crashed predecessor's claims come back now
            async with self.db.transaction() as session:
                await free_claims_of_the_gone(session, InboxItem)
            self.fresh = False
        handled = 0
        while self.handlers:
            async with self.db.transaction() as session:
                rows = await inbox.claim(
                    session, list(self.handlers), self.clock.now(), self.holder, limit=self.batch
                )
            if not rows:
                break
            for row in rows:
                await self._handle(row)
            handled += len(rows)
        return handled

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
            current = await session.get(InboxItem, row.id, with_for_update=True)
            if current is None or current.status != "pending":
                return
            now = self.clock.now()
            if not error:
                inbox.mark_done(current, now)  # whoever holds it now: the core acted once
            elif current.claimed_by != self.holder:
                return  # my lease ran out and another worker has it: its try counts, not mine
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
