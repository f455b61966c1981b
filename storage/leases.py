"""Work claimed by one worker at a time: who this process is, and named leases.

A claim is a lease (a holder and an expiry), so a dead worker's work is taken over once its
lease runs out. On PostgreSQL, claims are taken with ``FOR UPDATE SKIP LOCKED`` (SQLAlchemy
leaves the clause out on SQLite, where one process writes at a time and the lease alone holds).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lease


@cache
def worker_id() -> str:
    """This process's name in claims: host, pid and a random tail (pids are reused)."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def take(
    session: AsyncSession, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take or renew lease ``name`` for ``holder`` until ``now + ttl``; False when another
    holder's lease has not expired."""
    row = await session.get(Lease, name, with_for_update=True)
    if row is None:
        session.add(Lease(name=name, holder=holder, until=now + ttl))
        await session.flush()
        return True
    if row.holder != holder and row.until > now:
        return False
    row.holder, row.until = holder, now + ttl
    return True


async def give_back(session: AsyncSession, name: str, holder: str) -> None:
    """End ``holder``'s lease at once (a clean shutdown)."""
    row = await session.get(Lease, name, with_for_update=True)
    if row is not None and row.holder == holder:
        await session.delete(row)
