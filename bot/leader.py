"""One scheduler leader per database: a PostgreSQL session advisory lock on its own connection.

Every ``pekerja`` process may run the scheduler, but only the one holding the lock sweeps.
The lock belongs to a connection kept open for that purpose (session level, not inside a
transaction); when the process dies, PostgreSQL ends the session and frees the lock, and the
next process that tries takes over. Through PgBouncer that connection must be in session
pooling mode (transaction pooling hands the session to others between transactions).
On SQLite one process runs and it is always the leader.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

#: The advisory lock's key: any fixed 64-bit number the deployment does not use elsewhere.
LOCK_KEY = 0x4B494E45524A41  # "KINERJA"


class Leader:
    """Holds (or tries to take) the scheduler lock; :meth:`check` before every sweep."""

    def __init__(self, engine: AsyncEngine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self.conn: AsyncConnection | None = None
        self.sqlite = engine.dialect.name == "sqlite"
        #: The sweep and the follower's retry may check at the same moment; their queries
        #: must not interleave on the one lock connection (asyncpg refuses, the lock is lost).
        self._checking = asyncio.Lock()

    @property
    def leading(self) -> bool:
        return self.sqlite or self.conn is not None

    async def check(self) -> bool:
        """Whether this process leads now: its session still holds the lock, or takes it now.

        Asked of the database, not assumed: a dropped connection comes back (SQLAlchemy
        reconnects) as a new session that holds nothing.
        """
        if self.sqlite:
            return True
        async with self._checking:
            return await self._check()

    async def _check(self) -> bool:
        if self.conn is not None:
            try:
                if await self._holds(self.conn) or await self._take(self.conn):
                    return True
            except Exception:
                log.warning("scheduler lock connection failed", exc_info=True)
            log.warning("scheduler lock lost")
            await self._drop()
        conn = await self.engine.connect()
        try:
            got = await self._take(conn)
        except Exception:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self.conn = conn
        log.info("this process leads the scheduler")
        return True

    async def _holds(self, conn: AsyncConnection) -> bool:
        held = await conn.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
                " AND classid::bigint = :hi AND objid::bigint = :lo)"
            ),
            {"hi": self.key >> 32, "lo": self.key & 0xFFFFFFFF},
        )
        await conn.commit()  # no transaction stays open on this connection
        return bool(held)

    async def _take(self, conn: AsyncConnection) -> bool:
        got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
        await conn.commit()  # the lock is the session's, not the transaction's
        return bool(got)

    async def _drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                await conn.invalidate()  # never back into the pool: its session held the lock
            except Exception:
                log.debug("closing the lost lock connection failed", exc_info=True)

    async def release(self) -> None:
        """Stop leading (on shutdown): unlock and close the connection."""
        if self.conn is None:
            return
        try:
            await self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            await self.conn.commit()
        except Exception:
            log.debug("unlocking failed; closing the connection frees it", exc_info=True)
        await self._drop()
