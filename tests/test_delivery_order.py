"""Ordered, patient delivery: per chat in order, 429 and floods honoured, outages outlasted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.workers.delivery import Delivery, DeliveryFailed, DeliveryJob, DeliveryRetry
from storage.models import Event, Outbox
from tests.flowkit import Chat, FakeClock, seed_small_office

START = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)

Script = Callable[[DeliveryJob], Exception | None]


class ScriptedSender:
    """Records every attempt; ``script`` decides per job whether it fails and how."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or (lambda job: None)
        self.attempts: list[tuple[str, str]] = []
        self.delivered: list[tuple[str, str]] = []

    async def send(self, job: DeliveryJob) -> str:
        self.attempts.append((job.address, job.text))
        error = self.script(job)
        if error is not None:
            raise error
        self.delivered.append((job.address, job.text))
        return str(len(self.delivered))


async def add(db, address: str, text: str, clock: FakeClock, person_id=None) -> None:  # noqa: ANN001
    async with db.transaction() as s:
        s.add(
            Outbox(
                dedupe_key=f"{address}:{text}",
                channel="telegram",
                address=address,
                person_id=person_id,
                payload={"text": text},
                created_at=clock.now(),
            )
        )


async def statuses(db) -> dict[str, str]:  # noqa: ANN001
    async with db.transaction() as s:
        return {r.payload["text"]: r.status for r in await s.scalars(select(Outbox))}


async def test_a_retried_head_holds_back_its_own_chat_only(db):
    clock = FakeClock(START)
    for text in ("a1", "a2", "a3"):
        await add(db, "A", text, clock)
    for text in ("b1", "b2"):
        await add(db, "B", text, clock)
    failing = {"a1"}
    sender = ScriptedSender(lambda j: DeliveryRetry(None) if j.text in failing else None)
    delivery = Delivery(db, {"telegram": sender}, clock)
    while await delivery.drain():
        pass
    assert sender.delivered == [("B", "b1"), ("B", "b2")]  # A waits behind a1
    failing.clear()
    clock.advance(seconds=3)
    while await delivery.drain():
        pass
    a_order = [t for addr, t in sender.delivered if addr == "A"]
    assert a_order == ["a1", "a2", "a3"]


async def test_retry_after_pauses_that_chat_for_the_time_asked(db):
    clock = FakeClock(START)
    await add(db, "A", "a1", clock)
    await add(db, "A", "a2", clock)
    await add(db, "B", "b1", clock)
    told = {"a1": 1}

    def script(job: DeliveryJob) -> Exception | None:
        if told.get(job.text):
            told[job.text] -= 1
            return DeliveryRetry(30.0)
        return None

    sender = ScriptedSender(script)
    delivery = Delivery(db, {"telegram": sender}, clock)
    while await delivery.drain():
        pass
    assert sender.delivered == [("B", "b1")]
    clock.advance(seconds=29)
    assert await delivery.drain() == 0 and sender.attempts.count(("A", "a1")) == 1
    clock.advance(seconds=1)
    while await delivery.drain():
        pass
    assert sender.delivered == [("B", "b1"), ("A", "a1"), ("A", "a2")]


async def test_a_bot_wide_flood_pauses_every_chat(db):
    clock = FakeClock(START)
    for address in ("A", "B", "C"):
        await add(db, address, f"{address}1", clock)
    flood = {"A1": DeliveryRetry(20.0, everyone=True)}
    sender = ScriptedSender(lambda j: flood.pop(j.text, None))
    delivery = Delivery(db, {"telegram": sender}, clock)
    await delivery.drain()
    assert sender.attempts == [("A", "A1")]  # B and C wait too
    clock.advance(seconds=10)
    assert await delivery.drain() == 0 and len(sender.attempts) == 1
    clock.advance(seconds=10)
    while await delivery.drain():
        pass
    assert sorted(sender.delivered) == [("A", "A1"), ("B", "B1"), ("C", "C1")]


async def test_429_in_two_chats_of_one_pass_is_taken_as_a_flood(db):
    clock = FakeClock(START)
    for address in ("A", "B", "C"):
        await add(db, address, f"{address}1", clock)
    limited = {"A1": DeliveryRetry(5.0), "B1": DeliveryRetry(8.0)}
    sender = ScriptedSender(lambda j: limited.pop(j.text, None))
    delivery = Delivery(db, {"telegram": sender}, clock)
    await delivery.drain()
    assert [a for a, _ in sender.attempts] == ["A", "B"]
    clock.advance(seconds=7)
    await delivery.drain()
    assert [a for a, _ in sender.attempts] == ["A", "B"]  # paused for the longest wait
    clock.advance(seconds=1)
    while await delivery.drain():
        pass
    assert sorted(a for a, _ in sender.delivered) == ["A", "B", "C"]


async def test_an_outage_of_days_never_gives_a_message_up(db):
    clock = FakeClock(START)
    await add(db, "A", "kartu", clock)
    await add(db, "A", "sesudahnya", clock)
    down = {"on": True}
    sender = ScriptedSender(lambda j: DeliveryRetry(None) if down["on"] else None)
    delivery = Delivery(db, {"telegram": sender}, clock, patience=timedelta(hours=72))
    for _ in range(80):  # 80 hours: past the 72-hour patience window
        await delivery.drain()
        clock.advance(hours=1)
    assert (await statuses(db)) == {"kartu": "pending", "sesudahnya": "pending"}
    assert len(sender.attempts) == 80 and {t for _, t in sender.attempts} == {"kartu"}
    down["on"] = False
    while await delivery.drain():
        pass
    assert sender.delivered == [("A", "kartu"), ("A", "sesudahnya")]
    assert (await statuses(db)) == {"kartu": "sent", "sesudahnya": "sent"}


async def test_a_refusal_ends_the_message_and_the_planner_is_told_once(db):
    ids = await seed_small_office(db)
    chat = Chat(db)
    clock = chat.clock
    kasi = "103"
    await add(db, kasi, "satu", clock, person_id=ids["kasi"])
    await add(db, kasi, "dua", clock, person_id=ids["kasi"])
    sender = ScriptedSender(
        lambda j: (
            DeliveryFailed("Forbidden: bot was blocked by the user") if j.address == kasi else None
        )
    )
    delivery = Delivery(db, {"telegram": sender}, clock, on_failed=chat.core.run)
    while await delivery.drain():
        pass
    assert (await statuses(db))["satu"] == "failed" and (await statuses(db))["dua"] == "failed"
    notices = [t for a, t in sender.delivered if a == "102"]
    assert len(notices) == 1
    assert "Budi (Kasi Pemerintahan)" in notices[0] and "diblokir" in notices[0]
    async with db.transaction() as s:
        events = list(await s.scalars(select(Event).where(Event.action == "pesan.gagal")))
    assert len(events) == 2  # each refusal logged; the notice is sent once a day


async def test_past_the_patience_window_the_planner_is_told_and_tries_go_on(db):
    ids = await seed_small_office(db)
    chat = Chat(db)
    clock = chat.clock
    await add(db, "103", "kartu", clock, person_id=ids["kasi"])
    sender = ScriptedSender(lambda j: DeliveryRetry(None) if j.address == "103" else None)
    delivery = Delivery(
        db, {"telegram": sender}, clock, patience=timedelta(hours=1), on_failed=chat.core.run
    )
    for _ in range(30):
        await delivery.drain()
        clock.advance(seconds=300)
    assert (await statuses(db))["kartu"] == "pending"
    notices = [t for a, t in sender.delivered if a == "102"]
    assert len(notices) == 1 and "masih terus mencoba" in notices[0]
