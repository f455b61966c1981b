"""Delivery: a fan-out of outbox rows through ``bot.workers.delivery.Delivery`` and
``handlers.telegram.TelegramSender`` to the fake Bot API.

* as built (the production limiter, ``bot.workers.ratelimit.channel_limiters``, and the
  default ``DELIVERY_CONCURRENCY``): the most sends in any one-second window against
  Telegram's 30, and the sustained rate, for messages to distinct chats;
* with no limiter: the machinery's ceiling against raw PTB ``send_message`` to the same fake.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert
from telegram.ext import Application, ApplicationBuilder

from bench.common import TOKEN, WIB, Fixed, Result, fresh_db, max_in_window
from bench.fakeapi import FakeBotApi
from bench.inbound import FAKE_URL
from bot.settings import Settings
from bot.workers.delivery import Delivery
from bot.workers.ratelimit import Limiter, channel_limiters
from handlers.telegram import CHANNEL, TelegramSender, build_application
from storage.db import Database
from storage.models import Outbox

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)
CHATS = 300
TELEGRAM_LIMIT = 30


async def _queue(db: Database, messages: int, chats: int) -> None:
    async with db.transaction() as s:
        await s.execute(
            insert(Outbox),
            [
                {
                    "dedupe_key": f"bench:{i}",
                    "channel": CHANNEL,
                    "address": str(1_000_000 + i % chats),
                    "person_id": None,
                    "payload": {"text": f"Pengingat kertas kerja nomor {i}."},
                    "group_key": "",
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                    "external_message_id": "",
                    "created_at": NOW,
                }
                for i in range(messages)
            ],
        )


async def _deliver(
    db: Database,
    app: Application,
    fake: FakeBotApi,
    messages: int,
    *,
    chats: int = CHATS,
    limiters: dict[str, Limiter] | None = None,
) -> float:
    """Queue ``messages`` rows and drain them all; returns the wall seconds."""
    await _queue(db, messages, chats)
    concurrency = Settings.model_fields["delivery_concurrency"].default
    delivery = Delivery(
        db,
        {CHANNEL: TelegramSender(app)},
        Fixed(NOW),
        limiters=limiters,
        concurrency=concurrency,
    )
    t0 = time.perf_counter()
    async with app:
        while await delivery.drain():
            pass
    seconds = time.perf_counter() - t0
    if len(fake.sent) != messages:
        raise RuntimeError(f"sent {len(fake.sent)} of {messages}")
    return seconds


def _bare(fake: FakeBotApi) -> Application:
    return ApplicationBuilder().token(TOKEN).request(fake).get_updates_request(fake).build()


async def as_built(workdir: Path, messages: int) -> list[Result]:
    fake = FakeBotApi()
    async with fresh_db(workdir, "fanout") as db:
        app = build_application(TOKEN, FAKE_URL, FAKE_URL)
        app.bot._request = (fake, fake)  # noqa: SLF001 - build_application takes no request
        seconds = await _deliver(
            db, app, fake, messages, chats=messages, limiters=channel_limiters()
        )
    peak = max_in_window(fake.sent)
    rate = messages / seconds
    size = f"{messages:,} messages to {messages:,} chats"
    return [
        Result(
            "fan-out, most sends in any 1 s",
            peak,
            "msg",
            TELEGRAM_LIMIT,
            "msg",
            "Telegram's limit: 30 in any second",
            "never over 30",
            size,
            met=peak <= TELEGRAM_LIMIT,
        ),
        Result(
            "fan-out, sustained rate",
            rate,
            "msg/s",
            TELEGRAM_LIMIT,
            "msg/s",
            "Telegram's limit: 30 msg/s",
            ">= 28.5 msg/s",
            size,
            met=rate >= 28.5,
        ),
    ]


async def ceiling(workdir: Path, messages: int) -> list[Result]:
    fake = FakeBotApi()
    async with fresh_db(workdir, "ceiling") as db:
        seconds = await _deliver(db, _bare(fake), fake, messages)
    raw_fake = FakeBotApi()
    app = _bare(raw_fake)
    async with app:
        t0 = time.perf_counter()
        for i in range(messages):
            await app.bot.send_message(1_000_000 + i % CHATS, f"Pengingat kertas kerja nomor {i}.")
        raw = time.perf_counter() - t0
    rate, floor = messages / seconds, messages / raw
    return [
        Result(
            "delivery ceiling, limiter off",
            rate,
            "msg/s",
            floor,
            "msg/s",
            "raw PTB send_message to the same fake",
            ">= 0.3x floor",
            f"{messages:,} messages to {CHATS} chats",
            met=rate >= 0.3 * floor,
        )
    ]
