"""Who holds a role in an office, including acting officials (Plt / Plh)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, bindparam, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.models import Acting, Office, Person

#: ``session.info`` key of the role lookups kept for a unit of work, and what empties them.
_KEY = "people"
_PEOPLE = (Person, Acting)


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


def _kept(session: AsyncSession) -> dict[tuple[object, ...], Any] | None:
    """The role lookups of this unit of work (a step's entry asks for the same roles several
    times), or ``None`` while people or acting officials are changed in it and not yet
    written. A write of either empties it (a flush listener, added with it)."""
    sync = session.sync_session
    if _people_change(sync):
        session.info.pop(_KEY, None)
        return None
    kept = session.info.get(_KEY)
    if kept is None:
        kept = session.info[_KEY] = {}
        event.listen(sync, "before_flush", _forget_on_write)
    return kept


def _people_change(sync: Session) -> bool:
    """People or acting officials are added, changed or deleted and not yet written."""
    return any(isinstance(o, _PEOPLE) for o in (*sync.new, *sync.dirty, *sync.deleted))


def _forget_on_write(sync: Session, *_: object) -> None:
    if _people_change(sync):
        sync.info.pop(_KEY, None)


async def holders(session: AsyncSession, office_id: int, role: str) -> list[Person]:
    """Active people of the office with this role, in id order (no acting officials)."""
    kept = _kept(session)
    key = ("holders", office_id, str(role))
    if kept is not None and key in kept:
        return list(kept[key])
    found = list(
        await session.scalars(_holders_query(), {"office_id": office_id, "role": str(role)})
    )
    if kept is not None:
        kept[key] = found
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
    kept = _kept(session)
    key = ("acting", office_id, str(role), on)
    if kept is not None and key in kept:
        return list(kept[key])
    rows = await session.execute(
        _acting_query(), {"office_id": office_id, "role": str(role), "on": on}
    )
    found = [(p, a) for p, a in rows.all()]
    if kept is not None:
        kept[key] = found
    return list(found)


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
