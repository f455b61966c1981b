"""Render queued documents (rekap xlsx, laporan PDF) and send them through the outbox.

Per job: a short transaction claims an attempt, another builds the ReportData; rendering runs
outside any transaction and off the event loop (a process pool in production); one last
transaction stores the file, logs the archive hash of a final document and queues one
document message per recipient. A job is a row: after a crash it is picked up again, and an
attempt that never finished still counts, so a job that kills the renderer cannot loop.

Any number of workers (processes) may drain the same jobs: an attempt is a lease on the row
(``claimed_by`` / ``claim_until``, taken with ``FOR UPDATE SKIP LOCKED``), so a job is
rendered by one worker at a time; a dead worker's job is taken over when its lease expires,
and only the holder of the lease stores the result. Between attempts ``claim_until`` (with
no holder) is the time of the next retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.workers.drainer import Drainer
from flows.chat.rekap_cmd import ALLOWED_ROLES
from flows.core import texts
from flows.core.context import Clock
from flows.core.messages import Outbound
from flows.sop.documents import MIME, file_name, kind_word, period_of_key
from flows.sop.esakip_data import esakip_data
from flows.sop.report_data import report_data
from reports.data import ReportData
from reports.esakip import EsakipData, build_esakip
from reports.pdf import make_render_executor, render_laporan_pdf
from reports.xlsx import build_rekap
from storage import outbox
from storage.db import Database
from storage.leases import free_claims_of_the_gone, worker_id
from storage.models import Cycle, DocumentJob, Event, Office, Person, StoredFile

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_SECONDS = 30  # first retry after 30 s, then 60 s
MAX_NAME = 200  # StoredFile.file_name
#: How long one attempt holds its job: longer than any render takes.
LEASE = timedelta(minutes=10)

Renderer = Callable[[Any], bytes]
#: Module-level functions, so a process pool can pickle them.
RENDERERS: dict[str, Renderer] = {
    "rekap": build_rekap,
    "laporan": render_laporan_pdf,
    "esakip": build_esakip,
}


class DocumentWorker(Drainer):
    """Drains pending DocumentJob rows; ``notify()`` wakes ``run_forever`` at once."""

    what = "document"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        executor: Executor | None = None,
        on_outbox: Callable[[], None] | None = None,
        holder: str | None = None,
    ) -> None:
        super().__init__()
        self.db = db
        self.clock = clock
        self.executor = executor
        self.on_outbox = on_outbox or (lambda: None)
        self.renderers: dict[str, Renderer] = dict(RENDERERS)
        self.holder = holder or worker_id()
        self.fresh = True

    async def drain(self) -> int:
        """Try every pending job that is due and free; returns how many were attempted."""
        async with self.db.transaction() as session:
            if self.fresh:  # the first drain: a crashed predecessor's jobs come back now
                await free_claims_of_the_gone(session, DocumentJob)
                self.fresh = False
            ids = list(
                await session.scalars(
                    select(DocumentJob.id)
                    .where(DocumentJob.status == "pending", _free(self.clock.now()))
                    .order_by(DocumentJob.id)
                )
            )
        handled = 0
        for job_id in ids:
            if await self._process(job_id):
                handled += 1
        return handled

    # --- one job ---------------------------------------------------------------------------

    async def _process(self, job_id: int) -> bool:
        if not await self._claim(job_id):
            return False
        try:
            async with self.db.transaction() as session:
                job = await session.get(DocumentJob, job_id)
                assert job is not None
                kind = job.kind
                if await self._superseded(session, job):
                    return True
                if await self._reuse_final(session, job):
                    return True
                data: ReportData | EsakipData
                if kind == "esakip":
                    data = await esakip_data(session, job.cycle_id, now=self.clock.now())
                else:
                    data = await report_data(
                        session, job.cycle_id, job.period_key, now=self.clock.now()
                    )
            render = self.renderers[kind]
            loop = asyncio.get_running_loop()
            content = await loop.run_in_executor(self.executor, render, data)
            await self._store(job_id, data, content)
        except Exception as exc:
            log.exception("document job %s failed", job_id)
            if isinstance(exc, BrokenProcessPool) and isinstance(
                self.executor, ProcessPoolExecutor
            ):
                self.executor = make_render_executor()  # the old pool cannot run anything
            await self._failed(job_id, f"{type(exc).__name__}: {exc}")
        return True

    async def _superseded(self, session: AsyncSession, job: DocumentJob) -> bool:
        """A draft asked for before the cycle went final is not sent to the people who get the
        final document of that kind (the Camat gets one final laporan and one final rekap).
        True when nobody is left to send it to (the job is then done)."""
        cycle = await session.get(Cycle, job.cycle_id)
        final_at = (cycle.data or {}).get("final") if cycle is not None else None
        if job.final or not final_at or job.created_at >= datetime.fromisoformat(final_at):
            return False
        finals = await session.scalars(
            select(DocumentJob).where(
                DocumentJob.cycle_id == job.cycle_id,
                DocumentJob.kind == job.kind,
                DocumentJob.period_key == job.period_key,
                DocumentJob.final.is_(True),
            )
        )
        covered = {int(p) for f in finals for p in f.recipients}
        rest = [p for p in job.recipients if int(p) not in covered]
        if len(rest) == len(job.recipients):
            return False
        job.recipients = rest
        if rest:
            return False
        _finish(job, "done", self.clock.now(), "")
        log.info("document job %s superseded by the final document", job.id)
        return True

    async def _reuse_final(self, session: AsyncSession, job: DocumentJob) -> bool:
        """A copy of a final document (the laporkan step) is the archived file itself."""
        cycle = await session.get(Cycle, job.cycle_id)
        final_at = (cycle.data or {}).get("final") if cycle is not None else None
        if job.final or cycle is None or not final_at:
            return False
        events = await session.scalars(
            select(Event)
            .where(Event.cycle_id == cycle.id, Event.action == "arsip.simpan")
            .order_by(Event.id.desc())
        )
        since = datetime.fromisoformat(final_at)
        archived = next(
            (
                e
                for e in events
                if e.data.get("kind") == job.kind
                and e.data.get("period_key") == job.period_key
                and e.at >= since
            ),
            None,
        )
        if archived is None:
            return False
        office = await session.get(Office, cycle.office_id)
        assert office is not None
        now = self.clock.now()
        job.file_id = int(archived.data["file_id"])
        _finish(job, "done", now, "")
        await _send(session, job, job.file_id, office.nama, now)
        log.info("document job %s reuses archived file %s", job.id, job.file_id)
        self.on_outbox()
        return True

    async def _claim(self, job_id: int) -> bool:
        """Take the job's lease and count the attempt before it starts (False when another
        worker holds it or it is not due); a job that used up its attempts fails."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            job = await session.scalar(
                select(DocumentJob)
                .where(DocumentJob.id == job_id, DocumentJob.status == "pending", _free(now))
                .with_for_update(skip_locked=True)
            )
            if job is None:
                return False
            if job.attempts >= MAX_ATTEMPTS:
                await self._give_up(session, job, job.error or "attempt did not finish")
                give_up = True
            else:
                job.attempts += 1
                job.claimed_by, job.claim_until = self.holder, now + LEASE
                give_up = False
        if give_up:
            self.on_outbox()
            return False
        return True

    async def _store(self, job_id: int, data: ReportData | EsakipData, content: bytes) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            job = await session.get(DocumentJob, job_id, with_for_update=True)
            if job is None or job.status != "pending" or job.claimed_by != self.holder:
                log.info("document job %s: another worker took it over; result dropped", job_id)
                return
            cycle = await session.get(Cycle, job.cycle_id)
            assert cycle is not None
            digest = hashlib.sha256(content).hexdigest()
            stored = StoredFile(
                cycle_id=job.cycle_id,
                kind=job.kind,
                file_name=_fit(file_name(job.kind, data)),
                mime=MIME[job.kind],
                size=len(content),
                sha256=digest,
                content=content,
                created_at=now,
            )
            session.add(stored)
            await session.flush()
            job.file_id = stored.id
            _finish(job, "done", now, "")
            if job.final:
                session.add(
                    Event(
                        office_id=cycle.office_id,
                        cycle_id=cycle.id,
                        action="arsip.simpan",
                        subject=f"stored_file:{stored.id}",
                        data={
                            "sha256": digest,
                            "file_id": stored.id,
                            "kind": job.kind,
                            "period_key": job.period_key,
                            "job_id": job.id,
                        },
                        at=now,
                    )
                )
            office_name = data.office if isinstance(data, EsakipData) else data.office.nama
            await _send(session, job, stored.id, office_name, now)
        log.info("document job %s done: %s (%d bytes)", job_id, stored.file_name, len(content))
        self.on_outbox()

    async def _failed(self, job_id: int, error: str) -> None:
        now = self.clock.now()
        gave_up = False
        async with self.db.transaction() as session:
            job = await session.get(DocumentJob, job_id, with_for_update=True)
            if job is None or job.status != "pending" or job.claimed_by != self.holder:
                return
            job.error = error[:1000]
            if job.attempts >= MAX_ATTEMPTS:
                await self._give_up(session, job, job.error)
                gave_up = True
            else:
                delay = RETRY_SECONDS * 2 ** max(job.attempts - 1, 0)
                job.claimed_by, job.claim_until = None, now + timedelta(seconds=delay)
        if gave_up:
            self.on_outbox()

    async def _give_up(self, session: AsyncSession, job: DocumentJob, error: str) -> None:
        """Mark the job failed and tell each recipient politely."""
        now = self.clock.now()
        _finish(job, "failed", now, error[:1000])
        people = {
            p.id: p
            for p in await session.scalars(
                select(Person).where(Person.id.in_([int(i) for i in job.recipients] or [-1]))
            )
        }
        period = period_of_key(job.period_key)
        messages = [
            Outbound(
                text=texts.render(
                    "dokumen/gagal",
                    jenis=kind_word(job.kind),
                    periode=period,
                    bisa_minta=pid in people and people[pid].role in ALLOWED_ROLES,
                ),
                person_id=int(pid),
                dedupe_key=f"dokumen:{job.id}:gagal:{pid}",
            )
            for pid in (int(i) for i in job.recipients)
        ]
        await outbox.enqueue(session, messages, now)
        log.warning("document job %s failed for good: %s", job.id, error)


