"""Deliver the outbox: at least once, strictly in order per chat, patient with outages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.workers.drainer import Drainer
from flows.core.context import Clock, Ctx
from flows.core.undelivered import NOTICE_PREFIX, report_undelivered
from handlers.ports import DeliveryFailed, DeliveryJob, DeliveryRetry, Sender, TemplateIntent
from storage.db import Database
from storage.models import Outbox, StoredFile

__all__ = ["Delivery", "DeliveryFailed", "DeliveryJob", "DeliveryRetry", "Sender"]

log = logging.getLogger(__name__)


def _log_attempt(row: Outbox, result: str, attempt: int, error: str = "") -> None:
    """One line per delivery attempt: ids and outcome (and the channel's refusal), no text."""
    level = logging.WARNING if result == "failed" else logging.INFO
    line = "outbox %s channel=%s result=%s attempt=%s"
    args: tuple[object, ...] = (row.id, row.channel, result, attempt)
    if error:
        line, args = line + " error=%s", (*args, error[:200])
    log.log(level, line, *args)


#: Longest wait between two tries of a message that keeps meeting network errors.
MAX_BACKOFF = 300.0
#: Each pass looks at this many pending rows (the head of each chat among them is sent).
WINDOW = 1000

OnFailed = Callable[[Callable[[Ctx], Awaitable[None]]], Awaitable[None]]


class Delivery(Drainer):
    """Drains the outbox: per chat strictly in order, one send at a time outside transactions.

    Only the oldest pending row of a chat is ever sent, so a message that must wait (a 429's
    ``retry_after``, a network error's back-off) holds back its own chat and no other. A
    bot-wide flood signal (or 429s in two chats of one pass) pauses every chat. Network errors
    never end a message; after ``patience`` a human is told, and the tries go on. Only a
    permanent refusal ends a message, and then ``on_failed`` tells the office's planner.
    A crash between a send and its commit repeats at most that one send.
    """

    what = "delivery"

    def __init__(
        self,
        db: Database,
        senders: dict[str, Sender],
        clock: Clock,
        *,
        patience: timedelta = timedelta(hours=72),
        on_failed: OnFailed | None = None,
    ) -> None:
        super().__init__()
        self.db = db
        self.senders = senders
        self.clock = clock
        self.patience = patience
        self.on_failed = on_failed
        self.paused_until: datetime | None = None

    async def heads(self) -> list[Outbox]:
        """The oldest pending row of every chat, in id order."""
        async with self.db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(Outbox)
                    .where(Outbox.status == "pending", Outbox.channel.in_(list(self.senders)))
                    .order_by(Outbox.id)
                    .limit(WINDOW)
                )
            )
        seen: set[tuple[str, str]] = set()
        heads = []
        for row in rows:
            key = (row.channel, row.address)
            if key not in seen:
                seen.add(key)
                heads.append(row)
        return heads

    async def drain(self, passes: int = 100) -> int:
        """Send what is due now, chat by chat in order; returns how many rows were finished."""
        handled = 0
        for _ in range(passes):
            done = await self._pass()
            handled += done
            if not done:
                break
        return handled

    async def _pass(self) -> int:
        """Send the due head of each chat once."""
        handled = 0
        flooded: dict[tuple[str, str], float] = {}
        for row in await self.heads():
            now = self.clock.now()
            if self.paused_until is not None and now < self.paused_until:
                break
            if row.not_before is not None and row.not_before > now:
                continue
            handled += await self._deliver(row, flooded)
            if len(flooded) >= 2 and self.paused_until is None:
                self.paused_until = now + timedelta(seconds=max(flooded.values()))
                log.warning("flood signal from two chats: all sends wait")
        if self.paused_until is not None and self.clock.now() >= self.paused_until:
            self.paused_until = None
        return handled

    async def _deliver(self, row: Outbox, flooded: dict[tuple[str, str], float]) -> int:
        attempt = row.attempts + 1
        async with self.db.transaction() as session:
            job = await self._job(session, row)
        if job is None:  # an edit of a message that was never sent
            _log_attempt(row, "skipped", attempt)
            await self._mark(row.id, status="skipped")
            return 1
        try:
            message_id = await self.senders[row.channel].send(job)
        except DeliveryRetry as exc:
            _log_attempt(row, "retry", attempt)
            if exc.seconds is not None:
                flooded[(row.channel, row.address)] = exc.seconds
            if exc.everyone and exc.seconds is not None:
                self.paused_until = self.clock.now() + timedelta(seconds=exc.seconds)
            await self._retry(row.id, exc.seconds)
            return 0
        except DeliveryFailed as exc:
            _log_attempt(row, "failed", attempt, str(exc))
            await self._mark(row.id, status="failed", error=str(exc))
            await self._tell(row, "ditolak")
            return 1
        _log_attempt(row, "sent", attempt)
        await self._mark(row.id, status="sent", message_id=message_id)
        return 1

    async def _tell(self, row: Outbox, why: str) -> None:
        """Let the planner know whose message did not arrive (never about a notice itself)."""
        if row.dedupe_key.startswith(NOTICE_PREFIX):
            return
        if why == "terputus":  # a refusal was logged with its attempt already
            log.error("outbox %s still undelivered after the patience window", row.id)
        if self.on_failed is None:
            return

        async def work(ctx: Ctx) -> None:
            await report_undelivered(ctx, row.person_id, why)

        try:
            await self.on_failed(work)
        except Exception:
            log.exception("could not tell the planner about outbox %s", row.id)

    async def _job(self, session: AsyncSession, row: Outbox) -> DeliveryJob | None:
        payload = row.payload
        job = DeliveryJob(
            outbox_id=row.id,
            address=row.address,
            text=payload.get("text", ""),
            buttons=payload.get("buttons", []),
            edit_notice=payload.get("edit_notice", ""),
        )
        if payload.get("template"):
            tpl = payload["template"]
            job.template = TemplateIntent(tpl["key"], list(tpl.get("params", [])))
        edit = payload.get("edit_of", "")
        if edit.startswith("msg:"):
            job.edit_message_id = edit[4:]
        elif edit.startswith("outbox:"):
            original = await session.get(Outbox, int(edit[7:]))
            if original is None or not original.external_message_id:
                return None
            job.edit_message_id = original.external_message_id
        if payload.get("document_id") is not None:
            stored = await session.get(StoredFile, payload["document_id"])
            if stored is None:
                return None
            job.document = (stored.file_name, stored.content)
        return job

    async def _mark(
        self, row_id: int, *, status: str, message_id: str = "", error: str = ""
    ) -> None:
        async with self.db.transaction() as session:
            row = await session.get(Outbox, row_id)
            if row is None:
                return
            row.status = status
            row.attempts += 1
            row.external_message_id = message_id
            row.last_error = error[:500]
            row.sent_at = self.clock.now() if status == "sent" else None

    async def _retry(self, row_id: int, seconds: float | None) -> None:
        """Wait as told, or back off (capped); past ``patience``, tell a human once."""
        now = self.clock.now()
        overdue: Outbox | None = None
        async with self.db.transaction() as session:
            row = await session.get(Outbox, row_id)
            if row is None:
                return
            row.attempts += 1
            backoff = min(2.0 ** min(row.attempts, 20), MAX_BACKOFF)
            delay = seconds if seconds is not None else backoff
            row.not_before = now + timedelta(seconds=delay)
            if now - row.created_at >= self.patience and not row.last_error:
                row.last_error = "still undelivered after the patience window"
                overdue = row
        if overdue is not None:
            await self._tell(overdue, "terputus")
