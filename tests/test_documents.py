"""Document jobs: the request, the worker (store, archive hash, outbox, retries) and /rekap."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.workers.delivery import Delivery, DeliveryJob
from bot.workers.documents import MAX_ATTEMPTS, DocumentWorker
from flows.chat import rekap_cmd
from flows.core.context import Ctx
from flows.core.messages import Inbound
from flows.core.router import Core, Router
from flows.sop import documents
from reports.data import ReportData
from storage.db import Database
from storage.models import Acting, Cycle, DocumentJob, Event, Outbox, Person, StoredFile
from tests.flowkit import FakeClock, seed_small_office
from tests.test_reports_from_db import seed_quarter

START = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)
XLSX = "Rekap_Kinerja_TW_III_2026_Kecamatan_Uji.xlsx"


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown()


@pytest.fixture
async def office(db: Database) -> dict[str, int]:
    ids = await seed_small_office(db)
    for q in (1, 2):
        await seed_quarter(db, ids, q, finished=datetime(2026, 3 * q + 1, 20, tzinfo=UTC))
    ids["cycle"] = (await seed_quarter(db, ids, 3))["cycle"]
    return ids


async def ask(
    db: Database, clock: FakeClock, cycle_id: int, kind: str, people: list[int], **kw: Any
) -> int:
    """documents.request inside one unit of work, as the engine does."""
    found: dict[str, int] = {}

    async def work(ctx: Ctx) -> None:
        cycle = await ctx.session.get(Cycle, cycle_id)
        assert cycle is not None
        job = await documents.request(ctx, cycle, kind, people, **kw)
        found["id"] = job.id

    await Core(db, Router(), clock).run(work)
    return found["id"]


async def outbox_rows(db: Database) -> list[Outbox]:
    async with db.transaction() as s:
        return list(await s.scalars(select(Outbox).order_by(Outbox.id)))


async def job_row(db: Database, job_id: int) -> DocumentJob:
    async with db.transaction() as s:
        job = await s.get(DocumentJob, job_id)
        assert job is not None
        return job


async def test_request_queues_a_job_and_tells_the_recipients(
    db: Database, office: dict[str, int]
) -> None:
    clock = FakeClock(START)
    job_id = await ask(db, clock, office["cycle"], "rekap", [office["camat"], office["perencana"]])
    job = await job_row(db, job_id)
    assert (job.kind, job.period_key, job.status, job.final, job.attempts) == (
        "rekap",
        "2026-TW3",
        "pending",
        False,
        0,
    )
    assert job.recipients == [office["camat"], office["perencana"]]
    rows = await outbox_rows(db)
    assert [r.person_id for r in rows] == [office["camat"], office["perencana"]]
    assert rows[0].payload["text"].startswith("Rekap kinerja Triwulan III 2026 sedang dibuat")
    assert "document_id" not in rows[0].payload
    semester = await ask(
        db,
        clock,
        office["cycle"],
        "laporan",
        [office["camat"]],
        period_key="2026-TAHUN",
        final=True,
    )
    assert (await job_row(db, semester)).period_key == "2026-Y"
    with pytest.raises(ValueError):
        await ask(db, clock, office["cycle"], "surat", [office["camat"]])


async def test_worker_stores_the_rekap_and_queues_the_document(
    db: Database, office: dict[str, int], executor: ThreadPoolExecutor
) -> None:
    clock = FakeClock(START)
    woken: list[int] = []
    job_id = await ask(
        db,
        clock,
        office["cycle"],
        "rekap",
        [office["camat"], office["kasi"]],
        note="Untuk rapat staf.",
    )
    before = len(await outbox_rows(db))
    worker = DocumentWorker(db, clock, executor, on_outbox=lambda: woken.append(1))
    assert await worker.drain() == 1
    assert await worker.drain() == 0  # nothing left
    job = await job_row(db, job_id)
    assert (job.status, job.attempts, job.error) == ("done", 1, "")
    async with db.transaction() as s:
        stored = await s.get(StoredFile, job.file_id)
        events = list(await s.scalars(select(Event).where(Event.action == "arsip.simpan")))
    assert stored is not None and stored.cycle_id == office["cycle"] and stored.kind == "rekap"
    assert stored.file_name == XLSX and stored.entry_id is None
    assert stored.mime.endswith("spreadsheetml.sheet")
    assert stored.sha256 == hashlib.sha256(stored.content).hexdigest()
    assert stored.size == len(stored.content)
    wb = load_workbook(io.BytesIO(stored.content))
    assert wb.sheetnames == ["Ringkasan", "PEM", "PK", "Bukti", "Riwayat", "Riwayat Nilai"]
    assert events == []  # not final: not archived
    new = (await outbox_rows(db))[before:]
    assert [r.person_id for r in new] == [office["camat"], office["kasi"]]
    assert all(r.payload["document_id"] == stored.id for r in new)
    assert new[0].payload["text"] == (
        "Rekap kinerja Triwulan III 2026 – Kecamatan Uji.\nUntuk rapat staf."
    )
    assert woken == [1]

    # Delivery sends it as a document with the file's bytes and name.
    class Sender:
        def __init__(self) -> None:
            self.jobs: list[DeliveryJob] = []

        async def send(self, job: DeliveryJob) -> str:
            self.jobs.append(job)
            return str(len(self.jobs))

    sender = Sender()
    await Delivery(db, {"telegram": sender}, clock).drain()
    docs = [j for j in sender.jobs if j.document is not None]
    assert [j.document for j in docs] == [(XLSX, stored.content)] * 2


@pytest.mark.pdf
async def test_final_laporan_is_archived_with_its_hash_and_never_overwritten(
    db: Database, office: dict[str, int], executor: ThreadPoolExecutor
) -> None:
    clock = FakeClock(START)
    first = await ask(db, clock, office["cycle"], "laporan", [office["camat"]], final=True)
    worker = DocumentWorker(db, clock, executor)
    assert await worker.drain() == 1
    clock.advance(days=1)
    second = await ask(db, clock, office["cycle"], "rekap", [office["camat"]], final=True)
    third = await ask(db, clock, office["cycle"], "rekap", [office["camat"]], final=True)
    assert await worker.drain() == 2
    jobs = [await job_row(db, j) for j in (first, second, third)]
    async with db.transaction() as s:
        files = {f.id: f for f in await s.scalars(select(StoredFile))}
        events = list(
            await s.scalars(select(Event).where(Event.action == "arsip.simpan").order_by(Event.id))
        )
    assert len({j.file_id for j in jobs}) == 3  # each final job is its own file
    pdf = files[jobs[0].file_id]
    assert pdf.file_name == "Laporan_Kinerja_TW_III_2026_Kecamatan_Uji.pdf"
    assert pdf.mime == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "BAB III PENGUKURAN KINERJA" in text and "CAMAT UJI" in text
    assert [e.data["file_id"] for e in events] == [j.file_id for j in jobs]
    for event, job in zip(events, jobs, strict=True):
        stored = files[job.file_id]
        assert event.data["sha256"] == hashlib.sha256(stored.content).hexdigest()
        assert event.data["kind"] == job.kind and event.cycle_id == office["cycle"]
    # The first archive is untouched by the later ones.
    assert hashlib.sha256(pdf.content).hexdigest() == events[0].data["sha256"]


async def test_failing_job_is_retried_then_fails_politely(
    db: Database, office: dict[str, int], executor: ThreadPoolExecutor
) -> None:
    clock = FakeClock(START)
    job_id = await ask(db, clock, office["cycle"], "rekap", [office["camat"], office["kasi"]])
    before = len(await outbox_rows(db))
    worker = DocumentWorker(db, clock, executor)
    calls: list[ReportData] = []

    def broken(data: ReportData) -> bytes:
        calls.append(data)
        raise RuntimeError("renderer crashed")

    worker.renderers["rekap"] = broken
    assert await worker.drain() == 1
    job = await job_row(db, job_id)
    assert (job.status, job.attempts) == ("pending", 1)
    assert "renderer crashed" in job.error
    assert await worker.drain() == 0  # backing off, nothing sleeps: the clock decides
    clock.advance(seconds=31)
    assert await worker.drain() == 1
    assert (await job_row(db, job_id)).attempts == 2
    clock.advance(seconds=61)
    assert await worker.drain() == 1
    job = await job_row(db, job_id)
    assert (job.status, job.attempts, job.file_id) == ("failed", MAX_ATTEMPTS, None)
    assert len(calls) == MAX_ATTEMPTS
    new = (await outbox_rows(db))[before:]
    assert [r.person_id for r in new] == [office["camat"], office["kasi"]]
    assert all(
        r.payload["text"].startswith("Mohon maaf, rekap kinerja Triwulan III 2026") for r in new
    )
    assert "/rekap" in new[0].payload["text"]  # the Camat may ask again
    assert "/rekap" not in new[1].payload["text"]  # the Kasi may not
    clock.advance(hours=1)
    assert await worker.drain() == 0  # a failed job stays failed
    async with db.transaction() as s:
        assert (
            await s.scalar(
                select(func.count()).select_from(StoredFile).where(StoredFile.cycle_id.is_not(None))
            )
            == 0
        )


async def test_a_job_survives_a_crash(
    db: Database, office: dict[str, int], executor: ThreadPoolExecutor
) -> None:
    clock = FakeClock(START)
    crashed = await ask(db, clock, office["cycle"], "rekap", [office["camat"]])
    poisoned = await ask(db, clock, office["cycle"], "rekap", [office["perencana"]])
    async with db.transaction() as s:  # a worker claimed both, then the process died
        (await s.get(DocumentJob, crashed)).attempts = 1
        (await s.get(DocumentJob, poisoned)).attempts = MAX_ATTEMPTS
    worker = DocumentWorker(db, clock, executor)  # after the restart
    await worker.drain()
    done, dead = await job_row(db, crashed), await job_row(db, poisoned)
    assert (done.status, done.attempts) == ("done", 2) and done.file_id is not None
    assert dead.status == "failed" and dead.file_id is None
    texts = [r.payload["text"] for r in await outbox_rows(db) if r.person_id == office["perencana"]]
    assert texts[-1].startswith("Mohon maaf")


# --- /rekap ---------------------------------------------------------------------------------


class Bot:
    """A core with only the /rekap command, spoken to by Telegram id."""

    def __init__(self, db: Database, clock: FakeClock) -> None:
        router = Router()
        rekap_cmd.register(router)
        self.core = Core(db, router, clock)
        self.db = db
        self.n = 0

    async def say(self, address: str, args: str = "") -> list[Outbox]:
        async with self.db.transaction() as s:
            last = await s.scalar(select(func.max(Outbox.id))) or 0
        self.n += 1
        await self.core.handle(
            Inbound("telegram", address, str(self.n), command="rekap", args=args)
        )
        async with self.db.transaction() as s:
            return list(await s.scalars(select(Outbox).where(Outbox.id > last)))


async def jobs(db: Database) -> list[DocumentJob]:
    async with db.transaction() as s:
        return list(await s.scalars(select(DocumentJob).order_by(DocumentJob.id)))


CAMAT, PERENCANA, KASI = "101", "102", "103"  # seed_small_office binds these Telegram ids


async def test_rekap_command_without_a_cycle(db: Database) -> None:
    await seed_small_office(db)
    bot = Bot(db, FakeClock(START))
    out = await bot.say(CAMAT)
    assert out[0].payload["text"].startswith("Belum ada pengumpulan data kinerja yang dimulai")
    assert await jobs(db) == []


async def test_rekap_command_by_role(db: Database, office: dict[str, int]) -> None:
    bot = Bot(db, FakeClock(START))
    out = await bot.say(KASI)
    assert out[0].payload["text"].startswith("Mohon maaf, rekap dan laporan kinerja hanya")
    assert await jobs(db) == []

    out = await bot.say(CAMAT)
    assert out[0].payload["text"].startswith("Rekap kinerja Triwulan III 2026 sedang dibuat")
    out = await bot.say(PERENCANA, "laporan")
    assert out[0].payload["text"].startswith("Laporan pengukuran kinerja Triwulan III 2026")
    await bot.say(CAMAT, "laporan Semester I 2026")
    await bot.say(CAMAT, "tw 1")
    got = [(j.kind, j.period_key, j.recipients, j.cycle_id) for j in await jobs(db)]
    async with db.transaction() as s:
        c = {c.period_key: c.id for c in await s.scalars(select(Cycle))}
    assert got == [
        ("rekap", "2026-TW3", [office["camat"]], c["2026-TW3"]),
        ("laporan", "2026-TW3", [office["perencana"]], c["2026-TW3"]),
        ("laporan", "2026-S1", [office["camat"]], c["2026-TW2"]),
        ("rekap", "2026-TW1", [office["camat"]], c["2026-TW1"]),
    ]
    out = await bot.say(CAMAT, "TW IV 2026")
    assert out[0].payload["text"].startswith("Belum ada pengumpulan data kinerja untuk Triwulan IV")
    out = await bot.say(CAMAT, "minggu depan")
    assert out[0].payload["text"].startswith('Periode "minggu depan" tidak dikenali')
    assert len(await jobs(db)) == 4


async def test_acting_official_may_ask(db: Database, office: dict[str, int]) -> None:
    async with db.transaction() as s:
        s.add(
            Acting(
                office_id=office["office"],
                person_id=office["kasi"],
                role="camat",
                kind="Plt",
                starts=date(2026, 10, 1),
                ends=date(2026, 10, 31),
                created_at=START,
            )
        )
        kasi = await s.get(Person, office["kasi"])
        assert kasi is not None and kasi.role == "kasi"
    bot = Bot(db, FakeClock(START))
    out = await bot.say(KASI)
    assert out[0].payload["text"].startswith("Rekap kinerja Triwulan III 2026 sedang dibuat")
    later = Bot(db, FakeClock(datetime(2026, 11, 2, 3, tzinfo=UTC)))
    later.n = 100  # new update ids
    out = await later.say(KASI)
    assert out[0].payload["text"].startswith("Mohon maaf")


async def test_worker_with_the_production_process_pool(
    db: Database, office: dict[str, int]
) -> None:
    """ReportData crosses into a spawned process; the event loop never renders."""
    from reports.pdf import make_render_executor

    clock = FakeClock(START)
    job_id = await ask(db, clock, office["cycle"], "rekap", [office["camat"]])
    pool = make_render_executor()
    try:
        worker = DocumentWorker(db, clock, pool)
        assert await worker.drain() == 1
    finally:
        pool.shutdown()
    job = await job_row(db, job_id)
    assert job.status == "done", job.error
    async with db.transaction() as s:
        stored = await s.get(StoredFile, job.file_id)
    assert stored is not None and stored.file_name == XLSX
    assert load_workbook(io.BytesIO(stored.content))["PEM"]["A1"].value.startswith("FORMULIR")


@pytest.mark.pdf
async def test_a_copy_of_a_final_document_is_the_archived_file(
    db: Database, office: dict[str, int], executor: ThreadPoolExecutor
) -> None:
    clock = FakeClock(START)
    async with db.transaction() as s:
        cycle = await s.get(Cycle, office["cycle"])
        cycle.data = {**cycle.data, "final": START.isoformat()}
    final = await ask(db, clock, office["cycle"], "laporan", [office["camat"]], final=True)
    worker = DocumentWorker(db, clock, executor)
    assert await worker.drain() == 1
    copy = await ask(db, clock, office["cycle"], "laporan", [office["kasi"]])
    renders: list[ReportData] = []
    worker.renderers["laporan"] = lambda data: renders.append(data) or b"%PDF-not-used"
    assert await worker.drain() == 1
    assert renders == []  # not rendered again
    first, second = await job_row(db, final), await job_row(db, copy)
    assert second.status == "done" and second.file_id == first.file_id
    sent = [r for r in await outbox_rows(db) if r.payload.get("document_id") == first.file_id]
    assert {r.person_id for r in sent} == {office["camat"], office["kasi"]}
    # Once the cycle is reopened (no longer final) a copy is rendered afresh.
    async with db.transaction() as s:
        cycle = await s.get(Cycle, office["cycle"])
        cycle.data = {k: v for k, v in cycle.data.items() if k != "final"}
    worker.renderers["laporan"] = lambda data: renders.append(data) or b"%PDF-1.4 baru"
    fresh = await ask(db, clock, office["cycle"], "laporan", [office["kasi"]])
    assert await worker.drain() == 1
    assert len(renders) == 1 and (await job_row(db, fresh)).file_id != first.file_id


async def test_a_draft_asked_before_the_approval_is_not_sent_to_who_gets_the_final(
    db: Database, office: dict[str, int], executor: ThreadPoolExecutor
) -> None:
    clock = FakeClock(START)
    draft = await ask(db, clock, office["cycle"], "rekap", [office["camat"], office["sekcam"]])
    clock.advance(minutes=5)
    async with db.transaction() as s:  # the Camat approves before the worker got to the draft
        cycle = await s.get(Cycle, office["cycle"])
        cycle.data = {**cycle.data, "final": clock.now().isoformat()}
    final = await ask(db, clock, office["cycle"], "rekap", [office["camat"]], final=True)
    worker = DocumentWorker(db, clock, executor)
    assert await worker.drain() == 2
    sent = [r for r in await outbox_rows(db) if r.payload.get("document_id")]
    got = sorted((r.person_id, r.payload["document_id"]) for r in sent)
    draft_row, final_row = await job_row(db, draft), await job_row(db, final)
    assert draft_row.recipients == [office["sekcam"]]  # the Camat gets the final one only
    assert got == sorted(
        [(office["sekcam"], draft_row.file_id), (office["camat"], final_row.file_id)]
    )
