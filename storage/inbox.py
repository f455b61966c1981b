"""The durable inbox: raw inbound updates, stored before the channel is told they arrived.

Channel-neutral: a channel stores what it received (``store``) and acknowledges only after
the commit; workers (any number, in any process) ``claim`` pending rows, handle them and
``mark_done`` / ``mark_failed``; rows that cannot be handled become dead letters an operator
can list and ``replay``.

A claim is a lease taken with ``FOR UPDATE SKIP LOCKED``: two workers never take the same row,
and a dead worker's rows are taken over when the lease expires. Only a chat's oldest pending
row can be claimed, so one chat's updates are handled one at a time, in the order they were
stored; a row backing off after a failure holds its chat's later rows (never other chats').
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import InboxItem

#: Tries before an update that keeps failing becomes a dead letter.
MAX_ATTEMPTS = 5


#: How long a claim holds: handling one update takes well under a second.
LEASE = timedelta(seconds=60)


async def store(
    session: AsyncSession,
    channel: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    chat: str | None = None,
) -> bool:
    """Keep one raw update from ``chat`` (None: unknown, ordered with nothing); False when that
    (channel, key) is already stored."""
    found = await session.scalar(
        select(InboxItem.id).where(InboxItem.channel == channel, InboxItem.key == key)
    )
    if found is not None:
        return False
    session.add(InboxItem(channel=channel, key=key, payload=payload, received_at=now, chat=chat))
    await session.flush()
    return True


async def claim(
    session: AsyncSession,
    channels: list[str],
    now: datetime,
    holder: str,
    *,
    limit: int = 50,
    lease: timedelta = LEASE,
) -> list[InboxItem]:
    """Claim for ``holder`` up to ``limit`` due rows of these channels, at most one per chat
    (its oldest pending one), oldest first; rows another worker holds are skipped."""
    earlier = aliased(InboxItem)
    waits = exists().where(
        earlier.channel == InboxItem.channel,
        earlier.chat == InboxItem.chat,
        earlier.status == "pending",
        earlier.id < InboxItem.id,
    )
    rows = list(
        await session.scalars(
            select(InboxItem)
            .where(
                InboxItem.status == "pending",
                InboxItem.channel.in_(channels),
                or_(InboxItem.not_before.is_(None), InboxItem.not_before <= now),
                or_(InboxItem.claim_until.is_(None), InboxItem.claim_until <= now),
                ~waits,
            )
            .order_by(InboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=InboxItem)
        )
    )
    for row in rows:
        row.claimed_by, row.claim_until = holder, now + lease
    return rows


def mark_done(row: InboxItem, now: datetime) -> None:
    row.status, row.handled_at, row.not_before = "done", now, None
    row.claimed_by, row.claim_until = None, None
    row.attempts += 1


def mark_failed(row: InboxItem, now: datetime, error: str, *, final: bool = False) -> bool:
    """Count a failed try; True when the row just became a dead letter."""
    row.attempts += 1
    row.last_error = error[:500]
    row.claimed_by, row.claim_until = None, None
    if final or row.attempts >= MAX_ATTEMPTS:
        row.status, row.handled_at, row.not_before = "dead", now, None
        return True
    row.not_before = now + timedelta(seconds=min(2 ** min(row.attempts, 20), 300))
    return False


async def dead_letters(session: AsyncSession) -> list[InboxItem]:
    return list(
        await session.scalars(
            select(InboxItem).where(InboxItem.status == "dead").order_by(InboxItem.id)
        )
    )


async def replay(session: AsyncSession, ids: list[int] | None = None) -> int:
    """Put dead letters (all, or these ids) back in the queue with a fresh count of tries."""
    rows = await dead_letters(session)
    count = 0
    for row in rows:
        if ids is None or row.id in ids:
            row.status, row.attempts, row.not_before, row.handled_at = "pending", 0, None, None
            row.claimed_by, row.claim_until = None, None
            count += 1
    return count
