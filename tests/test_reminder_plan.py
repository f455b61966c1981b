"""Reminder rows are written and retired by the change itself, in its own unit of work.

No sweep runs in these tests unless said: the rows must already be there (or gone) when the
update that changed things has been handled.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from flows.core.context import Ctx
from flows.sop import reminders
from storage.models import Reminder
from tests.flowkit import SMALL_PEM, play
from tests.test_reminders import (
    KASI,
    MONDAY,
    PLANNER,
    THU_MORNING,
    WED_MORNING,
    at,
    setup,
    wib,
)

BUDI, MAYA = 3, 2  # person ids of the small office's Kasi and planner


async def rows(db) -> dict[str, tuple[str, int | None, str]]:
    async with db.transaction() as s:
        return {r.key: (r.kind, r.person_id, r.status) for r in await s.scalars(select(Reminder))}


def pending(found: dict[str, tuple[str, int | None, str]], person: int) -> set[str]:
    return {kind for kind, pid, status in found.values() if pid == person and status == "pending"}


async def test_entering_the_isi_step_writes_its_rows_and_leaves_none_of_the_passed_steps(db):
    await setup(db)  # perintah, disposisi, analisa: passed within minutes, then the isi step
    found = await rows(db)
    assert pending(found, BUDI) == {"sebelum", "hari_h", "terlambat"}
    assert pending(found, MAYA) >= {"sebelum", "hari_h", "terlambat", "eskalasi"}
    steps = {key.split(":")[2] for key in found if ":ringkasan:" not in key}
    assert steps == {"sampaikan_data"}  # the earlier steps' future rows were deleted


async def test_submitting_retires_the_owners_rows_in_the_same_update(db):
    _, chat = await setup(db)
    await play(chat, KASI, SMALL_PEM)
    found = await rows(db)
    budi = {(kind, status) for kind, pid, status in found.values() if pid == BUDI}
    assert budi == {("sebelum", "lewat"), ("hari_h", "lewat"), ("terlambat", "lewat")}
    assert pending(found, MAYA) >= {"sebelum", "hari_h", "terlambat"}  # she has not sent yet


async def test_extending_replans_in_the_same_update(db):
    _, chat = await setup(db)
    at(chat, wib(10, 7, 10))
    await chat.say(PLANNER, "/perpanjang 2 hari data desa terlambat")
    found = await rows(db)
    due = {
        (kind, key.rsplit(":", 1)[1])
        for key, (kind, pid, status) in found.items()
        if pid == BUDI and status == "pending"
    }
    # New deadline Monday 12 October 16.00: Friday (one day before), Monday, then Tuesday.
    assert due == {("sebelum", "2026-10-09"), ("hari_h", "2026-10-12"), ("terlambat", "2026-10-13")}
    # Wednesday's reminder had come due unsent: retired as passed, not sent late.
    assert ("sebelum", BUDI, "lewat") in found.values()


async def test_the_sweep_pops_in_batches_and_says_when_more_is_due(db):
    _, chat = await setup(db)
    at(chat, WED_MORNING)
    found: list = []

    async def one(ctx: Ctx) -> None:
        found.append(await reminders.sweep(ctx, limit=1))

    await chat.run(one)
    assert found[-1] is not None and found[-1] <= chat.clock.now()  # more is due: go on
    assert len(await chat.new_messages()) == 1
    await chat.run(one)
    assert len(await chat.new_messages()) == 1
    await chat.run(one)
    assert found[-1] == THU_MORNING and await chat.new_messages() == []


async def test_an_idle_sweep_changes_nothing(db):
    _, chat = await setup(db)
    before = await rows(db)
    at(chat, MONDAY + timedelta(hours=2))

    async def work(ctx: Ctx) -> None:
        assert await reminders.sweep(ctx) == WED_MORNING

    await chat.run(work)
    assert await rows(db) == before and await chat.new_messages() == []
