"""Cycles that open themselves (issue 17): offered or opened on the office's opening day."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from flows.sop import reminders
from storage.models import Cycle, Event, Office
from tests.flowkit import Chat, FakeClock, seed_small_office

CAMAT, PLANNER, KASI, SEKCAM = "101", "102", "103", "104"
WIB_0730 = (0, 30)  # 07.30 WIB is 00.30 UTC


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


async def imported(db, at: datetime, **settings) -> int:  # noqa: ANN001, ANN003
    """The small office, as if imported at ``at`` with ``settings``."""
    ids = await seed_small_office(db)
    async with db.transaction() as s:
        office = await s.get(Office, ids["office"])
        assert office is not None
        office.settings = {**office.settings, **settings}
        s.add(Event(office_id=office.id, action="kantor.impor", subject="uji", at=at))
    return ids["office"]


async def sweep(chat: Chat) -> datetime | None:
    found: list[datetime | None] = []

    async def work(ctx) -> None:  # noqa: ANN001
        found.append(await reminders.sweep(ctx))

    await chat.run(work)
    return found[0]


async def finish_all(db) -> None:  # noqa: ANN001
    """The office finished its cycle (its own chain is tested elsewhere)."""
    async with db.transaction() as s:
        await s.execute(update(Cycle).values(status="selesai"))


async def test_the_camat_gets_the_order_card_on_the_first_working_day(db):
    await imported(db, utc(2026, 1, 5))
    clock = FakeClock(utc(2026, 3, 31, 3))
    chat = Chat(db, clock)
    nxt = await sweep(chat)
    assert await chat.new_messages() == []  # TW IV 2025 is not the office's PK year
    assert nxt == utc(2026, 4, 1, *WIB_0730)  # the scheduler is woken at the opening
    clock.value = utc(2026, 4, 1, 0, 29)
    await sweep(chat)
    assert await chat.new_messages() == []
    clock.value = utc(2026, 4, 1, 0, 30)
    await sweep(chat)
    [card] = await chat.new_messages()
    assert card.address == CAMAT and card.labels() == ["Mulai sekarang"]
    assert "Triwulan I 2026 sudah berakhir" in card.text
    await sweep(chat)
    assert await chat.new_messages() == []  # offered once

    toast, out = await chat.tap(CAMAT, "Mulai sekarang")
    assert any("Pengumpulan data kinerja Triwulan I 2026 dimulai" in m.text for m in out)
    assert any(m.edit and "Dimulai oleh Camat Uji" in m.text for m in out)
    async with db.transaction() as s:
        cycle = await s.scalar(select(Cycle))
        offer = await s.scalar(select(Event).where(Event.action == "siklus.tawarkan"))
    assert cycle is not None and cycle.period_key == "2026-TW1" and cycle.step != "disposisi_camat"
    assert offer is not None and offer.actor_id is None and offer.subject == "2026-TW1"
    toast, _ = await chat.tap(CAMAT, "Mulai sekarang")
    assert toast  # the closed card does nothing more


async def test_a_year_of_quarters_opening_by_themselves(db):
    await imported(db, utc(2026, 1, 5), buka_siklus={"otomatis": True})
    clock = FakeClock(utc(2026, 2, 1))
    chat = Chat(db, clock)
    opened: list[str] = []
    for y, m, d in ((2026, 4, 1), (2026, 7, 1), (2026, 10, 1), (2027, 1, 4)):
        nxt = await sweep(chat)
        assert nxt == utc(y, m, d, *WIB_0730), (y, m, d)  # 1 Jan 2027 is a holiday
        clock.value = nxt
        await sweep(chat)
        out = await chat.new_messages()
        told = [x for x in out if "dibuka otomatis" in x.text]
        assert [x.address for x in told] == [CAMAT]
        async with db.transaction() as s:
            running = await s.scalar(select(Cycle).where(Cycle.status == "running"))
        assert running is not None and running.started_by is None
        opened.append(running.period_key)
        await finish_all(db)
        clock.advance(days=20)
    assert opened == ["2026-TW1", "2026-TW2", "2026-TW3", "2026-TW4"]


async def test_configured_day_running_cycle_and_late_import(db):
    await imported(db, utc(2026, 9, 1), buka_siklus={"hari_kerja_ke": 2})
    clock = FakeClock(utc(2026, 10, 1, 3))
    chat = Chat(db, clock)
    assert await sweep(chat) == utc(2026, 10, 2, *WIB_0730)  # the second working day
    assert await chat.new_messages() == []
    out = await chat.say(CAMAT, "/mulai TW II 2026")  # still running when TW III opens
    assert any("dimulai" in m.text for m in out)
    clock.value = utc(2026, 10, 2, 1)
    await sweep(chat)
    assert [m for m in await chat.new_messages() if "Mulai sekarang" in m.labels()] == []
    await finish_all(db)
    await sweep(chat)
    [card] = [m for m in await chat.new_messages() if "Mulai sekarang" in m.labels()]
    assert "Triwulan III 2026" in card.text


async def test_an_office_imported_after_the_opening_is_not_offered_that_quarter(db):
    await imported(db, utc(2026, 10, 20))
    chat = Chat(db, FakeClock(utc(2026, 10, 21, 3)))
    await sweep(chat)
    assert await chat.new_messages() == []


async def test_semester_start_where_the_preset_rolls_it_up(db):
    ids = await seed_small_office(db)
    chat = Chat(db, FakeClock(utc(2026, 7, 6, 2)))
    out = await chat.say(CAMAT, "/mulai Semester I 2026")
    assert "Semester I 2026 diterima bila SOP kantor ini menyusun laporan semester" in out[0].text
    async with db.transaction() as s:
        office = await s.get(Office, ids["office"])
        assert office is not None
        office.preset = "batang-kapas"
    # Seed 004 (Batang Kapas): step 1 is a Kasi's (the Kasubag Umum; here the one Kasi).
    out = await chat.say(KASI, "/mulai Semester I 2026 mohon tepat waktu")
    text = "\n".join(m.text for m in out if m.address == KASI)
    assert "Pengumpulan data kinerja Triwulan II 2026 dimulai" in text
    assert "Laporan Semester I 2026 disusun pada triwulan ini" in text
    async with db.transaction() as s:
        cycle = await s.scalar(select(Cycle))
    assert (
        cycle is not None and cycle.period_key == "2026-TW2" and cycle.note == "mohon tepat waktu"
    )
    await finish_all(db)
    out = await chat.say(KASI, "/mulai Tahun 2026")  # the annual roll-up runs at TW IV
    assert any("Triwulan IV 2026 dimulai" in m.text for m in out)
    assert any("Laporan Tahun 2026 disusun" in m.text for m in out)


async def test_many_offices_in_one_sweep_each_by_its_own_guards(db):
    """The guards are read for all offices at once; each office still gets its own answer."""
    uji = await imported(db, utc(2026, 1, 5))
    async with db.transaction() as s:
        made = {}
        for code in ("sepi", "sibuk", "baru", "sudah"):
            office = Office(
                code=code,
                nama=f"Kecamatan {code}",
                kabupaten="Kabupaten Contoh",
                alamat="-",
                kota_ttd="-",
                preset="kebasen-pengumpulan",
                tahun=2026,
                settings={},
            )
            s.add(office)
            await s.flush()
            made[code] = office.id
            at = utc(2026, 4, 2) if code == "baru" else utc(2026, 1, 5)  # imported after it
            s.add(Event(office_id=office.id, action="kantor.impor", subject=code, at=at))
        s.add(
            Cycle(
                office_id=made["sibuk"],
                period_key="2025-TW4",
                preset="kebasen-pengumpulan",
                step="isi",
                status="running",
                created_at=utc(2026, 1, 5),
            )
        )
        s.add(
            Event(
                office_id=made["sudah"],
                action="siklus.tawarkan",
                subject="2026-TW1",
                at=utc(2026, 4, 1, 1),
            )
        )
    chat = Chat(db, FakeClock(utc(2026, 4, 1, 3)))
    await sweep(chat)
    async with db.transaction() as s:
        offers = list(
            await s.execute(
                select(Event.office_id, Event.subject).where(Event.action == "siklus.tawarkan")
            )
        )
    assert sorted((o, key) for o, key in offers) == sorted(
        [(uji, "2026-TW1"), (made["sepi"], "2026-TW1"), (made["sudah"], "2026-TW1")]
    )  # not the office with a running cycle, nor the one imported after the opening
