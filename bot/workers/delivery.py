"""Deliver the outbox: at least once, in order per chat, honouring the channel's back-off."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select

from bot.workers.drainer import Drainer
from flows.core.context import Clock
from handlers.ports import DeliveryFailed, DeliveryJob, DeliveryRetry, Sender, TemplateIntent
from storage.db import Database
from storage.models import Outbox, StoredFile

__all__ = ["Delivery", "DeliveryFailed", "DeliveryJob", "DeliveryRetry", "Sender"]

log = logging.getLogger(__name__)

BATCH = 50
MAX_ATTEMPTS = 8


def _log_attempt(row: Outbox, result: str, attempt: int, error: str = "") -> None:
    """One line per delivery attempt: ids and outcome (and the channel's refusal), no text."""
    level = logging.WARNING if result == "failed" else logging.INFO
    line = "outbox %s channel=%s result=%s attempt=%s"
    args: tuple[object, ...] = (row.id, row.channel, result, attempt)
    if error:
        line, args = line + " error=%s", (*args, error[:200])
    log.log(level, line, *args)


class Delivery(Drainer):
    """Drains pending outbox rows; sending happens outside any database transaction."""

    what = "delivery"

    def __init__(self, db: Database, senders: dict[str, Sender], clock: Clock) -> None:
        super().__init__()
        self.db = db
        self.senders = senders
        self.clock = clock

    async def drain(self) -> int:
        """Send what is due now; returns how many rows were handled."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            rows = list(
                await session.scalars(
                    select(Outbox)
                    .where(
                        Outbox.status == "pending",
                        Outbox.channel.in_(list(self.senders)),
                        or_(Outbox.not_before.is_(None), Outbox.not_before <= now),
                    )
                    .order_by(Outbox.id)
                    .limit(BATCH)
                )
            )
            jobs = [await self._job(session, row) for row in rows]
        handled = 0
        blocked: set[tuple[str, str]] = set()
        for row, job in zip(rows, jobs, strict=True):
            key = (row.channel, row.address)
            if key in blocked:
                continue
            attempt = row.attempts + 1
            if job is None:  # an edit of a message that was never sent
                _log_attempt(row, "skipped", attempt)
                await self._mark(row.id, status="skipped")
                handled += 1
                continue
            try:
                message_id = await self.senders[row.channel].send(job)
            except DeliveryRetry as exc:
                _log_attempt(row, "retry", attempt)
                blocked.add(key)
                await self._retry(row.id, exc.seconds)
                continue
            except DeliveryFailed as exc:
                _log_attempt(row, "failed", attempt, str(exc))
                await self._mark(row.id, status="failed", error=str(exc))
                handled += 1
                continue
            _log_attempt(row, "sent", attempt)
            await self._mark(row.id, status="sent", message_id=message_id)
            handled += 1
        return handled

    async def _job(self, session, row: Outbox) -> DeliveryJob | None:  # noqa: ANN001
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
        async with self.db.transaction() as session:
            row = await session.get(Outbox, row_id)
            if row is None:
                return
            row.attempts += 1
            if row.attempts >= MAX_ATTEMPTS and seconds is None:
                row.status = "failed"
                row.last_error = "too many network errors"
                return
            delay = seconds if seconds is not None else min(2**row.attempts, 300)
            row.not_before = self.clock.now() + timedelta(seconds=delay)
