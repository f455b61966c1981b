"""The leader's lock connection under two checks at once (the sweep and the follower's retry
fire together every few minutes): the leader keeps its lock."""

from __future__ import annotations

import asyncio

from bot.leader import Leader
from storage.db import Database
from tests.test_concurrency import URL, pytestmark  # noqa: F401  # skipped without PostgreSQL

KEY = 0x4B42_4C4F_4144  # not the production key


async def test_two_checks_at_once_keep_the_lock() -> None:
    db = Database(URL)
    leader, other = Leader(db.engine, key=KEY), Leader(db.engine, key=KEY)
    try:
        assert await leader.check()
        for _ in range(20):
            assert await asyncio.gather(*(leader.check() for _ in range(3))) == [True] * 3
        assert leader.leading and not await other.check()
    finally:
        await leader.release()
        await other.release()
        await db.dispose()
