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

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DocumentJob, InboxItem, Lease


@cache
def worker_id() -> str:
    """This process's name in claims: host, pid and a random tail (pids are reused)."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def gone(holder: str) -> bool:
    """Whether ``holder`` is a process of this host that no longer runs (it crashed: its
    lease need not be waited out). A process of another host is never known to be gone."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:50] or not pid.isdigit() or holder == worker_id():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, owned by another user
        return False
    return False


async def take(
    session: AsyncSession, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take or renew lease ``name`` for ``holder`` until ``now + ttl``; False when another
    holder's lease has not expired and that holder is not known to be gone."""
    row = await session.get(Lease, name, with_for_update=True)
    if row is None:
        session.add(Lease(name=name, holder=holder, until=now + ttl))
        await session.flush()
        return True
    if row.holder != holder and row.until > now and not gone(row.holder):
        return False
    row.holder, row.until = holder, now + ttl
    return True


async def give_back(session: AsyncSession, name: str, holder: str) -> None:
    """End ``holder``'s lease at once (a clean shutdown)."""
    row = await session.get(Lease, name, with_for_update=True)
    if row is not None and row.holder == holder:
        await session.delete(row)


async def free_claims_of_the_gone(
    session: AsyncSession, model: type[InboxItem] | type[DocumentJob]
) -> int:
    """Release the pending rows claimed by processes of this host that no longer run (a bot
    restarted after a crash takes its work back at once instead of waiting out the leases);
    returns how many holders were gone."""
    holders = set(
        await session.scalars(
            select(model.claimed_by)
            .where(model.status == "pending", model.claimed_by.is_not(None))
            .distinct()
        )
    )
    dead = sorted(h for h in holders if h is not None and gone(h))
    if dead:
        await session.execute(
            update(model)
            .where(model.status == "pending", model.claimed_by.in_(dead))
            .values(claimed_by=None, claim_until=None)
        )
    return len(dead)
