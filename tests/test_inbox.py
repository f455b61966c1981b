"""The durable inbox: stored once, handled once, bad updates become dead letters."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import admin
from bot.settings import Settings
from bot.workers.inbox import InboxWorker
from handlers.ports import UnreadableUpdate
from handlers.telegram import TelegramInbox
from handlers.telegram_intake import store_updates
from storage import inbox
from storage.models import Entry, InboundSeen, InboxItem, Outbox
from tests.flowkit import Chat, FakeClock, open_quarter, seed_small_office

KASI = "103"


def text_update(update_id: int, chat: int, text: str, *, edited: bool = False) -> dict[str, Any]:
    kind = "edited_message" if edited else "message"
    return {
        "update_id": update_id,
        kind: {
            "message_id": update_id,
            "date": 1_790_000_000,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Budi"},
            "text": text,
            **({"edit_date": 1_790_000_100} if edited else {}),
        },
    }


async def rows(db) -> list[InboxItem]:  # noqa: ANN001
    async with db.transaction() as s:
        return list(await s.scalars(select(InboxItem).order_by(InboxItem.id)))


async def test_store_is_idempotent_by_update_id(db):
    clock = FakeClock(datetime(2026, 10, 5, tzinfo=UTC))
    first = await store_updates(db, clock, [text_update(7, 1, "a"), text_update(8, 1, "b")])
    again = await store_updates(db, clock, [text_update(8, 1, "b"), {"no": "id"}, "junk"])
    assert first == (8, 2) and again == (8, 0)
    assert [r.key for r in await rows(db)] == ["7", "8"]


async def test_worker_handles_each_update_once_and_resumes_after_a_crash(db):
    await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    handler = TelegramInbox(bot=None, core=chat.core)  # type: ignore[arg-type]
    await store_updates(db, chat.clock, [text_update(1, int(KASI), "/isi")])
    await store_updates(db, chat.clock, [text_update(2, int(KASI), "48")])
    worker = InboxWorker(db, {"telegram": handler}, chat.clock)
    # A crash after the core committed update 1 but before the inbox row said "done".
    await handler((await rows(db))[0].payload)
    assert await worker.drain() == 2
    assert [r.status for r in await rows(db)] == ["done", "done"]
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(InboundSeen)) == 2
    texts = [m.text for m in await chat.new_messages()]
    assert sum("Kertas kerja Triwulan III" in t for t in texts) == 1  # /isi acted on once
    assert sum("penyebut" in t for t in texts) == 1  # 48 taken as the numerator, once
    assert await worker.drain() == 0


async def test_unreadable_update_is_a_dead_letter_at_once_and_blocks_nobody(db, caplog):
    await seed_small_office(db)
    chat = Chat(db)
    calls: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        calls.append(payload["update_id"])
        if payload.get("bad"):
            raise UnreadableUpdate("KeyError")

    await store_updates(db, chat.clock, [{"update_id": 1, "bad": True}, {"update_id": 2}])
    caplog.set_level(logging.WARNING, logger="bot.workers.inbox")
    worker = InboxWorker(db, {"telegram": handler}, chat.clock)
    assert await worker.drain() == 2
    assert [(r.key, r.status) for r in await rows(db)] == [("1", "dead"), ("2", "done")]
    assert await worker.drain() == 0
    assert calls == [1, 2]
    assert len([r for r in caplog.records if "dead letter" in r.getMessage()]) == 1


async def test_a_failing_update_retries_with_backoff_then_dies_without_blocking(db, caplog):
    clock = FakeClock(datetime(2026, 10, 5, tzinfo=UTC))
    calls: list[int] = []

    async def handler(payload: dict[str, Any]) -> None:
        calls.append(payload["update_id"])
        if payload["update_id"] == 1:
            raise RuntimeError("database is locked")

    await store_updates(db, clock, [{"update_id": 1}, {"update_id": 2}])
    caplog.set_level(logging.WARNING, logger="bot.workers.inbox")
    worker = InboxWorker(db, {"telegram": handler}, clock)
    await worker.drain()
    assert calls == [1, 2]
    assert await worker.drain() == 0  # backing off: nothing due
    for _ in range(inbox.MAX_ATTEMPTS):
        clock.advance(seconds=301)
        await worker.drain()
    assert calls == [1, 2] + [1] * (inbox.MAX_ATTEMPTS - 1)
    assert [r.status for r in await rows(db)] == ["dead", "done"]
    assert len([r for r in caplog.records if "dead letter" in r.getMessage()]) == 1


async def test_garbage_in_a_real_update_becomes_a_dead_letter(db):
    """What this PTB cannot parse (a field of the wrong shape) is kept and set aside."""
    chat = Chat(db)
    handler = TelegramInbox(bot=None, core=chat.core)  # type: ignore[arg-type]
    bad = {"update_id": 5, "message": {"message_id": "x", "chat": 3, "date": "soon"}}
    with pytest.raises(UnreadableUpdate):
        await handler(bad)


async def test_edited_message_is_never_an_answer(db):
    await seed_small_office(db)
    chat = Chat(db)
    await open_quarter(chat, "uji", "2026-TW3")
    await chat.say(KASI, "/isi")
    await chat.new_messages()
    handler = TelegramInbox(bot=None, core=chat.core)  # type: ignore[arg-type]
    await handler(text_update(50, int(KASI), "48", edited=True))
    out = await chat.new_messages()
    assert len(out) == 1 and "diubah tidak dibaca sebagai jawaban" in out[0].text
    async with db.transaction() as s:
        assert await s.scalar(select(Entry).where(Entry.numerator.is_not(None))) is None


async def test_dead_letters_listed_and_replayed_by_the_admin(db, db_url, capsys):
    clock = FakeClock(datetime(2026, 10, 5, tzinfo=UTC))
    await store_updates(db, clock, [{"update_id": 11}, {"update_id": 12}])
    async with db.transaction() as s:
        for row in await s.scalars(select(InboxItem)):
            inbox.mark_failed(row, clock.now(), "unreadable: KeyError", final=True)
    settings = Settings(database_url=db_url, _env_file=None)
    assert await admin.list_dead_letters(argparse.Namespace(), settings) == 0
    listed = capsys.readouterr().out
    assert "telegram 11" in listed and "unreadable: KeyError" in listed
    assert await admin.replay_dead_letters(argparse.Namespace(id=["1"]), settings) == 0
    assert "1 pesan masuk dikembalikan" in capsys.readouterr().out
    assert [r.status for r in await rows(db)] == ["pending", "dead"]
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Outbox)) == 0
