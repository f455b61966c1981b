"""/riwayat KODE: every value stored for one indicator in its newest cycle, old → new."""

from __future__ import annotations

from sqlalchemy import func, select

from flows.core import texts
from flows.core.context import Ctx
from flows.core.people import acting_for, local_date
from flows.core.router import Router
from flows.domain.periods import Period
from flows.domain.roles import Role
from flows.sop import value_history
from storage.models import Cycle, Entry, Indicator, Office, Worksheet

#: Roles that read the history of every indicator of their office (also as Plt / Plh).
READERS: tuple[str, ...] = (Role.PERENCANA, Role.SEKCAM, Role.CAMAT)
#: The newest changes shown in the chat (the rekap's Riwayat Nilai sheet holds them all).
SHOWN = 30


def register(router: Router) -> None:
    router.command("riwayat", cmd_history)


async def _may_read(ctx: Ctx, office: Office, ind: Indicator) -> bool:
    """The Kasi of the indicator's section, the planner, the Sekcam, the Camat, or a Plt/Plh."""
    person = ctx.person
    assert person is not None
    if person.role in READERS or person.section_id == ind.section_id:
        return True
    owns = await ctx.session.scalar(
        select(Entry.id)
        .join(Worksheet, Worksheet.id == Entry.worksheet_id)
        .where(Entry.indicator_id == ind.id, Worksheet.person_id == person.id)
        .limit(1)
    )
    if owns is not None:
        return True
    today = local_date(office, ctx.now)
    for role in READERS:
        if any(p.id == person.id for p, _ in await acting_for(ctx.session, office.id, role, today)):
            return True
    return False


async def cmd_history(ctx: Ctx) -> None:
    """The history of one indicator's values: who changed what, when, why, on which channel."""
    assert ctx.person is not None and ctx.inbound is not None
    kode = ctx.inbound.args.strip()
    if not kode:
        ctx.reply(texts.render("riwayat/cara"))
        return
    office = await ctx.session.get(Office, ctx.person.office_id)
    assert office is not None
    ind = await ctx.session.scalar(
        select(Indicator).where(
            Indicator.office_id == office.id, func.upper(Indicator.kode) == kode.upper()
        )
    )
    if ind is None:
        ctx.reply(texts.render("riwayat/kode_tidak_dikenal", kode=kode[:40]))
        return
    if not await _may_read(ctx, office, ind):
        ctx.reply(texts.render("riwayat/bukan_wewenang", kode=ind.kode))
        return
    cycle = await ctx.session.scalar(
        select(Cycle)
        .join(Worksheet, Worksheet.cycle_id == Cycle.id)
        .join(Entry, Entry.worksheet_id == Worksheet.id)
        .where(Entry.indicator_id == ind.id)
        .order_by(Cycle.created_at.desc(), Cycle.id.desc())
        .limit(1)
    )
    rows = await value_history.changes(ctx.session, [cycle.id], ind.id) if cycle else []
    if cycle is None or not rows:
        ctx.reply(texts.render("riwayat/kosong", ind=ind))
        return
    shown = rows[-SHOWN:]
    ctx.reply(
        texts.render(
            "riwayat/daftar",
            ind=ind,
            periode=Period.from_key(cycle.period_key),
            rows=[
                {
                    "kolom": value_history.field_label(r.field),
                    "lama": value_history.shown(r.field, r.old),
                    "baru": value_history.shown(r.field, r.new),
                    "oleh": r.by,
                    "waktu": r.at,
                    "alasan": r.reason,
                    "kanal": value_history.channel_label(r.channel),
                }
                for r in shown
            ],
            tz=office.tz,
            lebih=len(rows) - len(shown),
        )
    )
