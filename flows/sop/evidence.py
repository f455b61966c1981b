"""Required evidence: the indicators of a sheet that must carry bukti dukung and do not yet."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.sop.sheet_data import Item
from storage.models import StoredFile

__all__ = ["without_evidence"]


async def without_evidence(session: AsyncSession, items: list[Item]) -> list[Item]:
    """Measured items whose indicator requires evidence and whose entry has no file."""
    wanted = [i for i in items if i.measured and i.indicator.requires_evidence]
    if not wanted:
        return []
    await session.flush()  # a file attached in this same unit of work counts
    have = set(
        await session.scalars(
            select(StoredFile.entry_id)
            .where(StoredFile.entry_id.in_([i.entry.id for i in wanted]))
            .distinct()
        )
    )
    return [i for i in wanted if i.entry.id not in have]
