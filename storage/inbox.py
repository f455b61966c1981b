"""The durable inbox: raw inbound updates, stored before the channel is told they arrived.

Channel-neutral: a channel stores what it received (``store``) and acknowledges only after
the commit; a worker handles pending rows (``due``, ``mark_done``, ``mark_failed``); rows
that cannot be handled become dead letters an operator can list and ``replay``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxItem

#: Tries before an update that keeps failing becomes a dead letter.
MAX_ATTEMPTS = 5


async def store(
    session: AsyncSession, channel: str, key: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Keep one raw update; False when that (channel, key) is already stored."""
    found = await session.scalar(
        select(InboxItem.id).where(InboxItem.channel == channel, InboxItem.key == key)
    )
    if found is not None:
        return False
    session.add(InboxItem(channel=channel, key=key, payload=payload, received_at=now))
    await session.flush()
    return True


async def due(
    session: AsyncSession, channels: list[str], now: datetime, limit: int = 50
) -> list[InboxItem]:
    """Pending rows of these channels whose back-off has passed, oldest first."""
    return list(
        await session.scalars(
            select(InboxItem)
            .where(
                InboxItem.status == "pending",
                InboxItem.channel.in_(channels),
                or_(InboxItem.not_before.is_(None), InboxItem.not_before <= now),
            )
            .order_by(InboxItem.id)
            .limit(limit)
        )
    )


def mark_done(row: InboxItem, now: datetime) -> None:
    row.status, row.handled_at, row.not_before = "done", now, None
    row.attempts += 1


def mark_failed(row: InboxItem, now: datetime, error: str, *, final: bool = False) -> bool:
    """Count a failed try; True when the row just became a dead letter."""
    row.attempts += 1
    row.last_error = error[:500]
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
            count += 1
    return count
