"""Inbound: Kasi filling sheets, raw update -> PTB parsing -> flows -> storage.

The product side is the handler the inbox worker calls (``handlers.telegram.TelegramInbox``
around ``Core(build_router())``; the inbox write before it is not counted). The floor is the
same kind of PTB application whose only handler does one ORM insert and a commit, fed the very
same updates. Only the network is fake (:class:`bench.fakeapi.FakeBotApi`). The Kasi take turns
(every Kasi's first update, then every Kasi's second, ...), so the last round is 300 Kirim taps
in an office that fills up: the first and last Kirim are a figure of their own.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench import seed
from bench.common import TOKEN, WIB, Fixed, Result, Timer, backend, p99
from bench.fakeapi import BOT_USER, FakeBotApi
from bot.bootstrap import build_router
from flows.core import texts
from flows.core.context import Ctx
from flows.core.router import Core
from flows.domain.periods import Period
from flows.sop import engine
from handlers.telegram import CALLBACK_PREFIX, TelegramInbox, build_application
from storage.db import Database
from storage.models import InboundSeen, Office, Outbox, Worksheet

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=WIB)
FAKE_URL = "http://bench.invalid/bot"


def _user(chat: int) -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": f"Kasi {chat}"}


def text_update(update_id: int, chat: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(NOW.timestamp()),
            "chat": {"id": chat, "type": "private"},
            "from": _user(chat),
            "text": text,
        },
    }


def tap_update(update_id: int, chat: int, token: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": _user(chat),
            "chat_instance": str(chat),
            "data": CALLBACK_PREFIX + token,
            "message": {
                "message_id": 1,
                "date": int(NOW.timestamp()),
                "chat": {"id": chat, "type": "private"},
                "from": BOT_USER,
                "text": "-",
            },
        },
    }


def script(indicators: int) -> list[tuple[str, str]]:
    """What one Kasi does: /isi, per indicator the value, skip keterangan and bukti; Kirim."""
    steps = [("text", "/isi")]
    for _ in range(indicators):
        steps += [("text", "9"), ("tap", "Lewati"), ("tap", "Lewati")]
    return [*steps, ("tap", "Kirim")]


async def newest_token(db: Database, chat: int, label: str) -> str:
    """The newest button with this label in the chat's outbox (looked up outside the timing)."""
    async with db.transaction() as s:
        rows = await s.scalars(
            select(Outbox).where(Outbox.address == str(chat)).order_by(Outbox.id.desc()).limit(20)
        )
        for row in rows:
            for brow in row.payload.get("buttons", []):
                for b in brow:
                    if b["label"] == label:
                        return b["token"]
    return "-"


async def _open_quarter(core: Core) -> None:
    async def work(ctx: Ctx) -> None:
        office = await ctx.session.scalar(select(Office).where(Office.code == "bench"))
        assert office is not None
        await engine.start_at_fill(ctx, office, Period.from_key("2026-TW3"), "")

    await core.run(work)


async def _timed(app: Application, updates: list[dict[str, Any]]) -> list[float]:
    """The floor's path: the raw update parsed by PTB, then ``process_update``.

    Parsing is timed on both sides: the product's time starts from the raw update too.
    """
    lat = []
    for data in updates:
        t0 = time.perf_counter()
        await app.process_update(Update.de_json(data, app.bot))
        lat.append(time.perf_counter() - t0)
    return lat


async def _handled(handle: TelegramInbox, data: dict[str, Any]) -> float:
    """The product's path: a raw update from the inbox, parsed and handled through the core."""
    t0 = time.perf_counter()
    await handle(data)
    return time.perf_counter() - t0


async def _product(db: Database, kasi: int, indicators: int) -> dict[str, Any]:
    chats = await seed.office_with_kasi(db, kasi, indicators)
    core = Core(db, build_router(), Fixed(NOW))
    for _ in texts.warm_up():  # as the bot does at start (bot.bootstrap._warm_templates)
        pass
    await _open_quarter(core)
    app = build_application(TOKEN, FAKE_URL, FAKE_URL)
    fake = FakeBotApi()
    app.bot._request = (fake, fake)  # noqa: SLF001 - build_application takes no request object
    handle = TelegramInbox(app.bot, core)
    updates: list[dict[str, Any]] = []
    latencies: list[float] = []
    kirim: list[float] = []
    uid = 0
    async with app:
        for kind, what in script(indicators):
            for chat in chats:
                uid += 1
                if kind == "text":
                    data = text_update(uid, chat, what)
                else:
                    data = tap_update(uid, chat, await newest_token(db, chat, what))
                updates.append(data)
                lat = await _handled(handle, data)
                latencies.append(lat)
                if what == "Kirim":
                    kirim.append(lat)
    async with db.transaction() as s:
        submitted = await s.scalar(
            select(func.count()).select_from(Worksheet).where(Worksheet.status == "submitted")
        )
    return {
        "updates": updates,
        "latencies": latencies,
        "kirim": kirim,
        "submitted": int(submitted or 0),
    }


async def _floor(db: Database, updates: list[dict[str, Any]]) -> list[float]:
    fake = FakeBotApi()
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(fake)
        .get_updates_request(fake)
        .rate_limiter(AIORateLimiter())
        .build()
    )

    async def insert_one(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        async with db.transaction() as s:
            s.add(InboundSeen(channel="floor", key=str(update.update_id), at=NOW))

    app.add_handler(CallbackQueryHandler(insert_one))
    app.add_handler(MessageHandler(filters.ALL, insert_one))
    async with app:
        return await _timed(app, updates)


async def measure(db: Database, kasi: int, indicators: int) -> list[Result]:
    """Inbound rate and p99 against the floor; the first and the last Kirim."""
    name = backend(db)
    with Timer() as total:
        product = await _product(db, kasi, indicators)
    floor = await _floor(db, product["updates"])
    lat, n = product["latencies"], len(product["latencies"])
    rate, floor_rate = n / sum(lat), n / sum(floor)
    size = f"{kasi} Kasi x {indicators} indicators, {n} updates"
    extra = {
        "submitted": product["submitted"],
        "p50_ms": sorted(lat)[n // 2] * 1000,
        "floor_p50_ms": sorted(floor)[n // 2] * 1000,
        "wall_s_with_token_lookups": total.seconds,
    }
    results = [
        Result(
            f"inbound {name} rate",
            rate,
            "upd/s",
            floor_rate,
            "upd/s",
            "same PTB app, handler = one ORM insert + commit",
            ">= 0.5x floor",
            size,
            met=rate >= 0.5 * floor_rate,
            extra=extra,
        ),
        Result(
            f"inbound {name} p99",
            p99(lat) * 1000,
            "ms",
            p99(floor) * 1000,
            "ms",
            "p99 of the same floor",
            "p99 <= 5 ms",
            size,
            met=p99(lat) <= 0.005,
        ),
    ]
    kirim = product["kirim"]
    if kirim:
        results.append(
            Result(
                f"last Kirim, {name}",
                kirim[-1] * 1000,
                "ms",
                kirim[0] * 1000,
                "ms",
                "the first Kirim of the same office",
                "<= 50 ms",
                f"office of {kasi} Kasi",
                met=kirim[-1] <= 0.05,
                extra={"kirim_p50_ms": sorted(kirim)[len(kirim) // 2] * 1000},
            )
        )
    return results
