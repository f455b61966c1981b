"""One Telegram poller per database: a second ``jalan`` in polling mode is refused, not let in.

Telegram lets one ``getUpdates`` consumer poll a bot at a time; two fight (each ending the
other's poll with 409 Conflict). On PostgreSQL the poller holds a session advisory lock (as
the scheduler leader does, with its own key); on SQLite it holds the ``lease`` row
"telegram-poller", renewed on every poll and free a minute after its holder died.
Several processes are for webhook mode.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.failures import ExitCode, Failure
from bot.leader import LOCK_KEY, Leader
from flows.core.context import Clock
from storage import leases
from storage.db import Database

log = logging.getLogger(__name__)

#: The poller's advisory lock key (the scheduler's plus one).
POLLER_KEY = LOCK_KEY + 1
LEASE_NAME = "telegram-poller"
#: On SQLite: how long the poller's lease outlives its last renewal.
LEASE_TTL = timedelta(seconds=60)


class PollerGuard:
    """``acquire`` before the first poll, ``holds`` before each poll, ``release`` at the end."""

    def __init__(self, db: Database, clock: Clock, holder: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.holder = holder or leases.worker_id()
        self.sqlite = db.engine.dialect.name == "sqlite"
        self.lock = None if self.sqlite else Leader(db.engine, key=POLLER_KEY)

    async def holds(self) -> bool:
        """Whether this process is (or now becomes) the poller; on SQLite renews the lease."""
        if self.lock is not None:
            return await self.lock.check()
        try:
            async with self.db.transaction() as session:
                return await leases.take(
                    session, LEASE_NAME, self.holder, self.clock.now(), LEASE_TTL
                )
        except IntegrityError:  # another process inserted the row at the same moment
            return False

    async def acquire(self) -> None:
        """Become the poller, or raise the operator's Failure: another process polls."""
        if not await self.holds():
            raise Failure(ExitCode.POLLER, "poller_ganda")
        log.info("this process is the Telegram poller")

    async def release(self) -> None:
        if self.lock is not None:
            await self.lock.release()
            return
        try:
            async with self.db.transaction() as session:
                await leases.give_back(session, LEASE_NAME, self.holder)
        except Exception:
            log.debug("giving the poller lease back failed; it expires", exc_info=True)
