"""Who holds a role in an office."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person


async def holders(session: AsyncSession, office_id: int, role: str) -> list[Person]:
    """Active people of the office with this role, in NIP order."""
    return list(
        await session.scalars(
            select(Person)
            .where(Person.office_id == office_id, Person.role == role, Person.active.is_(True))
            .order_by(Person.id)
        )
    )
