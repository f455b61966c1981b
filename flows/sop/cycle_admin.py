"""Opening a collection cycle and handing out the worksheets (also an admin tool)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from flows.core import texts
from flows.core.context import Ctx
from flows.domain.periods import Period
from flows.domain.roles import SHEET_OWNERS
from flows.sop.preset import load_preset, preset_snapshot
from storage.models import Cycle, Entry, Indicator, Office, Person, Section, Worksheet

SHEET_OWNER_ROLES = SHEET_OWNERS


class CycleError(Exception):
    """A cycle cannot be opened; the message is for the admin, in Indonesian."""


@dataclass(frozen=True)
class Handout:
    person: Person
    section: Section
    indicators: int


async def sheet_owners(ctx: Ctx, office_id: int) -> list[tuple[Section, Person, list[Indicator]]]:
    """Each section with active indicators, the person who answers for it, and its indicators."""
    sections = list(
        await ctx.session.scalars(
            select(Section).where(Section.office_id == office_id).order_by(Section.id)
        )
    )
    out = []
    for section in sections:
        indicators = list(
            await ctx.session.scalars(
                select(Indicator)
                .where(Indicator.section_id == section.id, Indicator.active.is_(True))
                .order_by(Indicator.position, Indicator.id)
            )
        )
        if not indicators:
            continue
        people = list(
            await ctx.session.scalars(
                select(Person).where(
                    Person.section_id == section.id,
                    Person.active.is_(True),
                    Person.role.in_(SHEET_OWNER_ROLES),
                )
            )
        )
        people.sort(key=lambda p: SHEET_OWNER_ROLES.index(p.role))
        if not people:
            raise CycleError(texts.render("siklus/seksi_tanpa_penanggung_jawab", seksi=section))
        out.append((section, people[0], indicators))
    return out


async def open_cycle(ctx: Ctx, office: Office, period: Period, step: str, note: str = "") -> Cycle:
    """Create the cycle (one per office and period) with a snapshot of the office's preset.

    The cycle runs by its snapshot to the end, so editing the preset file changes only the
    cycles opened after the edit.
    """
    exists = await ctx.session.scalar(
        select(Cycle).where(Cycle.office_id == office.id, Cycle.period_key == period.key)
    )
    if exists is not None:
        raise CycleError(texts.render("siklus/sudah_ada", periode=period))
    cycle = Cycle(
        office_id=office.id,
        period_key=period.key,
        preset=office.preset,
        preset_snapshot=preset_snapshot(load_preset(office.preset)),
        step=step,  # its first step; every later move goes through flows.sop.lifecycle
        note=note,
        started_by=ctx.person.id if ctx.person else None,
        created_at=ctx.now,
    )
    ctx.session.add(cycle)
    await ctx.session.flush()
    ctx.log("siklus.buka", office_id=office.id, cycle_id=cycle.id, subject=period.key, reason=note)
    return cycle


async def hand_out(ctx: Ctx, cycle: Cycle, deadline: datetime | None = None) -> list[Handout]:
    """One worksheet per section owner, one entry per active indicator; each owner is told."""
    office = await ctx.session.get(Office, cycle.office_id)
    assert office is not None
    period = Period.from_key(cycle.period_key)
    handouts = []
    for section, person, indicators in await sheet_owners(ctx, cycle.office_id):
        ws = Worksheet(cycle_id=cycle.id, person_id=person.id, section_id=section.id)
        ctx.session.add(ws)
        await ctx.session.flush()
        for ind in indicators:
            ctx.session.add(Entry(worksheet_id=ws.id, indicator_id=ind.id))
        start = await ctx.button(texts.label("isi_sekarang"), "isi.mulai", {}, person_id=person.id)
        q = period.last_quarter
        asked = sum(1 for ind in indicators if ind.target_sd(q) is not None)  # measured now
        ctx.send(
            person.id,
            texts.render(
                "siklus/lembar_dibagikan",
                orang=person,
                periode=period,
                jumlah=asked,
                catatan=cycle.note,
                metode=cycle.data.get("metode", ""),
                batas=deadline,
                tz=office.tz,
            ),
            [[start]],
        )
        handouts.append(Handout(person, section, asked))
    ctx.log(
        "siklus.bagikan",
        office_id=cycle.office_id,
        cycle_id=cycle.id,
        data={"lembar": len(handouts)},
    )
    return handouts
