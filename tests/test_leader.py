"""One scheduler leader on PostgreSQL: a follower does not sweep; when the leader's session
dies mid-sweep another takes over, and no reminder is lost or sent twice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.leader import Leader
from bot.scheduler import ReminderScheduler
from flows.core.context import Ctx
from flows.core.router import Core
from flows.sop import reminders
from storage.db import Database
from storage.models import Cycle, Outbox, Person, Reminder, Worksheet
from tests.test_concurrency import pytestmark, wipe  # noqa: F401  # skipped without PostgreSQL
from tests.test_reminders import MONDAY, WED_MORNING, at, setup

PEOPLE = 60


async def office_with_many_sheets(db: Database):  # noqa: ANN201
    ids, chat = await setup(db)
    async with db.transaction() as s:
        cycle = (await s.scalars(select(Cycle))).one()
        for i in range(PEOPLE):
            p = Person(
                office_id=ids["office"],
                nip=f"19900101201501{i:04d}",
                nama=f"Staf {i}",
                jabatan="Kasi",
                role="kasi",
            )
            s.add(p)
            await s.flush()
            s.add(Worksheet(cycle_id=cycle.id, person_id=p.id, section_id=1))
    at(chat, MONDAY + timedelta(hours=1))
    return chat


async def scalar(db: Database, query) -> int:  # noqa: ANN001
    async with db.transaction() as s:
        return int(await s.scalar(query) or 0)


def small_batches(then=None):  # noqa: ANN001, ANN201
    """The real sweep, 20 rows a transaction; ``then`` runs after the first batch, still inside
    its transaction (its rows locked)."""
    calls = []

    async def sweep(ctx: Ctx) -> datetime | None:
        due = await reminders.sweep(ctx, 20)
        calls.append(1)
        if then is not None and len(calls) == 1:
            await then()
        return due

    return sweep


async def reminder_messages(db: Database, concurrent: bool) -> tuple[int, int]:
    """(messages sent at Wednesday's sweep, reminders still due afterwards)."""
    chat = await office_with_many_sheets(db)
    engines = [Database(db.url) for _ in range(2)]
    leaders = [Leader(d.engine) for d in engines]
    try:
        cores = [Core(d, chat.core.router, chat.clock) for d in engines]
        if not concurrent:
            alone = ReminderScheduler(cores[0], sweep=small_batches())
            await alone.reconcile()
            at(chat, WED_MORNING)
            before = await scalar(db, select(func.max(Outbox.id)))
            await alone.run_sweep()
        else:
            b = ReminderScheduler(cores[1], sweep=small_batches(), leader=leaders[1])

            takeover: list[asyncio.Task[bool]] = []

            async def die_and_be_replaced() -> None:
                assert a.leader is not None and a.leader.conn is not None
                await a.leader.conn.invalidate()  # the leader's session ends: its lock is free
                takeover.append(asyncio.create_task(b.try_lead()))  # b takes over and sweeps
                await asyncio.sleep(0)  # b starts while a's batch is still open

            a = ReminderScheduler(cores[0], sweep=small_batches(), leader=leaders[0])
            assert await a.try_lead()  # leads: replans every cycle and sweeps (nothing due yet)
            assert not await b.try_lead()
            assert await scalar(db, select(func.count()).select_from(Reminder)) > PEOPLE
            at(chat, WED_MORNING)
            before = await scalar(db, select(func.max(Outbox.id)))
            assert await b.run_sweep() is None  # a follower does not sweep
            assert await scalar(db, select(func.max(Outbox.id))) == before
            a.sweep = small_batches(die_and_be_replaced)
            # The leader sweeps; after its first batch its session dies and b takes over while
            # a's batch is still open; a goes on with its batches (it is not told in time):
            # two sweepers at once, kept apart by FOR UPDATE SKIP LOCKED.
            await a.run_sweep()
            assert await takeover[0]
            assert b.leader is not None and b.leader.leading
            assert not await a.leads()  # a found out: b holds the lock now
        sent = await scalar(db, select(func.count()).where(Outbox.id > before))
        left = await scalar(
            db,
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.status == "pending", Reminder.due_at <= chat.clock.now()),
        )
        return sent, left
    finally:
        for leader in leaders:
            await leader.release()
        for d in engines:
            await d.dispose()


async def test_the_leader_dies_mid_sweep_and_no_reminder_is_lost_or_doubled(db):
    alone = await reminder_messages(db, concurrent=False)
    await wipe(db)
    handed_over = await reminder_messages(db, concurrent=True)
    assert alone[0] > PEOPLE and alone[1] == 0
    assert handed_over == alone
