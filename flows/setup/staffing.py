"""Staffing acts shared by the chat (/plt, /nonaktifkan, ...) and the server CLI.

Each act is one change plus one event naming its actor (None for the CLI) and channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.core import conversation, texts
from flows.domain.fmt import normalize_nip
from flows.domain.roles import ACTING, Role
from storage.models import (
    Acting,
    ButtonToken,
    Conversation,
    Event,
    Identity,
    InviteCode,
    Office,
    Person,
)

#: The ``kantor`` key of the office file that lets the planner administer from the chat.
PLANNER_ADMIN_KEY = "admin_perencana"
ACTING_KINDS = {"plt": "Plt", "plh": "Plh"}


class StaffError(Exception):
    """The act cannot be done; the text is Indonesian, for whoever asked."""


def may_administer(person: Person, office: Office) -> bool:
    """The ``admin`` role, or the planner where the office file says so."""
    if person.role == Role.ADMIN:
        return True
    return person.role == Role.PERENCANA and bool((office.settings or {}).get(PLANNER_ADMIN_KEY))


def _event(
    session: AsyncSession,
    office: Office,
    action: str,
    subject: str,
    *,
    now: datetime,
    actor_id: int | None,
    channel: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        Event(
            office_id=office.id,
            actor_id=actor_id,
            action=action,
            subject=subject,
            channel=channel,
            reason=reason,
            data=data or {},
            at=now,
        )
    )


def _matches(person: Person, text: str) -> bool:
    digits = normalize_nip(text)
    if digits and digits.isdigit() and digits == person.nip:
        return True
    return text.casefold() in person.nama.casefold()


async def find_person(
    session: AsyncSession, office: Office, words: list[str]
) -> tuple[Person, str]:
    """The one person named by the longest leading run of ``words`` (NIP or part of the name).

    Returns the person and the words left over (a reason). An inactive person counts too, so
    the caller can say so.
    """
    people = list(await session.scalars(select(Person).where(Person.office_id == office.id)))
    for n in range(len(words), 0, -1):
        text = " ".join(words[:n]).strip()
        if len(text) < 3:
            continue
        exact = [p for p in people if p.nama.casefold() == text.casefold()]
        found = exact or [p for p in people if _matches(p, text)]
        if len(found) == 1:
            return found[0], " ".join(words[n:]).strip()
        if len(found) > 1 and n == len(words):
            raise StaffError(texts.render("kelola/orang_ganda", teks=text, orang=found[:5]))
    raise StaffError(texts.render("kelola/orang_tidak_ada", teks=" ".join(words)[:60]))


def acting_data(acting: Acting, person: Person) -> dict[str, Any]:
    return {
        "id": acting.id,
        "person_id": person.id,
        "nip": person.nip,
        "peran": acting.role,
        "jenis": acting.kind,
        "mulai": acting.starts.isoformat(),
        "sampai": acting.ends.isoformat(),
    }


def acting_problems(
    person: Person | None, role: str, kind: str, starts: date | None, ends: date | None
) -> list[str]:
    """Every reason the appointment cannot be made, in Indonesian (empty: it can)."""
    problems: list[str] = []
    if person is not None and not person.active:
        problems.append(texts.render("admin/pegawai_nonaktif", orang=person))
    if role not in ACTING:
        problems.append(texts.render("admin/peran_salah", peran=role, pilihan=list(ACTING)))
    if kind not in ACTING_KINDS.values():
        problems.append(texts.render("admin/jenis_salah", jenis=kind))
    if starts and ends and starts > ends:
        problems.append(texts.render("admin/rentang_salah", mulai=starts, sampai=ends))
    return problems


async def appoint_acting(
    session: AsyncSession,
    office: Office,
    person: Person,
    *,
    role: str,
    kind: str,
    starts: date,
    ends: date,
    reason: str,
    now: datetime,
    actor_id: int | None,
    channel: str,
) -> Acting:
    """Set ``person`` as Plt / Plh of ``role`` from ``starts`` to ``ends`` (inclusive)."""
    acting = Acting(
        office_id=office.id,
        person_id=person.id,
        role=role,
        kind=kind,
        starts=starts,
        ends=ends,
        reason=reason,
        created_at=now,
    )
    session.add(acting)
    await session.flush()
    _event(
        session,
        office,
        "plt.tetapkan",
        f"acting:{acting.id}",
        now=now,
        actor_id=actor_id,
        channel=channel,
        reason=reason,
        data=acting_data(acting, person),
    )
    return acting


async def end_acting(
    session: AsyncSession,
    office: Office,
    acting_id: int,
    *,
    today: date,
    reason: str,
    now: datetime,
    actor_id: int | None,
    channel: str,
) -> tuple[Acting, Person]:
    """End a Plt / Plh today: it last held yesterday (one not yet begun is cancelled)."""
    acting = await session.get(Acting, acting_id)
    if acting is None or acting.office_id != office.id or acting.ends < today:
        raise StaffError(texts.render("kelola/plt_tidak_ada", id=acting_id))
    person = await session.get(Person, acting.person_id)
    assert person is not None
    data = acting_data(acting, person)
    if acting.starts >= today:
        await session.delete(acting)
        data["dibatalkan"] = True
    else:
        acting.ends = today - timedelta(days=1)
        data["sampai"] = acting.ends.isoformat()
    _event(
        session,
        office,
        "plt.akhiri",
        f"acting:{acting_id}",
        now=now,
        actor_id=actor_id,
        channel=channel,
        reason=reason,
        data=data,
    )
    return acting, person


async def deactivate(
    session: AsyncSession,
    office: Office,
    person: Person,
    *,
    reason: str,
    now: datetime,
    actor_id: int | None,
    channel: str,
) -> None:
    """A person who has moved: inactive, unused invites and open buttons and questions gone."""
    if not person.active:
        raise StaffError(texts.render("admin/pegawai_nonaktif", orang=person))
    person.active = False
    await session.execute(
        delete(InviteCode).where(InviteCode.person_id == person.id, InviteCode.used_at.is_(None))
    )
    await session.execute(delete(ButtonToken).where(ButtonToken.person_id == person.id))
    await session.execute(delete(Conversation).where(Conversation.person_id == person.id))
    conversation.known(session).pop(person.id, None)
    _event(
        session,
        office,
        "orang.nonaktif",
        f"person:{person.id}",
        now=now,
        actor_id=actor_id,
        channel=channel,
        reason=reason,
        data={"nip": person.nip, "nama": person.nama},
    )


@dataclass(frozen=True)
class Unregistered:
    person: Person
    has_code: bool


async def unregistered(session: AsyncSession, office: Office) -> list[Unregistered]:
    """Active people of the office with no chat account yet, and whether a code waits."""
    people = await session.scalars(
        select(Person)
        .where(Person.office_id == office.id, Person.active.is_(True))
        .where(~select(Identity.id).where(Identity.person_id == Person.id).exists())
        .order_by(Person.nama)
    )
    out = []
    for p in people:
        code = await session.scalar(
            select(InviteCode.code).where(
                InviteCode.person_id == p.id, InviteCode.used_at.is_(None)
            )
        )
        out.append(Unregistered(p, code is not None))
    return out