async def _send(
    session: AsyncSession, job: DocumentJob, file_id: int, office_name: str, now: datetime
) -> None:
    """One document message per recipient of the job."""
    caption = texts.render(
        "dokumen/keterangan",
        jenis=kind_word(job.kind),
        periode=period_of_key(job.period_key),
        kantor=office_name,
        final=job.final,
        catatan=job.note,
    )
    await outbox.enqueue(
        session,
        [
            Outbound(
                text=caption,
                document_id=file_id,
                person_id=int(pid),
                dedupe_key=f"dokumen:{job.id}:berkas:{pid}",
            )
            for pid in job.recipients
        ],
        now,
    )


def _free(now: datetime) -> ColumnElement[bool]:
    """No worker holds the job and its retry time (if any) has come."""
    return or_(DocumentJob.claim_until.is_(None), DocumentJob.claim_until <= now)


def _finish(job: DocumentJob, status: str, now: datetime, error: str) -> None:
    job.status, job.done_at, job.error = status, now, error
    job.claimed_by, job.claim_until = None, None


def _fit(name: str) -> str:
    """Keep a file name within the column, extension intact."""
    if len(name) <= MAX_NAME:
        return name
    stem, dot, ext = name.rpartition(".")
    return stem[: MAX_NAME - len(ext) - 1] + dot + ext
