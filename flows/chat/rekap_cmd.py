"""/rekap: the Camat, the Sekcam or the planner asks for the rekap (xlsx) or the laporan (PDF).

``/rekap`` sends the rekap of the office's latest cycle; ``/rekap laporan`` the laporan PDF;
an optional period picks another one: ``/rekap TW II 2026``, ``/rekap laporan Semester I``,
``/rekap Tahun 2026`` (a semester or a year is rolled up from its quarter cycles).
"""

from __future__ import annotations

from sqlalchemy import select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import acting_for, local_date
from flows.core.router import Router
from flows.domain.periods import Period, parse_period
from flows.domain.roles import CHAIN
from flows.sop import documents
from storage.models import Cycle, Office, Person

ALLOWED_ROLES = CHAIN
_LAPORAN_WORDS = ("laporan", "pdf")
_REKAP_WORDS = ("rekap", "xlsx", "excel")


def register(router: Router) -> None:
    router.command("rekap", cmd_rekap)


async def may_ask(ctx: Ctx, person: Person, office: Office) -> bool:
    """Camat, Sekcam and planner, or whoever acts for one of them today (Plt / Plh)."""
    if person.role in ALLOWED_ROLES:
        return True
    today = local_date(office, ctx.now)
    for role in ALLOWED_ROLES:
        if any(p.id == person.id for p, _ in await acting_for(ctx.session, office.id, role, today)):
            return True
    return False


async def latest_cycle(ctx: Ctx, office_id: int) -> Cycle | None:
    """The office's newest cycle."""
    return await ctx.session.scalar(
        select(Cycle)
        .where(Cycle.office_id == office_id)
        .order_by(Cycle.created_at.desc(), Cycle.id.desc())
        .limit(1)
    )


async def cycle_for(ctx: Ctx, office_id: int, period: Period) -> Cycle | None:
    """The quarter's cycle, or for a semester / year its latest quarter cycle."""
    keys = [Period.quarter(period.year, q).key for q in reversed(period.quarters)]
    cycles = {
        c.period_key: c
        for c in await ctx.session.scalars(
            select(Cycle).where(Cycle.office_id == office_id, Cycle.period_key.in_(keys))
        )
    }
    return next((cycles[k] for k in keys if k in cycles), None)


async def cmd_rekap(ctx: Ctx) -> None:
    """Queue the document for the asker; the file follows when it is rendered."""
    person = ctx.person
    assert person is not None and ctx.inbound is not None
    office = await ctx.session.get(Office, person.office_id)
    assert office is not None
    if not await may_ask(ctx, person, office):
        ctx.reply(texts.render("rekap/bukan_wewenang"))
        return
    words = ctx.inbound.args.split()
    kind = "rekap"
    if words and words[0].lower() in _LAPORAN_WORDS:
        kind, words = "laporan", words[1:]
    elif words and words[0].lower() in _REKAP_WORDS:
        words = words[1:]
    latest = await latest_cycle(ctx, office.id)
    period_key = None
    if words:
        wanted = " ".join(words)
        default_year = Period.from_key(latest.period_key).year if latest else office.tahun
        period = parse_period(wanted, default_year)
        if period is None:
            ctx.reply(texts.render("rekap/periode_salah", teks=wanted))
            return
        cycle = await cycle_for(ctx, office.id, period)
        if cycle is None:
            ctx.reply(texts.render("rekap/tidak_ada_siklus", periode=period))
            return
        if period.kind != "TW":
            period_key = period.key
    else:
        cycle = latest
        if cycle is None:
            ctx.reply(texts.render("rekap/tidak_ada_siklus", periode=None))
            return
    await documents.request(ctx, cycle, kind, [person.id], period_key=period_key)
