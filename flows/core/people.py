"""Who holds a role in an office, including acting officials (Plt / Plh)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Acting, Office, Person


def normalize_phone(text: str) -> str:
    """One form for a phone number: digits with the country code ("0812-3…", "+62 812 3…"
    and "62812 3…" are all "628123…"); "" when it is no number."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return digits if 8 <= len(digits) <= 15 else ""


@functools.cache
def _holders_query() -> Executable:
    """Built once (asked on every Kirim and every tap of a leader); ``office_id``, ``role``."""
    return (
        select(Person)
        .where(
            Person.office_id == bindparam("office_id"),
            Person.role == bindparam("role"),
            Person.active.is_(True),
        )
        .order_by(Person.id)
    )


async def holders(session: AsyncSession, office_id: int, role: str) -> list[Person]:
    """Active people of the office with this role, in id order (no acting officials)."""
    found = await session.scalars(_holders_query(), {"office_id": office_id, "role": str(role)})
    return list(found)


@dataclass(frozen=True)
class Actor:
    """Someone who may act for a role today; ``acting_as`` is e.g. "Plt Camat" or ""."""

    person: Person
    acting_as: str = ""


def local_date(office: Office, now: datetime) -> date:
    """Today's date in the office's time zone."""
    return now.astimezone(ZoneInfo(office.tz)).date()


async def acting_for(
    session: AsyncSession, office_id: int, role: str, on: date
) -> list[tuple[Person, Acting]]:
    """People set to act for ``role`` on ``on`` (Plt / Plh)."""
    rows = await session.execute(
        _acting_query(), {"office_id": office_id, "role": str(role), "on": on}
    )
    return [(p, a) for p, a in rows.all()]


@functools.cache
def _acting_query() -> Executable:
    """Built once; ``office_id``, ``role``, ``on``."""
    return (
        select(Person, Acting)
        .join(Acting, Acting.person_id == Person.id)
        .where(
            Acting.office_id == bindparam("office_id"),
            Acting.role == bindparam("role"),
            Acting.starts <= bindparam("on"),
            Acting.ends >= bindparam("on"),
            Person.active.is_(True),
        )
        .order_by(Acting.id)
    )


async def actors(
    session: AsyncSession,
    office: Office,
    role: str,
    now: datetime,
    *,
    title: str,
    jabatan_ok: object = None,
) -> list[Actor]:
    """Holders of ``role`` (filtered by ``jabatan_ok`` when some match) plus acting officials.

    ``title`` is how the SOP names the role, used in ``acting_as`` ("Plt Camat").
    """
    regular = await holders(session, office.id, role)
    if callable(jabatan_ok):
        matching = [p for p in regular if jabatan_ok(p.jabatan)]
        regular = matching or regular
    out = [Actor(p) for p in regular]
    seen = {p.id for p in regular}
    for person, acting in await acting_for(session, office.id, role, local_date(office, now)):
        if person.id not in seen:
            seen.add(person.id)
            out.append(Actor(person, f"{acting.kind} {title}"))
    return out
