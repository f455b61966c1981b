"""Deliver the outbox: at least once, strictly in order per chat, patient with outages.

Any number of workers (processes) may drain one outbox: each claims the heads of chats with
a lease (``claimed_by``, ``claim_until``), sends outside any transaction, and marks a whole
batch in one transaction. A dead worker's leases expire and another takes its chats over.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.workers.drainer import Drainer
from bot.workers.ratelimit import Limiter
from flows.core.context import Clock, Ctx
from flows.core.undelivered import NOTICE_PREFIX, report_undelivered
from handlers.ports import DeliveryFailed, DeliveryJob, DeliveryRetry, Sender, TemplateIntent
from storage.db import Database, is_sqlite
from storage.models import Outbox, StoredFile

__all__ = ["Delivery", "DeliveryFailed", "DeliveryJob", "DeliveryRetry", "Sender"]

log = logging.getLogger(__name__)


def _log_attempt(row: Outbox, result: str, attempt: int, error: str = "") -> None:
    """One line per delivery attempt: ids and outcome (and the channel's refusal), no text."""
    level = logging.WARNING if result == "failed" else logging.INFO
    if not log.isEnabledFor(level):
        return
    line = "outbox %s channel=%s result=%s attempt=%s"
    args: tuple[object, ...] = (row.id, row.channel, result, attempt)
    if error:
        line, args = line + " error=%s", (*args, error[:200])
    log.log(level, line, *args)


#: Longest wait between two tries of a message that keeps meeting network errors.
MAX_BACKOFF = 300.0
#: Heads of chats claimed at once: the most sends a crash between send and mark repeats.
BATCH = 100
#: How long a claim holds: far longer than a batch takes to send (timeouts included).
LEASE = timedelta(seconds=60)

OnFailed = Callable[[Callable[[Ctx], Awaitable[None]]], Awaitable[None]]


def worker_name() -> str:
    """A name for this delivery worker that no other process (or instance) shares."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _exited(worker: str) -> bool:
    """A worker of this host whose process is gone (its name from :func:`worker_name`)."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:30] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@dataclass
class _Outcome:
    """What one pass did to its claimed rows, marked in one transaction afterwards."""

    sent: dict[int, str]
    skipped: list[int]
    failed: dict[int, str]
    retry: list[tuple[Outbox, float | None]]
    unsent: list[int]


class Delivery(Drainer):
    """Drains the outbox: per chat strictly in order, sends outside transactions.

    Only the oldest pending row of a chat is ever claimed (and only when no live lease of
    another worker covers it), so a message that must wait (a 429's ``retry_after``, a
    network error's back-off) holds back its own chat and no other. A bot-wide flood signal
    (or 429s in two chats of one pass) pauses every chat of this worker. Network errors never
    end a message; after ``patience`` a human is told, and the tries go on. Only a permanent
    refusal ends a message, and then ``on_failed`` tells the office's planner. A crash
    between sends and their commit repeats at most one batch of sends.

    ``limiters`` (per channel) pace the sends; ``concurrency`` sends to that many chats at
    once (1: strictly one after another, in id order).
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
        limiters: dict[str, Limiter] | None = None,
        concurrency: int = 1,
        batch: int = BATCH,
        lease: timedelta = LEASE,
        worker: str = "",
    ) -> None:
        super().__init__()
        self.db = db
        self.senders = senders
        self.clock = clock
        self.patience = patience
        self.on_failed = on_failed
        self.limiters = limiters if limiters is not None else {}
        self.concurrency = max(1, concurrency)
        # Claim no more chats than this worker's limiter lets out in about two seconds: the
        # other workers take the rest instead of waiting for chats this one is holding.
        paces = [2 * lim.limits.per_second for lim in self.limiters.values()]
        self.batch = min([batch, *paces])
        self.lease = lease
        self.worker = worker or worker_name()
        #: When the earliest retry this worker scheduled falls due (it wakes then, not later).
        self.next_retry: datetime | None = None
        self.paused_until: datetime | None = None

    async def claim(self) -> list[tuple[Outbox, DeliveryJob | None]]:
        """Lease the due head of up to ``batch`` chats no live lease covers, with their jobs.

        On PostgreSQL the candidate rows are locked ``FOR UPDATE SKIP LOCKED`` while the lease
        is written, so two workers never claim one row; a row is a head only if no older row
        of its chat is pending (leased or not), so no two workers ever hold one chat.
        """
        if not self.senders:
            return []
        now = self.clock.now()
        query = self._claim_query(tuple(self.senders))
        async with self.db.transaction() as session:
            rows = list(await session.scalars(query, {"now": now, "batch": self.batch}))
            if not rows:
                return []
            await session.execute(
                update(Outbox)
                .where(Outbox.id.in_([r.id for r in rows]))
                .values(claimed_by=self.worker, claim_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )
            jobs = await self._jobs(session, rows)
        return list(zip(rows, jobs, strict=True))

    async def run_forever(self, idle_seconds: float = 5.0) -> None:
        """Take back the claims of dead processes first, then drain as every drainer does."""
        try:
            await self.release_orphans()
        except Exception:  # the lease expiry frees them anyway
            log.exception("could not release the claims of dead delivery workers")
        await super().run_forever(idle_seconds)

    def idle_for(self, idle_seconds: float) -> float:
        """Wake when the earliest retry falls due, if that comes before the idle check."""
        if self.next_retry is None:
            return idle_seconds
        wait = (self.next_retry - self.clock.now()).total_seconds()
        if wait <= 0:
            self.next_retry = None
            return 0.0
        return min(idle_seconds, wait)

    async def release_orphans(self) -> int:
        """Free now, not at lease expiry, the claims of workers known dead: on SQLite every
        other worker's (one process runs), else those of this host's exited processes."""
        async with self.db.transaction() as session:
            holders = await session.scalars(
                select(Outbox.claimed_by)
                .where(Outbox.status == "pending", Outbox.claimed_by != "")
                .distinct()
            )
            sqlite = is_sqlite(self.db.url)
            dead = [h for h in holders if h != self.worker and (sqlite or _exited(h))]
            if not dead:
                return 0
            result = await session.execute(
                update(Outbox)
                .where(Outbox.status == "pending", Outbox.claimed_by.in_(dead))
                .values(claimed_by="", claim_until=None)
                .execution_options(synchronize_session=False)
            )
        log.info("released the claims of %s dead delivery worker(s)", len(dead))
        return int(getattr(result, "rowcount", 0) or 0)

    @staticmethod
    @functools.cache
    def _claim_query(channels: tuple[str, ...]) -> Select[Outbox]:
        """Due heads of chats no live lease covers (built once per set of channels)."""
        now = bindparam("now", type_=Outbox.claim_until.type)
        older = aliased(Outbox)
        head = ~(
            select(older.id)
            .where(
                older.channel == Outbox.channel,
                older.address == Outbox.address,
                older.status == "pending",
                older.id < Outbox.id,
            )
            .exists()
        )
        return (
            select(Outbox)
            .where(
                Outbox.status == "pending",
                Outbox.channel.in_(channels),
                or_(Outbox.claim_until.is_(None), Outbox.claim_until <= now),
                or_(Outbox.not_before.is_(None), Outbox.not_before <= now),
                head,
            )
            .order_by(Outbox.id)
            .limit(bindparam("batch"))
            .with_for_update(skip_locked=True, of=Outbox)
        )

    async def drain(self, passes: int = 100) -> int:
        """Send what is due now, chat by chat in order; returns how many rows were finished."""
        handled = 0
        for _ in range(passes):
            done = await self._pass()
            handled += done
            if not done:
                break
        return handled

    def _paused(self) -> bool:
        if self.paused_until is None:
            return False
        if self.clock.now() >= self.paused_until:
            self.paused_until = None
            return False
        return True

    async def _pass(self) -> int:
        """Claim a batch of chat heads, send them (``concurrency`` at once), mark them."""
        if self._paused():
            return 0
        claimed = await self.claim()
        if not claimed:
            return 0
        out = _Outcome({}, [], {}, [], [])
        flooded: dict[tuple[str, str], float] = {}
        queue = iter(claimed)
        if self.concurrency == 1:
            await self._sender(queue, out, flooded)
        else:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, len(claimed))):
                    group.create_task(self._sender(queue, out, flooded))
        await self._mark(out)
        for row, _ in claimed:
            if row.id in out.failed:
                await self._tell(row, "ditolak")
        return len(out.sent) + len(out.skipped) + len(out.failed)

    async def _sender(
        self,
        queue: Iterator[tuple[Outbox, DeliveryJob | None]],
        out: _Outcome,
        flooded: dict[tuple[str, str], float],
    ) -> None:
        """Take the next claimed head and send it, until none are left."""
        for row, job in queue:
            if self._paused():
                out.unsent.append(row.id)
                continue
            await self._deliver(row, job, out, flooded)
            if len(flooded) >= 2 and self.paused_until is None:
                self.paused_until = self.clock.now() + timedelta(seconds=max(flooded.values()))
                log.warning("flood signal from two chats: all sends wait")

    async def _deliver(
        self,
        row: Outbox,
        job: DeliveryJob | None,
        out: _Outcome,
        flooded: dict[tuple[str, str], float],
    ) -> None:
        attempt = row.attempts + 1
        if job is None:  # an edit of a message that was never sent
            _log_attempt(row, "skipped", attempt)
            out.skipped.append(row.id)
            return
        try:
            limiter = self.limiters.get(row.channel)
            if limiter is None:
                message_id = await self.senders[row.channel].send(job)
            else:
                async with limiter.slot(row.address):
                    message_id = await self.senders[row.channel].send(job)
        except DeliveryRetry as exc:
            _log_attempt(row, "retry", attempt)
            if exc.seconds is not None:
                flooded[(row.channel, row.address)] = exc.seconds
            if exc.everyone and exc.seconds is not None:
                self.paused_until = self.clock.now() + timedelta(seconds=exc.seconds)
            out.retry.append((row, exc.seconds))
            return
        except DeliveryFailed as exc:
            _log_attempt(row, "failed", attempt, str(exc))
            out.failed[row.id] = str(exc)[:500]
            return
        except Exception:  # a bug or an unforeseen error: this row backs off, the batch goes on
            log.exception("outbox %s could not be sent", row.id)
            out.retry.append((row, None))
            return
        _log_attempt(row, "sent", attempt)
        out.sent[row.id] = message_id

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

    async def _jobs(self, session: AsyncSession, rows: list[Outbox]) -> list[DeliveryJob | None]:
        """Each row resolved for its channel; edited originals and files fetched in bulk."""
        originals: set[int] = set()
        documents: set[int] = set()
        for row in rows:
            edit = row.payload.get("edit_of", "")
            if edit.startswith("outbox:"):
                originals.add(int(edit[7:]))
            if row.payload.get("document_id") is not None:
                documents.add(int(row.payload["document_id"]))
        sent_ids: dict[int, str] = {}
        if originals:
            found = await session.execute(
                select(Outbox.id, Outbox.external_message_id).where(Outbox.id.in_(originals))
            )
            sent_ids = {i: m for i, m in found.all()}
        files: dict[int, StoredFile] = {}
        if documents:
            stored = await session.scalars(select(StoredFile).where(StoredFile.id.in_(documents)))
            files = {f.id: f for f in stored}
        return [self._job(row, sent_ids, files) for row in rows]

    @staticmethod
    def _job(
        row: Outbox, sent_ids: dict[int, str], files: dict[int, StoredFile]
    ) -> DeliveryJob | None:
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
            original = sent_ids.get(int(edit[7:]), "")
            if not original:
                return None
            job.edit_message_id = original
        if payload.get("document_id") is not None:
            stored = files.get(int(payload["document_id"]))
            if stored is None:
                return None
            job.document = (stored.file_name, stored.content)
        return job

    async def _mark(self, out: _Outcome) -> None:
        """One transaction for the whole batch; only rows this worker still holds change."""
        now = self.clock.now()
        mine = Outbox.claimed_by == self.worker
        free: dict[str, Any] = {"claimed_by": "", "claim_until": None}
        overdue: list[Outbox] = []
        async with self.db.transaction() as session:
            if out.sent:
                await session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(list(out.sent)), mine)
                    .values(
                        status="sent",
                        attempts=Outbox.attempts + 1,
                        external_message_id=case(out.sent, value=Outbox.id),
                        last_error="",
                        sent_at=now,
                        **free,
                    )
                    .execution_options(synchronize_session=False)
                )
            if out.failed:
                await session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(list(out.failed)), mine)
                    .values(
                        status="failed",
                        attempts=Outbox.attempts + 1,
                        external_message_id="",
                        last_error=case(out.failed, value=Outbox.id),
                        sent_at=None,
                        **free,
                    )
                    .execution_options(synchronize_session=False)
                )
            if out.skipped:
                await session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(out.skipped), mine)
                    .values(
                        status="skipped",
                        attempts=Outbox.attempts + 1,
                        external_message_id="",
                        last_error="",
                        sent_at=None,
                        **free,
                    )
                    .execution_options(synchronize_session=False)
                )
            if out.unsent:
                await session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(out.unsent), mine)
                    .values(**free)
                    .execution_options(synchronize_session=False)
                )
            for row, seconds in out.retry:
                values = self._retry(row, seconds, now)
                due = values["not_before"]
                self.next_retry = due if self.next_retry is None else min(self.next_retry, due)
                if values.get("last_error"):
                    overdue.append(row)
                await session.execute(
                    update(Outbox)
                    .where(Outbox.id == row.id, mine)
                    .values(**values, **free)
                    .execution_options(synchronize_session=False)
                )
        for row in overdue:
            await self._tell(row, "terputus")

    def _retry(self, row: Outbox, seconds: float | None, now: datetime) -> dict[str, Any]:
        """Wait as told, or back off (capped); past ``patience``, tell a human once."""
        attempts = row.attempts + 1
        backoff = min(2.0 ** min(attempts, 20), MAX_BACKOFF)
        delay = seconds if seconds is not None else backoff
        values: dict[str, Any] = {
            "attempts": attempts,
            "not_before": now + timedelta(seconds=delay),
        }
        if now - row.created_at >= self.patience and not row.last_error:
            values["last_error"] = "still undelivered after the patience window"
        return values
